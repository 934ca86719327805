import path from 'node:path';
import type { Position } from '../../diagnostics/diagnostic.ts';
import type { DiagnosticParams } from '../../diagnostics/registry.ts';
import { didYouMean, listNames } from '../../diagnostics/hints.ts';
import { MODULE_FILE_CAP, WorkspaceFiles, describeReadFailure } from '../../load/files.ts';
import { LineIndex } from '../../load/text.ts';
import { clip } from '../../schema/common.ts';
import { type RegistryEntry } from '../../schema/registry.ts';
import { loadErrorPosition, modulePin, pinnedFileDigest, type PinnedFile } from '../../load/modules.ts';
import { type ModuleReport } from '../../load/sandbox.ts';
import type { Context, Located, ModuleLoad, ModuleRead } from '../load/integration-set.ts';
import { REGISTRY_FILE } from '../load/integration-set.ts';

/** One registered module: its file read safely, then what the sandbox found when importing it. */
/** The module file, read and hashed; undefined (reported) when its path is unsafe or it cannot be read. */
export function readModule(ctx: Context, entry: RegistryEntry, locate: Located['locate']): ModuleRead | undefined {
  const file = `integrations/${entry.module}`;
  const at = locate('module');
  if (!WorkspaceFiles.isContained(entry.module) || !WorkspaceFiles.isContained(file)) {
    ctx.diagnostics.add('unsafe-path', { file: REGISTRY_FILE, at }, { variant: 'module-path', module: clip(entry.module) });
    return undefined;
  }
  const read = ctx.files.read(file, MODULE_FILE_CAP);
  if (!read.ok) {
    if (read.kind === 'encoding') {
      ctx.diagnostics.add('file-encoding', { file, at: read.at }, { variant: 'decode', detail: read.message, hint: read.hint });
      return undefined;
    }
    const failure = { module: entry.module, provider: entry.provider, failure: describeReadFailure(read) };
    if (read.kind === 'unsafe') ctx.diagnostics.add('unsafe-path', { file: REGISTRY_FILE, at }, { variant: 'module', ...failure });
    else ctx.diagnostics.add('integration-module-missing', { file: REGISTRY_FILE, at }, { variant: 'unreadable', ...failure, file });
    return undefined;
  }
  return { file, source: read.text, lines: new LineIndex(read.text), sha256: read.sha256 };
}

/** Turns what the sandbox found into diagnostics, or the module's method list. */
export function interpretReport(ctx: Context, entry: RegistryEntry, locate: Located['locate'], read: ModuleRead, report: ModuleReport): ModuleLoad | undefined {
  const exportName = entry.export ?? 'default';
  const exportMissing = (params: DiagnosticParams<'integration-export-missing'>) => {
    ctx.diagnostics.add('integration-export-missing', { file: REGISTRY_FILE, at: locate('export') ?? locate('module') }, params);
    return undefined;
  };
  if (report.ok) {
    const inputs = pinInputs(ctx, read, report.inputs ?? []);
    return inputs && { ...read, specs: report.specs, handlers: report.handlers, inputs, pin: modulePin({ file: read.file, sha256: read.sha256 }, inputs) };
  }
  switch (report.failure) {
    case 'skipped':
      return undefined;
    case 'load':
      const elsewhere = report.at ? undefined : placeInOtherFile(ctx, report.message);
      ctx.diagnostics.add(
        'integration-module-missing',
        // A syntax error keeps the transform's own line and column.
        { file: read.file, at: report.at ?? loadErrorPosition(new Error(report.message)) ?? { line: 1, column: 1 }, related: elsewhere?.related },
        { variant: 'load', provider: entry.provider, detail: elsewhere?.detail ?? report.message, botcMissing: /(Cannot find (module|package)|Could not resolve) ["']botc\//.test(report.message) },
      );
      return undefined;
    case 'no-export':
      return exportMissing({ variant: 'no-export', module: entry.module, name: exportName, suggestion: didYouMean(exportName, report.available) ?? `exported classes: ${listNames(report.available)}` });
    case 'construct':
      return exportMissing({ variant: 'construct', name: exportName, provider: entry.provider, detail: report.message });
    case 'not-integration':
      return exportMissing({ variant: 'not-integration', name: exportName, provider: entry.provider, missing: report.missing });
    case 'describe':
      return exportMissing({ variant: 'describe', provider: entry.provider, detail: report.message });
    case 'not-array':
      return exportMissing({ variant: 'not-array', provider: entry.provider });
  }
}

/**
 * The local files a module imports (absolute paths from the bundler), each hashed for the
 * module's pin; undefined, with one `unsafe-path` diagnostic at the module, when one cannot be
 * pinned (a link, not a regular file, over 4 MiB): the runtime could not check it either.
 */
function pinInputs(ctx: Context, read: ModuleRead, absolute: readonly string[]): PinnedFile[] | undefined {
  const inputs: PinnedFile[] = [];
  for (const input of absolute) {
    const file = path.relative(ctx.files.root, input).split(path.sep).join('/');
    const sha256 = pinnedFileDigest(ctx.files.root, file);
    if (sha256 === undefined) {
      ctx.diagnostics.add('unsafe-path', { file: read.file, at: { line: 1, column: 1 } }, { variant: 'module-import', file: clip(file) });
      return undefined;
    }
    inputs.push({ file, sha256 });
  }
  return inputs.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/**
 * A load error the bundler places in another file than the module (`helpers/x.ts:3:7: ...`):
 * that place becomes the diagnostic's related location, and the message keeps the error alone.
 */
export function placeInOtherFile(ctx: Context, message: string): { detail: string; related: { file: string; at: Position } } | undefined {
  const match = /^([^\n]+?):(\d+):(\d+): ([\s\S]*)$/.exec(message);
  if (!match) return undefined;
  const relative = path.relative(ctx.files.root, path.resolve(ctx.files.root, match[1]!));
  const file = relative.startsWith('..') || path.isAbsolute(relative) ? match[1]! : relative.split(path.sep).join('/');
  return { detail: match[4]!, related: { file, at: { line: Number(match[2]), column: Number(match[3]) } } };
}
