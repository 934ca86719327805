import type { Position } from '../../diagnostics/diagnostic.ts';
import {
  ALLOWED_CAPABILITIES, PERMISSION_FOR, idempotencyProblem, type PermissionType } from '../../governance/policy.ts';
import { type MethodSpec } from '../../integration/types.ts';
import { methodIdProblem, providerOf } from '../../load/names.ts';
import { findInvisible, type InvisibleCharacter } from '../../load/unicode.ts';
import { clip, reportIssues } from '../../schema/common.ts';
import { methodSpecSchema } from '../../schema/method-spec.ts';
import { type RegistryEntry } from '../../schema/registry.ts';
import { SchemaChecker } from '../validate/schema-checker.ts';
import { SCHEMA_INVALID_HINT, SCHEMA_LINT_HINT, schemaKeywordOffset } from '../validate/integrations-schema.ts';
import { placeSchemaProblem, type ReportedPlaces } from '../validate/schema-location.ts';
import type { Context, ModuleLoad } from '../load/integration-set.ts';
import { REGISTRY_FILE } from '../load/integration-set.ts';

/** Checks of one MethodSpec as its module declares it: shape, id, invisible characters, schemas, class, permissions. */
/** Where the id appears quoted in the module source: its `occurrence`-th appearance (0-based), or the last one. */
export function methodPosition({ source, lines }: ModuleLoad, methodId: string, occurrence = 0): Position {
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

/**
 * Checks one MethodSpec a module declared (`raw`, the `index`-th of its list): its shape, id,
 * strings, schemas (answered by `schemas`), classification and permissions. Reports each
 * problem once and returns the parsed spec, or undefined when it has an error.
 */
export function checkMethod(
  ctx: Context,
  entry: RegistryEntry,
  loaded: ModuleLoad,
  raw: unknown,
  index: number,
  schemas: SchemaChecker,
  permissions: Set<PermissionType> | undefined,
  places: ReportedPlaces,
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
  const spec = parsed.data;
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
      return placeSchemaProblem(loaded, `${pointer}: ${message}`, places) ?? { at, first: true };
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
