import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import { didYouMean } from '../../diagnostics/hints.ts';
import { createAjv } from '../../schema/ajv.ts';
import type { RegistryEntry } from '../../schema/registry.ts';
import type { MethodSpec } from '../../integration/types.ts';
import { botcVersionTag, cacheKey, type BuildCache } from '../cache/cache.ts';

type Locate = (key?: string, ...path: (string | number)[]) => Position;

/**
 * The `webhook` and `polling_sync` modes are backed by declarations in the registry entry
 * (docs/inbound.md): a mode without its declaration is `mode-unsupported` at the `modes` key,
 * a payload schema that does not compile is `integration-registry-invalid` at its key, and
 * two streams of one name are `integration-registry-invalid` at the second.
 */
export function checkInboundDeclarations(diagnostics: Diagnostics, file: string, entry: RegistryEntry, locate: Locate, cache?: BuildCache): void {
  if (entry.modes.includes('webhook') && entry.webhook === undefined) {
    diagnostics.add('mode-unsupported', { file, at: locate('modes') }, { variant: 'webhook', provider: entry.provider });
  }
  if (entry.modes.includes('polling_sync') && (entry.streams === undefined || entry.streams.length === 0)) {
    diagnostics.add('mode-unsupported', { file, at: locate('modes') }, { variant: 'polling-sync', provider: entry.provider });
  }
  if (entry.webhook !== undefined) {
    const problem = payloadSchemaProblem(entry.webhook.payload_schema, cache);
    if (problem !== undefined) {
      diagnostics.add('integration-registry-invalid', { file, at: locate('payload_schema', 'webhook') }, { variant: 'payload-schema', provider: entry.provider, detail: problem });
    }
  }
  const names = new Set<string>();
  for (const [index, stream] of (entry.streams ?? []).entries()) {
    if (names.has(stream.name)) {
      diagnostics.add('integration-registry-invalid', { file, at: locate('name', 'streams', index) }, { variant: 'stream-twice', provider: entry.provider, stream: stream.name });
    }
    names.add(stream.name);
  }
}

/** One ajv instance for every payload schema of a build: creating one costs tens of milliseconds. */
let payloadAjv: ReturnType<typeof createAjv> | undefined;
/** Verdicts by the schema's exact JSON text: many providers share one payload schema. */
const payloadVerdicts = new Map<string, { problem?: string }>();

/**
 * Why a webhook payload schema does not compile (ajv's first line, clipped), or undefined when
 * it does. The verdict depends on the schema's text alone, so it is remembered per text and,
 * with a build cache, stored under that text and botc's version (written only when the build
 * is free of errors, like every cache entry). The instance is shared safely: it is created with
 * `addUsedSchema: false`, so a compiled schema's `$id` is not registered in it.
 */
function payloadSchemaProblem(schema: unknown, cache: BuildCache | undefined): string | undefined {
  const text = JSON.stringify(schema) ?? 'undefined';
  let verdict = payloadVerdicts.get(text);
  const key = cacheKey('webhook-schema', botcVersionTag(), text);
  if (verdict === undefined) {
    const stored = cache?.get<{ problem?: unknown }>('schema', key);
    if (stored !== undefined && stored !== null && typeof stored === 'object' && (stored.problem === undefined || typeof stored.problem === 'string')) {
      verdict = stored.problem === undefined ? {} : { problem: stored.problem };
    }
  }
  if (verdict === undefined) {
    try {
      (payloadAjv ??= createAjv({ checkOnly: true })).compile(schema as object);
      verdict = {};
    } catch (error) {
      verdict = { problem: (error as Error).message.split('\n')[0]!.slice(0, 200) };
    }
    cache?.put('schema', key, verdict);
  }
  payloadVerdicts.set(text, verdict);
  return verdict.problem;
}

/**
 * A stream is pulled through one of its integration's own methods, which must exist and have
 * the `import` capability (its records go to the review queue): otherwise the mode has
 * nothing to run, `mode-unsupported` at the stream's `method_id`.
 */
export function checkStreamMethods(diagnostics: Diagnostics, file: string, set: { methods: ReadonlyMap<string, MethodSpec>; unknowable: { methods: ReadonlySet<string> } }, entries: readonly RegistryEntry[], locateOf?: (provider: string) => Locate | undefined): void {
  for (const entry of entries) {
    for (const [index, stream] of (entry.streams ?? []).entries()) {
      if (set.unknowable.methods.has(stream.method_id)) continue;
      const spec = set.methods.get(stream.method_id);
      const at = locateOf?.(entry.provider)?.('method_id', 'streams', index);
      if (!spec || spec.provider !== entry.provider) {
        const own = [...set.methods.values()].filter((m) => m.provider === entry.provider).map((m) => m.method_id);
        diagnostics.add(
          'mode-unsupported',
          { file, at },
          { variant: 'stream-method-unknown', stream: stream.name, provider: entry.provider, method: stream.method_id.slice(0, 120), suggestion: didYouMean(stream.method_id, own) },
        );
      } else if (!spec.capabilities.includes('import')) {
        diagnostics.add('mode-unsupported', { file, at }, { variant: 'stream-method-not-import', stream: stream.name, provider: entry.provider, method: stream.method_id });
      }
    }
  }
}
