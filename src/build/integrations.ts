import path from 'node:path';
import { DESCRIPTION_LIMIT, descriptionLength } from './description-length.ts';
import type { Diagnostics, Position } from '../diagnostics/diagnostic.ts';
import { didYouMean, listNames } from '../diagnostics/hints.ts';
import {
  ALLOWED_CAPABILITIES, MINIMUM_TIER, PERMISSION_FOR, PERMISSION_TYPES, idempotencyProblem, type PermissionType,
} from '../governance/policy.ts';
import { ADVANCED_MODES, type MethodSpec } from '../integration/types.ts';
import { MODULE_FILE_CAP, WorkspaceFiles, describeReadFailure, encodingDiagnostic } from '../load/files.ts';
import { parseJson } from '../load/json.ts';
import { methodIdProblem, providerOf } from '../load/names.ts';
import { LineIndex } from '../load/text.ts';
import { findInvisible, type InvisibleCharacter } from '../load/unicode.ts';
import { clip, reportIssues } from '../schema/common.ts';
import { methodSpecSchema } from '../schema/method-spec.ts';
import { registrySchema, type RegistryEntry } from '../schema/registry.ts';
import type { Entry } from './discover.ts';
import { SchemaChecker } from './schema-checker.ts';
import { SCHEMA_INVALID_HINT, SCHEMA_LINT_HINT, schemaKeywordOffset } from './integrations-schema.ts';
import { loadErrorPosition, modulePin, pinnedFileDigest, type PinnedFile } from '../load/modules.ts';
import { checkRenamedProvider } from './provider-rename.ts';
import { placeSchemaProblem } from './schema-location.ts';
import { type ModuleReport } from '../load/sandbox.ts';
import type { BuildCache } from './cache.ts';
import { inspectWithCache } from './module-cache.ts';
import { checkInboundDeclarations, checkStreamMethods } from './inbound.ts';

export const REGISTRY_FILE = 'integrations/manifest.json';

export interface LoadedIntegration {
  entry: RegistryEntry;
  /** Workspace-relative module path. */
  moduleFile: string;
  /** The module's pin: its sha256, or that of it and the local files it imports (`modulePin`). */
  sha256: string;
  /** sha256 of the module file alone. */
  moduleSha256: string;
  /** The workspace files the module imports, transitively, with their sha256 (sorted by path). */
  inputs: PinnedFile[];
  methods: MethodSpec[];
}

export interface IntegrationSet {
  registrySha256: string | undefined;
  providers: Map<string, LoadedIntegration>;
  methods: Map<string, MethodSpec>;
  /**
   * Providers whose methods cannot be known (registry or module broken). A tool that
   * names one of their methods is not also reported as `unknown-method`.
   */
  unknowable: { all: boolean; providers: Set<string>; methods: Set<string> };
  /** Where each declared method's id is written in its module, for diagnostics about it. */
  declared: Map<string, { file: string; at: Position }>;
}

interface Context {
  files: WorkspaceFiles;
  diagnostics: Diagnostics;
}

/** Stage 1 up to the method checks: the registry and its modules, imported; schema checks under way. */
export interface PendingIntegrations {
  ctx: Context;
  set: IntegrationSet;
  modules: { entry: RegistryEntry; permissions: Set<PermissionType> | undefined; loaded: ModuleLoad; locate?: Located['locate'] }[];
  schemas: SchemaChecker;
}

/**
 * Stage 1, first half: the integration registry and its modules. Every method schema goes to
 * the schema checker now, which compiles them off the main thread while the caller loads the
 * bots; `resolveIntegrations` then checks each MethodSpec with the answers.
 */
export async function loadIntegrations(files: WorkspaceFiles, diagnostics: Diagnostics, children: Entry[], cache?: BuildCache): Promise<PendingIntegrations> {
  const set: IntegrationSet = {
    registrySha256: undefined,
    providers: new Map(),
    methods: new Map(),
    unknowable: { all: false, providers: new Set(), methods: new Set() },
    declared: new Map(),
  };
  const ctx: Context = { files, diagnostics };
  const pending: PendingIntegrations = { ctx, set, modules: [], schemas: new SchemaChecker(cache) };
  // A throw from here on must not leave the schema worker running (it would keep the process alive).
  try {
    const entries = readRegistry(ctx, set, children);
    if (!entries) {
      set.unknowable.all = true;
      return pending;
    }
    if (entries.length > 0) pending.schemas.prestart();
    checkUnregisteredFolders(ctx, entries.map((e) => e.entry), children);
    const prepared = entries.map(({ entry, locate }) => {
      checkModes(ctx, entry, locate);
      checkInboundDeclarations(ctx.diagnostics, REGISTRY_FILE, entry, locate, cache);
      const permissions = checkPermissions(ctx, entry, locate);
      return { entry, locate, permissions, read: readModule(ctx, entry, locate) };
    });
    // Every module's top-level code runs in one sandboxed child process (docs/security.md).
    const readable = prepared.filter((p) => p.read !== undefined);
    const requests = readable.map(({ entry, read }) => ({ file: files.absolute(read!.file), source: read!.source, exportName: entry.export ?? 'default', provider: entry.provider }));
    const reports = await inspectWithCache(files.root, requests, readable.map((p) => p.read!.sha256), cache);
    const byEntry = new Map(readable.map((p, i) => [p, reports[i]!]));
    for (const item of prepared) {
      const report = byEntry.get(item);
      const loaded = item.read && report ? interpretReport(ctx, item.entry, item.locate, item.read, report) : undefined;
      if (!loaded) {
        set.unknowable.providers.add(item.entry.provider);
        continue;
      }
      const renamed = checkRenamedProvider(diagnostics, REGISTRY_FILE, item.entry, item.locate('provider'), loaded.specs);
      if (renamed !== undefined) {
        set.unknowable.providers.add(item.entry.provider).add(renamed);
        continue;
      }
      pending.schemas.submit(loaded.specs.flatMap((raw) => (raw !== null && typeof raw === 'object' ? [(raw as Record<string, unknown>)['input_schema'], (raw as Record<string, unknown>)['output_schema']] : [])));
      pending.modules.push({ entry: item.entry, permissions: item.permissions, loaded, locate: item.locate });
    }
  } catch (error) {
    pending.schemas.close();
    throw error;
  }
  return pending;
}

/** Stage 1, second half: every MethodSpec the modules declare, checked; duplicates and replacements. */
export async function resolveIntegrations({ ctx, set, modules, schemas }: PendingIntegrations): Promise<IntegrationSet> {
  await schemas.settle();
  const declared = new Map<string, { provider: string; file: string; at: Position }>();
  for (const { entry, permissions, loaded } of modules) {
    const occurrences = new Map<string, number>();
    const methods = loaded.specs.flatMap((raw, index) => {
      const rawId = (raw as { method_id?: unknown } | null)?.method_id;
      const occurrence = typeof rawId === 'string' ? (occurrences.get(rawId) ?? 0) : 0;
      if (typeof rawId === 'string') occurrences.set(rawId, occurrence + 1);
      const spec = checkMethod(ctx, entry, loaded, raw, index, schemas, permissions);
      if (!spec) {
        // Known to exist, but broken: tools naming it are not also `unknown-method`.
        if (typeof rawId === 'string') set.unknowable.methods.add(rawId);
        return [];
      }
      // A duplicate points at its own declaration, the second occurrence of the id.
      const at = methodPosition(loaded, spec.method_id, occurrence);
      const previous = declared.get(spec.method_id);
      if (previous) {
        ctx.diagnostics.report('method-duplicate', {
          file: loaded.file,
          at,
          message: `method \`${spec.method_id}\` is declared twice (also in ${previous.file}:${previous.at.line})`,
          hint: 'give each method its own id; a changed method gets a new version (`.v2`)',
        });
        return [];
      }
      declared.set(spec.method_id, { provider: entry.provider, file: loaded.file, at });
      const length = descriptionLength(spec.description);
      if (length > DESCRIPTION_LIMIT) {
        ctx.diagnostics.report('description-too-long', {
          file: loaded.file,
          at,
          message: `the description of method \`${spec.method_id}\` is ${length} characters long; OpenAI-compatible APIs refuse a function description over ${DESCRIPTION_LIMIT}, so \`methods\`-style exports of it would fail there`,
          hint: `shorten it to ${DESCRIPTION_LIMIT} characters or fewer; how to use the method belongs in the tool prompt (prompts/tool_<tool>.md) of the bots that install it`,
        });
      }
      set.declared.set(spec.method_id, { file: loaded.file, at });
      return [spec];
    });
    checkHandlers(ctx, loaded, methods, occurrences);
    set.providers.set(entry.provider, { entry, moduleFile: loaded.file, sha256: loaded.pin, moduleSha256: loaded.sha256, inputs: loaded.inputs, methods });
    for (const spec of methods) set.methods.set(spec.method_id, spec);
  }
  checkReplacements(ctx, set, declared);
  checkStreamMethods(ctx.diagnostics, REGISTRY_FILE, set, modules.map((m) => m.entry), (provider) => modules.find((m) => m.entry.provider === provider)?.locate);
  schemas.store();
  return set;
}

type Located = { entry: RegistryEntry; locate: (key?: string, ...path: (string | number)[]) => Position };

function readRegistry(ctx: Context, set: IntegrationSet, children: Entry[]): Located[] | undefined {
  const read = ctx.files.read(REGISTRY_FILE);
  if (!read.ok) {
    if (read.kind === 'missing') {
      if (children.length === 0) return [];
      ctx.diagnostics.report('integration-registry-invalid', {
        file: REGISTRY_FILE,
        message: 'integrations/ has provider folders but no manifest.json registry',
        hint: 'create integrations/manifest.json with an `integrations` list naming each provider',
      });
    } else if (read.kind === 'encoding') {
      ctx.diagnostics.report('file-encoding', encodingDiagnostic(REGISTRY_FILE, read)!);
    } else {
      ctx.diagnostics.report(read.kind === 'unsafe' ? 'unsafe-path' : 'integration-registry-invalid', {
        file: REGISTRY_FILE,
        message: `the integration registry cannot be read: ${describeReadFailure(read)}`,
        hint: read.kind === 'unsafe' ? 'replace the link with a regular file inside the workspace' : 'keep the registry under 1 MiB of plain JSON',
      });
    }
    return undefined;
  }
  set.registrySha256 = read.sha256;
  const parsed = parseJson(read.text);
  if (!parsed.ok) {
    ctx.diagnostics.report('json-syntax', { file: REGISTRY_FILE, message: parsed.message, at: parsed.at, hint: 'fix the JSON syntax' });
    return undefined;
  }
  const { document } = parsed;
  const result = registrySchema.safeParse(document.value);
  if (!result.success) {
    reportIssues(ctx.diagnostics, 'integration-registry-invalid', REGISTRY_FILE, result.error.issues, document.locate, registryHint, { value: document.value, raw: document.raw });
    return undefined;
  }
  const seen = new Map<string, number>();
  let ok = true;
  const located = result.data.integrations.map((entry, index): Located => ({
    entry,
    locate: (key, ...rest) => document.locate(['integrations', index, ...rest], key),
  }));
  for (const [index, { entry, locate }] of located.entries()) {
    const first = seen.get(entry.provider);
    if (first !== undefined) {
      ok = false;
      ctx.diagnostics.report('integration-registry-invalid', {
        file: REGISTRY_FILE,
        at: locate('provider'),
        message: `provider \`${entry.provider}\` is registered twice (entries ${first} and ${index})`,
        hint: 'keep one entry per provider',
      });
    }
    seen.set(entry.provider, index);
  }
  return ok ? located : undefined;
}

function registryHint(issue: { path: PropertyKey[] }): string | undefined {
  const last = issue.path.at(-1);
  if (last === 'classification') return 'use `read_only`, `inbound` or `outbound` (docs/governance.md, integration classes)';
  if (last === 'lifecycle') return 'use `active`, `maintenance`, `deprecated` or `end_of_support`';
  if (issue.path.includes('modes')) return 'modes are request_response, webhook, polling_sync, oauth, internal_events, streaming, queue, bidirectional_sync';
  return undefined;
}

function checkUnregisteredFolders(ctx: Context, entries: RegistryEntry[], children: Entry[]): void {
  const named = new Set(entries.map((e) => e.module.split('/')[0]));
  for (const child of children) {
    const name = path.posix.basename(child.path);
    if (name.startsWith('.') || name === 'node_modules' || child.kind === 'file') continue;
    if (named.has(name)) continue;
    ctx.diagnostics.report('integration-unregistered', {
      file: child.path,
      message: `folder \`${name}\` under integrations/ is not named by any registry entry`,
      hint: `register it in ${REGISTRY_FILE} (\`"module": "${name}/index.ts"\`) or remove the folder`,
    });
  }
}

function checkModes(ctx: Context, entry: RegistryEntry, locate: Located['locate']): void {
  const advanced = entry.modes.filter((m) => (ADVANCED_MODES as readonly string[]).includes(m));
  if (advanced.length === 0 || entry.architecture_approval) return;
  ctx.diagnostics.report('mode-not-approved', {
    file: REGISTRY_FILE,
    at: locate('modes'),
    message: `provider \`${entry.provider}\` uses ${listNames(advanced)} without an architecture approval`,
    hint: 'streaming, queue and bidirectional_sync need `"architecture_approval": {"ref": "...", "approved_by": "..."}` after a design review (docs/governance.md, modes and tool composition)',
  });
}

/**
 * Returns the declared permission types of a partner integration, or undefined when methods
 * are not checked against them: first-party integrations, and partners whose list holds a
 * wildcard or unknown type (already `permission-invalid`; `permission-missing` would repeat it).
 */
function checkPermissions(ctx: Context, entry: RegistryEntry, locate: Located['locate']): Set<PermissionType> | undefined {
  if (entry.tier === undefined && entry.permissions === undefined) return undefined;
  const declared = new Set<PermissionType>();
  let unreadable = false;
  const report = (message: string, hint: string, at: Position) =>
    ctx.diagnostics.report('permission-invalid', { file: REGISTRY_FILE, at, message, hint });
  if (entry.tier === undefined) {
    report(`provider \`${entry.provider}\` declares permissions but no partner tier`, 'add `"tier": 1`, `2` or `3` (docs/governance.md, partner tiers)', locate('permissions'));
  }
  for (const [index, permission] of (entry.permissions ?? []).entries()) {
    const at = locate('type', 'permissions', index);
    if (/[*?]/.test(permission.type)) {
      report(`wildcard permission \`${clip(permission.type)}\` is not allowed`, `declare each type explicitly: ${listNames(PERMISSION_TYPES)}`, at);
      unreadable = true;
      continue;
    }
    if (!(PERMISSION_TYPES as readonly string[]).includes(permission.type)) {
      report(`\`${clip(permission.type)}\` is not a permission type`, `partner-defined permissions are forbidden; use ${listNames(PERMISSION_TYPES)}`, at);
      unreadable = true;
      continue;
    }
    const type = permission.type as PermissionType;
    if (!permission.justification || permission.justification.trim().length === 0) {
      report(`permission \`${type}\` has no justification`, 'add `"justification"`: why the integration needs it (docs/governance.md, partner tiers)', locate(undefined, 'permissions', index));
    }
    if (declared.has(type)) report(`permission \`${type}\` is declared twice`, 'keep one entry per permission type', at);
    if (entry.tier !== undefined && entry.tier < MINIMUM_TIER[type]) {
      report(
        `tier ${entry.tier} may not hold \`${type}\` permissions`,
        `\`${type}\` needs tier ${MINIMUM_TIER[type]} or higher; raise the tier or drop the permission`,
        at,
      );
    }
    declared.add(type);
  }
  return unreadable ? undefined : declared;
}

interface ModuleLoad {
  file: string;
  source: string;
  /** Line index of `source`, built on first use and shared by all its methods. */
  lines: LineIndex;
  sha256: string;
  specs: unknown[];
  /** The keys of the integration's handlers(), when it has one (the base class); else null. */
  handlers: string[] | null;
  /** The workspace files the module imports, transitively, each with its sha256. */
  inputs: PinnedFile[];
  /** The module's pin, over it and `inputs` (`modulePin`). */
  pin: string;
}

type ModuleRead = Omit<ModuleLoad, 'specs' | 'handlers' | 'inputs' | 'pin'>;

/** The module file, read and hashed; undefined (reported) when its path is unsafe or it cannot be read. */
function readModule(ctx: Context, entry: RegistryEntry, locate: Located['locate']): ModuleRead | undefined {
  const file = `integrations/${entry.module}`;
  const at = locate('module');
  if (!WorkspaceFiles.isContained(entry.module) || !WorkspaceFiles.isContained(file)) {
    ctx.diagnostics.report('unsafe-path', {
      file: REGISTRY_FILE,
      at,
      message: `module path \`${clip(entry.module)}\` leaves integrations/`,
      hint: 'use a relative path inside integrations/, such as `github/index.ts`',
    });
    return undefined;
  }
  const read = ctx.files.read(file, MODULE_FILE_CAP);
  if (!read.ok) {
    if (read.kind === 'encoding') {
      ctx.diagnostics.report('file-encoding', encodingDiagnostic(file, read)!);
      return undefined;
    }
    const unsafe = read.kind === 'unsafe';
    ctx.diagnostics.report(unsafe ? 'unsafe-path' : 'integration-module-missing', {
      file: REGISTRY_FILE,
      at,
      message: `module \`${entry.module}\` of provider \`${entry.provider}\` cannot be read: ${describeReadFailure(read)}`,
      hint: unsafe ? 'replace the link with a regular file inside the workspace' : `create ${file} or fix the \`module\` path`,
    });
    return undefined;
  }
  return { file, source: read.text, lines: new LineIndex(read.text), sha256: read.sha256 };
}

/** Turns what the sandbox found into diagnostics, or the module's method list. */
function interpretReport(ctx: Context, entry: RegistryEntry, locate: Located['locate'], read: ModuleRead, report: ModuleReport): ModuleLoad | undefined {
  const exportName = entry.export ?? 'default';
  const exportMissing = (message: string, hint: string) => {
    ctx.diagnostics.report('integration-export-missing', { file: REGISTRY_FILE, at: locate('export') ?? locate('module'), message, hint });
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
      ctx.diagnostics.report('integration-module-missing', {
        file: read.file,
        // A syntax error keeps the transform's own line and column.
        at: report.at ?? loadErrorPosition(new Error(report.message)) ?? { line: 1, column: 1 },
        message: `module of provider \`${entry.provider}\` fails to load: ${report.message}`,
        hint: /(Cannot find (module|package)|Could not resolve) ["']botc\//.test(report.message)
          ? 'install botc in the workspace (`npm install --save-dev botc`) so `botc/integration` resolves'
          : 'fix the error so the module imports cleanly',
      });
      return undefined;
    case 'no-export':
      return exportMissing(
        `module \`${entry.module}\` has no export \`${exportName}\` that is a class`,
        didYouMean(exportName, report.available) ?? `exported classes: ${listNames(report.available)}`,
      );
    case 'construct':
      return exportMissing(
        `\`${exportName}\` of provider \`${entry.provider}\` throws when constructed: ${report.message}`,
        'the constructor must not do I/O or need credentials at build time',
      );
    case 'not-integration':
      return exportMissing(
        `\`${exportName}\` of provider \`${entry.provider}\` is not an integration: it lacks ${listNames(report.missing)}`,
        'extend `BaseIntegration` from `botc/integration`, or implement describeMethods(), authStatus() and call()',
      );
    case 'describe':
      return exportMissing(
        `describeMethods() of provider \`${entry.provider}\` throws: ${report.message}`,
        'describeMethods() must return the method list without I/O',
      );
    case 'not-array':
      return exportMissing(`describeMethods() of provider \`${entry.provider}\` does not return an array`, 'return a list of MethodSpec objects');
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
      ctx.diagnostics.report('unsafe-path', {
        file: read.file,
        at: { line: 1, column: 1 },
        message: `\`${clip(file)}\`, which the module imports, cannot be pinned in the bundle: it is a link, not a regular file inside the workspace, or over 4 MiB`,
        hint: 'make it a regular file inside the workspace (not a link), under 4 MiB',
      });
      return undefined;
    }
    inputs.push({ file, sha256 });
  }
  return inputs.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/** Where the id appears quoted in the module source: its `occurrence`-th appearance (0-based), or the last one. */
function methodPosition({ source, lines }: ModuleLoad, methodId: string, occurrence = 0): Position {
  for (const quote of ["'", '"', '`']) {
    const needle = `${quote}${methodId}${quote}`;
    let offset = source.indexOf(needle);
    if (offset < 0) continue;
    for (let n = 0; n < occurrence; n++) {
      const next = source.indexOf(needle, offset + 1);
      if (next < 0) break;
      offset = next;
    }
    return lines.positionAt(offset);
  }
  return { line: 1, column: 1 };
}

function checkMethod(
  ctx: Context,
  entry: RegistryEntry,
  loaded: ModuleLoad,
  raw: unknown,
  index: number,
  schemas: SchemaChecker,
  permissions: Set<PermissionType> | undefined,
): MethodSpec | undefined {
  const rawId = (raw as { method_id?: unknown } | null)?.method_id;
  const label = typeof rawId === 'string' ? `method \`${clip(rawId)}\`` : `method #${index + 1} of provider \`${entry.provider}\``;
  const at = typeof rawId === 'string' ? methodPosition(loaded, rawId) : { line: 1, column: 1 };
  const mark = ctx.diagnostics.mark;
  const report = (code: Parameters<Diagnostics['report']>[0], message: string, hint?: string) =>
    ctx.diagnostics.report(code, { file: loaded.file, at, message: `${label}: ${message}`, hint });

  const parsed = methodSpecSchema.safeParse(raw);
  if (!parsed.success) {
    reportIssues(ctx.diagnostics, 'method-spec-invalid', loaded.file, parsed.error.issues, () => at, () => 'see the MethodSpec fields in the README', { value: raw });
    for (const d of ctx.diagnostics.items.slice(mark)) d.message = `${label}: ${d.message}`;
    return undefined;
  }
  const spec = parsed.data;
  const idProblem = methodIdProblem(spec.method_id);
  if (idProblem) {
    report('method-id-invalid', idProblem, 'method ids look like `github.issues.list.v1`');
    return undefined;
  }
  if (providerOf(spec.method_id) !== entry.provider) {
    report('method-id-invalid', `the id must start with its provider \`${entry.provider}.\``, `rename it to \`${entry.provider}.${spec.method_id.split('.').slice(1).join('.')}\``);
    return undefined;
  }
  if (spec.provider !== entry.provider) {
    report('method-spec-invalid', `\`provider\` is \`${clip(spec.provider)}\` but the registry entry is \`${entry.provider}\``, `set \`provider: '${entry.provider}'\``);
  }
  // Every string a model reads: in the spec (description, cost unit, ...) under
  // method-spec-invalid, in a schema (descriptions, titles, enum, const, examples, default,
  // property names) under method-schema-invalid. One diagnostic per place.
  for (const [where, value] of [['', { ...spec, input_schema: undefined, output_schema: undefined }], ['input_schema', spec.input_schema], ['output_schema', spec.output_schema]] as const) {
    const found = findInvisibleIn(value, where === '' ? [] : [where]);
    if (!found) continue;
    report(
      where === '' ? 'method-spec-invalid' : 'method-schema-invalid',
      `${found.path.length > 0 ? `\`${found.path.join('.')}\`` : 'a string'}${found.inKey ? ' (a property name)' : ''} contains ${found.invisible.name} (${found.invisible.codePoint}) at character ${found.invisible.offset + 1}`,
      'remove invisible characters; they can hide instructions from reviewers',
    );
  }
  const mismatch = idempotencyProblem(spec.capabilities, spec.idempotency);
  if (mismatch) report('method-spec-invalid', mismatch, 'make `idempotency` match what the method does');
  if (spec.replacement_method_id !== null && !spec.deprecated) {
    report('method-spec-invalid', 'it names a replacement but is not deprecated', 'set `deprecated: true`, or drop `replacement_method_id`');
  }
  for (const which of ['input_schema', 'output_schema'] as const) {
    const { error, lints } = schemas.report(spec[which]);
    // Each finding points at its keyword in the module source: where the method writes the
    // schema out, by its pointer; in a sub-schema shared by several methods, where the keyword
    // is written, and then once only, not again at every method that uses it.
    const near = (pointer: string, message: string) => {
      const offset = schemaKeywordOffset(loaded.source, spec.method_id, which, pointer);
      if (offset !== undefined) return { at: loaded.lines.positionAt(offset), first: true };
      return placeSchemaProblem(loaded, `${pointer}: ${message}`) ?? { at, first: true };
    };
    if (error) {
      const place = near(error.pointer, error.message);
      if (place.first) ctx.diagnostics.report('method-schema-invalid', { file: loaded.file, at: place.at, message: `${label}: ${which}: ${error.message}`, hint: SCHEMA_INVALID_HINT });
    }
    for (const lint of lints) {
      const place = near(lint.pointer, lint.message);
      if (place.first) ctx.diagnostics.report('method-schema-lint', { file: loaded.file, at: place.at, message: `${label}: ${which}: ${lint.pointer || '/'}: ${lint.message}`, hint: SCHEMA_LINT_HINT });
    }
  }
  const allowed = ALLOWED_CAPABILITIES[entry.classification];
  const forbidden = spec.capabilities.filter((c) => !allowed.has(c));
  if (forbidden.length > 0) {
    report(
      'classification-violation',
      `a \`${entry.classification}\` integration may not have ${listNames(forbidden)} capabilities`,
      `\`${entry.classification}\` allows ${listNames([...allowed])}; move the method to an integration of another class or drop the capability`,
    );
  } else if (permissions) {
    const needed = [...new Set(spec.capabilities.map((c) => PERMISSION_FOR[c]))].filter((p) => !permissions.has(p));
    if (needed.length > 0) {
      report(
        'permission-missing',
        `it needs the ${listNames(needed)} permission${needed.length > 1 ? 's' : ''}, which partner \`${entry.provider}\` does not declare`,
        `add ${needed.map((p) => `{"type": "${p}", "justification": "..."}`).join(', ')} to \`permissions\` in ${REGISTRY_FILE}`,
      );
    }
  }
  return ctx.diagnostics.hasErrorsSince(mark) ? undefined : spec;
}

/**
 * An integration on the base class dispatches through `handlers()`: a declared method with
 * no handler answers UNKNOWN_METHOD at run time, and a handler no method declares is dead
 * code, usually a typo of the id it was meant for. The two sets must be equal. A typo is one
 * diagnostic, at the handler's key, naming the method it was meant for; a method with no
 * handler at all is reported at its declaration. Methods whose spec is broken are already
 * reported and are neither required nor matched.
 */
function checkHandlers(ctx: Context, loaded: ModuleLoad, methods: MethodSpec[], declaredIds: Map<string, number>): void {
  if (loaded.handlers === null) return;
  const handlers = new Set(loaded.handlers);
  const unhandled = methods.map((m) => m.method_id).filter((id) => !handlers.has(id));
  const extra = loaded.handlers.filter((id) => !declaredIds.has(id));
  const paired = new Set<string>();
  for (const key of extra) {
    const meant = unhandled.filter((id) => !paired.has(id));
    const hint = didYouMean(key, meant);
    const match = hint === undefined ? undefined : meant.find((id) => hint.includes(`\`${id}\``));
    if (match) paired.add(match);
    ctx.diagnostics.report('method-spec-invalid', {
      file: loaded.file,
      at: methodPosition(loaded, key),
      message: match
        ? `handler \`${clip(key)}\` in handlers() matches no declared method, so method \`${match}\` has no handler and would answer UNKNOWN_METHOD`
        : `handler \`${clip(key)}\` in handlers() matches no method that describeMethods() declares`,
      hint: match ? `${hint} rename the handler key to the method id` : 'declare the method in describeMethods(), or remove the handler',
    });
  }
  for (const id of unhandled) {
    if (paired.has(id)) continue;
    ctx.diagnostics.report('method-spec-invalid', {
      file: loaded.file,
      at: methodPosition(loaded, id),
      message: `method \`${id}\` has no handler in handlers(), so every call would answer UNKNOWN_METHOD`,
      hint: `add a handler keyed \`${id}\` to handlers()${extra.length > 0 ? '' : ', or stop declaring the method'}`,
    });
  }
}

/**
 * The first invisible character (see src/load/unicode.ts) in any string or property name of
 * `value`, with its path. The values of `pattern` and the keys of `patternProperties` are
 * regular expressions, not text, and may spell control characters on purpose.
 */
function findInvisibleIn(value: unknown, path: (string | number)[], depth = 0): { path: (string | number)[]; invisible: InvisibleCharacter; inKey: boolean } | undefined {
  if (depth > 128) return undefined; // deeper than any schema check accepts; reported there
  if (typeof value === 'string') {
    const invisible = findInvisible(value);
    return invisible ? { path, invisible, inKey: false } : undefined;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findInvisibleIn(item, [...path, index], depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const regexKeys = path.at(-1) === 'patternProperties';
  for (const [key, item] of Object.entries(value)) {
    if (!regexKeys) {
      const invisible = findInvisible(key);
      if (invisible) return { path: [...path, key], invisible, inKey: true };
    }
    if (key === 'pattern' && typeof item === 'string') continue;
    const found = findInvisibleIn(item, [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

function checkReplacements(ctx: Context, set: IntegrationSet, declared: Map<string, { file: string; at: Position }>): void {
  for (const spec of set.methods.values()) {
    const replacement = spec.replacement_method_id;
    if (replacement === null || set.methods.has(replacement) || declared.has(replacement)) continue;
    const where = declared.get(spec.method_id)!;
    ctx.diagnostics.report('replacement-unknown', {
      file: where.file,
      at: where.at,
      message: `method \`${spec.method_id}\` names replacement \`${clip(replacement)}\`, which no integration declares`,
      hint: didYouMean(replacement, set.methods.keys()) ?? 'declare the replacement method, or fix the id',
    });
  }
}
