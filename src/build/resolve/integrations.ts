import { DESCRIPTION_LIMIT, descriptionLength } from '../validate/description-length.ts';
import type { Position } from '../../diagnostics/diagnostic.ts';
import { didYouMean } from '../../diagnostics/hints.ts';
import { clip } from '../../schema/common.ts';
import { checkStreamMethods } from '../validate/inbound.ts';
import type { Context, IntegrationSet, PendingIntegrations } from '../load/integration-set.ts';
import { REGISTRY_FILE } from '../load/integration-set.ts';
import { checkMethod, methodPosition } from '../validate/method.ts';
import type { ReportedPlaces } from '../validate/schema-location.ts';
import { checkHandlers } from '../validate/handlers.ts';

/**
 * The resolve stage of the integrations: every MethodSpec the modules declare, checked once the
 * schema checks are in; duplicates, replacements and stream methods. Returns a new set: the
 * load stage's (`pending.set`) is left as it was, so the stage can run again.
 *
 * `assume`: do not wait for the schema worker; a schema it has not answered yet counts as
 * passing (`SchemaChecker.assumeOutstanding`), and the caller confirms the guess with
 * `schemas.confirm()` and stores the reports with `schemas.store()`.
 */
export async function resolveIntegrations({ ctx, set: loadSet, modules, schemas }: PendingIntegrations, options: { assume?: boolean } = {}): Promise<IntegrationSet> {
  if (options.assume) schemas.assumeOutstanding();
  else await schemas.settle();
  const set: IntegrationSet = {
    ...loadSet,
    providers: new Map(loadSet.providers),
    methods: new Map(loadSet.methods),
    unknowable: { all: loadSet.unknowable.all, providers: new Set(loadSet.unknowable.providers), methods: new Set(loadSet.unknowable.methods) },
    declared: new Map(loadSet.declared),
  };
  const declared = new Map<string, { provider: string; file: string; at: Position }>();
  const places: ReportedPlaces = new WeakMap();
  for (const { entry, permissions, loaded } of modules) {
    const occurrences = new Map<string, number>();
    const methods = loaded.specs.flatMap((raw, index) => {
      const rawId = (raw as { method_id?: unknown } | null)?.method_id;
      const occurrence = typeof rawId === 'string' ? (occurrences.get(rawId) ?? 0) : 0;
      if (typeof rawId === 'string') occurrences.set(rawId, occurrence + 1);
      const spec = checkMethod(ctx, entry, loaded, raw, index, schemas, permissions, places);
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
    set.providers.set(entry.provider, { entry, moduleFile: loaded.file, sha256: loaded.pin, moduleSha256: loaded.sha256, inputs: loaded.inputs, methods });
    for (const spec of methods) set.methods.set(spec.method_id, spec);
  }
  checkReplacements(ctx, set, declared);
  checkStreamMethods(ctx.diagnostics, REGISTRY_FILE, set, modules.map((m) => m.entry), (provider) => modules.find((m) => m.entry.provider === provider)?.locate);
  if (!options.assume) schemas.store();
  return set;
}


function checkReplacements(ctx: Context, set: IntegrationSet, declared: Map<string, { file: string; at: Position }>): void {
  for (const spec of set.methods.values()) {
    const replacement = spec.replacement_method_id;
    if (replacement === null || set.methods.has(replacement) || declared.has(replacement)) continue;
    const where = declared.get(spec.method_id)!;
    ctx.diagnostics.add('replacement-unknown', where, { id: spec.method_id, replacement: clip(replacement), suggestion: didYouMean(replacement, set.methods.keys()) });
  }
}
