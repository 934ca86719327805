import path from 'node:path';
import { DESCRIPTION_LIMIT, descriptionLength } from '../validate/description-length.ts';
import type { Position } from '../../diagnostics/diagnostic.ts';
import type { DiagnosticParams } from '../../diagnostics/registry.ts';
import type { BuildContext, FileContext } from '../context.ts';
import { didYouMean, listNames } from '../../diagnostics/hints.ts';
import {
  ALLOWED_CAPABILITIES, MINIMUM_TIER, PERMISSION_FOR, PERMISSION_TYPES, idempotencyProblem, type PermissionType,
} from '../../governance/policy.ts';
import { ADVANCED_MODES, type MethodSpec } from '../../integration/types.ts';
import { MODULE_FILE_CAP, WorkspaceFiles, describeReadFailure } from '../../load/files.ts';
import { parseJson } from '../../load/json.ts';
import { methodIdProblem, providerOf } from '../../load/names.ts';
import { LineIndex } from '../../load/text.ts';
import { findInvisible, type InvisibleCharacter } from '../../load/unicode.ts';
import { clip, reportIssues } from '../../schema/common.ts';
import { methodSpecSchema } from '../../schema/method-spec.ts';
import { registrySchema, type RegistryEntry } from '../../schema/registry.ts';
import type { Entry } from '../discover/discover.ts';
import { SchemaChecker } from '../validate/schema-checker.ts';
import { SCHEMA_INVALID_HINT, SCHEMA_LINT_HINT, schemaKeywordOffset } from '../validate/integrations-schema.ts';
import { loadErrorPosition } from '../../load/modules.ts';
import { checkRenamedProvider } from '../validate/provider-rename.ts';
import { placeSchemaProblem } from '../validate/schema-location.ts';
import { type ModuleReport } from '../../load/sandbox.ts';
import { inspectWithCache } from './module-cache.ts';
import { checkInboundDeclarations, checkStreamMethods } from '../validate/inbound.ts';

export const REGISTRY_FILE = 'integrations/manifest.json';

export interface LoadedIntegration {
  entry: RegistryEntry;
  /** Workspace-relative module path. */
  moduleFile: string;
  sha256: string;
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

type Context = FileContext;

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
export async function loadIntegrations(build: BuildContext): Promise<PendingIntegrations> {
  const { files, diagnostics, cache } = build;
  const children = build.entries.integrationChildren;
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
    checkUnregisteredFolders(ctx, entries.map((e) => e.entry), children);
    const prepared = entries.map(({ entry, locate }) => {
      checkModes(ctx, entry, locate);
      checkInboundDeclarations(ctx.diagnostics, REGISTRY_FILE, entry, locate);
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
      pending.schemas.submit(loaded.specs.flatMap((raw) => (raw !== null && typeof raw === 'object' ? [(raw as MethodSpec).input_schema, (raw as MethodSpec).output_schema] : [])));
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
        // The first declaration goes with the diagnostic as its related place, not into the message.
        ctx.diagnostics.add('method-duplicate', { file: loaded.file, at, related: { file: previous.file, at: previous.at } }, { id: spec.method_id });
        return [];
      }
      declared.set(spec.method_id, { provider: entry.provider, file: loaded.file, at });
      const length = descriptionLength(spec.description);
      if (length > DESCRIPTION_LIMIT) {
        ctx.diagnostics.add('description-too-long', { file: loaded.file, at }, { variant: 'method', name: spec.method_id, length, limit: DESCRIPTION_LIMIT });
      }
      set.declared.set(spec.method_id, { file: loaded.file, at });
      return [spec];
    });
    checkHandlers(ctx, loaded, methods, occurrences);
    set.providers.set(entry.provider, { entry, moduleFile: loaded.file, sha256: loaded.sha256, methods });
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
    ctx.diagnostics.add('integration-unregistered', { file: child.path }, { variant: 'folder', name, registry: REGISTRY_FILE });
  }
}

function checkModes(ctx: Context, entry: RegistryEntry, locate: Located['locate']): void {
  const advanced = entry.modes.filter((m) => (ADVANCED_MODES as readonly string[]).includes(m));
  if (advanced.length === 0 || entry.architecture_approval) return;
  ctx.diagnostics.add('mode-not-approved', { file: REGISTRY_FILE, at: locate('modes') }, { provider: entry.provider, modes: advanced });
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
  const report = (at: Position, params: DiagnosticParams<'permission-invalid'>) => ctx.diagnostics.add('permission-invalid', { file: REGISTRY_FILE, at }, params);
  if (entry.tier === undefined) report(locate('permissions'), { variant: 'no-tier', provider: entry.provider });
  for (const [index, permission] of (entry.permissions ?? []).entries()) {
    const at = locate('type', 'permissions', index);
    if (/[*?]/.test(permission.type)) {
      report(at, { variant: 'wildcard', type: clip(permission.type), types: PERMISSION_TYPES });
      unreadable = true;
      continue;
    }
    if (!(PERMISSION_TYPES as readonly string[]).includes(permission.type)) {
      report(at, { variant: 'unknown', type: clip(permission.type), types: PERMISSION_TYPES });
      unreadable = true;
      continue;
    }
    const type = permission.type as PermissionType;
    if (!permission.justification || permission.justification.trim().length === 0) {
      report(locate(undefined, 'permissions', index), { variant: 'no-justification', type });
    }
    if (declared.has(type)) report(at, { variant: 'twice', type });
    if (entry.tier !== undefined && entry.tier < MINIMUM_TIER[type]) {
      report(at, { variant: 'tier', tier: entry.tier, type, minimum: MINIMUM_TIER[type] });
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
}

type ModuleRead = Omit<ModuleLoad, 'specs' | 'handlers'>;

/** The module file, read and hashed; undefined (reported) when its path is unsafe or it cannot be read. */
function readModule(ctx: Context, entry: RegistryEntry, locate: Located['locate']): ModuleRead | undefined {
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
function interpretReport(ctx: Context, entry: RegistryEntry, locate: Located['locate'], read: ModuleRead, report: ModuleReport): ModuleLoad | undefined {
  const exportName = entry.export ?? 'default';
  const exportMissing = (params: DiagnosticParams<'integration-export-missing'>) => {
    ctx.diagnostics.add('integration-export-missing', { file: REGISTRY_FILE, at: locate('export') ?? locate('module') }, params);
    return undefined;
  };
  if (report.ok) return { ...read, specs: report.specs, handlers: report.handlers };
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
 * A load error the bundler places in another file than the module (`helpers/x.ts:3:7: ...`):
 * that place becomes the diagnostic's related location, and the message keeps the error alone.
 */
function placeInOtherFile(ctx: Context, message: string): { detail: string; related: { file: string; at: Position } } | undefined {
  const match = /^([^\n]+?):(\d+):(\d+): ([\s\S]*)$/.exec(message);
  if (!match) return undefined;
  const relative = path.relative(ctx.files.root, path.resolve(ctx.files.root, match[1]!));
  const file = relative.startsWith('..') || path.isAbsolute(relative) ? match[1]! : relative.split(path.sep).join('/');
  return { detail: match[4]!, related: { file, at: { line: Number(match[2]), column: Number(match[3]) } } };
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
  const where = { file: loaded.file, at };

  const parsed = methodSpecSchema.safeParse(raw);
  if (!parsed.success) {
    reportIssues(ctx.diagnostics, 'method-spec-invalid', loaded.file, parsed.error.issues, () => at, () => 'see the MethodSpec fields in the README', { value: raw });
    for (const d of ctx.diagnostics.items.slice(mark)) d.message = `${label}: ${d.message}`;
    return undefined;
  }
  const spec = parsed.data as MethodSpec;
  const idProblem = methodIdProblem(spec.method_id);
  if (idProblem) {
    ctx.diagnostics.add('method-id-invalid', where, { variant: 'malformed', label, problem: idProblem });
    return undefined;
  }
  if (providerOf(spec.method_id) !== entry.provider) {
    ctx.diagnostics.add('method-id-invalid', where, { variant: 'prefix', label, provider: entry.provider, rest: spec.method_id.split('.').slice(1).join('.') });
    return undefined;
  }
  if (spec.provider !== entry.provider) {
    ctx.diagnostics.add('method-spec-invalid', where, { variant: 'provider', label, provider: clip(spec.provider), expected: entry.provider });
  }
  // Every string a model reads: in the spec (description, cost unit, ...) under
  // method-spec-invalid, in a schema (descriptions, titles, enum, const, examples, default,
  // property names) under method-schema-invalid. One diagnostic per place.
  for (const [part, value] of [['', { ...spec, input_schema: undefined, output_schema: undefined }], ['input_schema', spec.input_schema], ['output_schema', spec.output_schema]] as const) {
    const found = findInvisibleIn(value, part === '' ? [] : [part]);
    if (!found) continue;
    const invisible = {
      variant: 'invisible',
      label,
      where: `${found.path.length > 0 ? `\`${found.path.join('.')}\`` : 'a string'}${found.inKey ? ' (a property name)' : ''}`,
      name: found.invisible.name,
      codePoint: found.invisible.codePoint,
      character: found.invisible.offset + 1,
    } as const;
    if (part === '') ctx.diagnostics.add('method-spec-invalid', where, invisible);
    else ctx.diagnostics.add('method-schema-invalid', where, invisible);
  }
  const mismatch = idempotencyProblem(spec.capabilities, spec.idempotency);
  if (mismatch) ctx.diagnostics.add('method-spec-invalid', where, { variant: 'idempotency', label, problem: mismatch });
  if (spec.replacement_method_id !== null && !spec.deprecated) {
    ctx.diagnostics.add('method-spec-invalid', where, { variant: 'replacement-not-deprecated', label });
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
      if (place.first) ctx.diagnostics.add('method-schema-invalid', { file: loaded.file, at: place.at }, { variant: 'schema', label, which, detail: error.message, hint: SCHEMA_INVALID_HINT });
    }
    for (const lint of lints) {
      const place = near(lint.pointer, lint.message);
      if (place.first) ctx.diagnostics.add('method-schema-lint', { file: loaded.file, at: place.at }, { label, which, pointer: lint.pointer, detail: lint.message, hint: SCHEMA_LINT_HINT });
    }
  }
  const allowed = ALLOWED_CAPABILITIES[entry.classification];
  const forbidden = spec.capabilities.filter((c) => !allowed.has(c));
  if (forbidden.length > 0) {
    ctx.diagnostics.add('classification-violation', where, { label, classification: entry.classification, forbidden, allowed: [...allowed] });
  } else if (permissions) {
    const needed = [...new Set(spec.capabilities.map((c) => PERMISSION_FOR[c]))].filter((p) => !permissions.has(p));
    if (needed.length > 0) {
      ctx.diagnostics.add('permission-missing', where, { label, needed, provider: entry.provider, registry: REGISTRY_FILE });
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
    const where = { file: loaded.file, at: methodPosition(loaded, key) };
    if (match) ctx.diagnostics.add('method-spec-invalid', where, { variant: 'handler-typo', key: clip(key), method: match, suggestion: hint! });
    else ctx.diagnostics.add('method-spec-invalid', where, { variant: 'handler-extra', key: clip(key) });
  }
  for (const id of unhandled) {
    if (paired.has(id)) continue;
    ctx.diagnostics.add('method-spec-invalid', { file: loaded.file, at: methodPosition(loaded, id) }, { variant: 'handler-missing', id, extraHandlers: extra.length > 0 });
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
    ctx.diagnostics.add('replacement-unknown', where, { id: spec.method_id, replacement: clip(replacement), suggestion: didYouMean(replacement, set.methods.keys()) });
  }
}
