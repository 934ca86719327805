import path from 'node:path';
import { describeReadFailure } from '../../load/files.ts';
import { parseJson } from '../../load/json.ts';
import { reportIssues } from '../../schema/common.ts';
import { registrySchema, type RegistryEntry } from '../../schema/registry.ts';
import type { Entry } from '../discover/discover.ts';
import type { Context, IntegrationSet, Located } from '../load/integration-set.ts';
import { REGISTRY_FILE } from '../load/integration-set.ts';

/** The integration registry, integrations/manifest.json: read, parsed, checked entry by entry for duplicates. */
export function readRegistry(ctx: Context, set: IntegrationSet, children: Entry[]): Located[] | undefined {
  const read = ctx.files.read(REGISTRY_FILE);
  if (!read.ok) {
    if (read.kind === 'missing') {
      if (children.length === 0) return [];
      ctx.diagnostics.add('integration-registry-invalid', { file: REGISTRY_FILE }, { variant: 'missing' });
    } else if (read.kind === 'encoding') {
      ctx.diagnostics.add('file-encoding', { file: REGISTRY_FILE, at: read.at }, { variant: 'decode', detail: read.message, hint: read.hint });
    } else if (read.kind === 'unsafe') {
      ctx.diagnostics.add('unsafe-path', { file: REGISTRY_FILE }, { variant: 'registry', failure: describeReadFailure(read) });
    } else {
      ctx.diagnostics.add('integration-registry-invalid', { file: REGISTRY_FILE }, { variant: 'unreadable', failure: describeReadFailure(read) });
    }
    return undefined;
  }
  set.registrySha256 = read.sha256;
  const parsed = parseJson(read.text);
  if (!parsed.ok) {
    ctx.diagnostics.add('json-syntax', { file: REGISTRY_FILE, at: parsed.at }, { variant: 'parse', detail: parsed.message });
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
      ctx.diagnostics.add('integration-registry-invalid', { file: REGISTRY_FILE, at: locate('provider') }, { variant: 'provider-twice', provider: entry.provider, first, again: index });
    }
    seen.set(entry.provider, index);
  }
  return ok ? located : undefined;
}

export function registryHint(issue: { path: PropertyKey[] }): string | undefined {
  const last = issue.path.at(-1);
  if (last === 'classification') return 'use `read_only`, `inbound` or `outbound` (docs/governance.md, integration classes)';
  if (last === 'lifecycle') return 'use `active`, `maintenance`, `deprecated` or `end_of_support`';
  if (issue.path.includes('modes')) return 'modes are request_response, webhook, polling_sync, oauth, internal_events, streaming, queue, bidirectional_sync';
  return undefined;
}

export function checkUnregisteredFolders(ctx: Context, entries: RegistryEntry[], children: Entry[]): void {
  const named = new Set(entries.map((e) => e.module.split('/')[0]));
  for (const child of children) {
    const name = path.posix.basename(child.path);
    if (name.startsWith('.') || name === 'node_modules' || child.kind === 'file') continue;
    if (named.has(name)) continue;
    ctx.diagnostics.add('integration-unregistered', { file: child.path }, { variant: 'folder', name, registry: REGISTRY_FILE });
  }
}
