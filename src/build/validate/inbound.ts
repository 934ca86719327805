import type { Diagnostics, Position } from '../../diagnostics/diagnostic.ts';
import { didYouMean } from '../../diagnostics/hints.ts';
import type { RegistryEntry } from '../../schema/registry.ts';
import type { MethodSpec } from '../../integration/types.ts';
import { botcVersionTag, cacheKey, type BuildCache } from '../cache/cache.ts';
import { payloadSchemaVerdict, type PayloadVerdict } from './integrations-schema.ts';
import type { SchemaChecker } from './schema-checker.ts';

type Locate = (key?: string, ...path: (string | number)[]) => Position;

/**
 * The `webhook` and `polling_sync` modes are backed by declarations in the registry entry
 * (docs/inbound.md): a mode without its declaration is `mode-unsupported` at the `modes` key,
 * a payload schema that does not compile is `integration-registry-invalid` at its key, and
 * two streams of one name are `integration-registry-invalid` at the second.
 */
export function checkInboundDeclarations(diagnostics: Diagnostics, file: string, entry: RegistryEntry, locate: Locate, payloads: PayloadChecks): void {
  if (entry.modes.includes('webhook') && entry.webhook === undefined) {
    diagnostics.add('mode-unsupported', { file, at: locate('modes') }, { variant: 'webhook', provider: entry.provider });
  }
  if (entry.modes.includes('polling_sync') && (entry.streams === undefined || entry.streams.length === 0)) {
    diagnostics.add('mode-unsupported', { file, at: locate('modes') }, { variant: 'polling-sync', provider: entry.provider });
  }
  if (entry.webhook !== undefined) {
    payloads.check(entry.webhook.payload_schema, (problem) => {
      diagnostics.add('integration-registry-invalid', { file, at: locate('payload_schema', 'webhook') }, { variant: 'payload-schema', provider: entry.provider, detail: problem });
    });
  }
  const names = new Set<string>();
  for (const [index, stream] of (entry.streams ?? []).entries()) {
    if (names.has(stream.name)) {
      diagnostics.add('integration-registry-invalid', { file, at: locate('name', 'streams', index) }, { variant: 'stream-twice', provider: entry.provider, stream: stream.name });
    }
    names.add(stream.name);
  }
}

/** Verdicts by the schema's exact JSON text, for the life of the process: many providers share one payload schema. */
const payloadVerdicts = new Map<string, PayloadVerdict>();

/**
 * The webhook payload schema checks of one build: whether each compiles (ajv's first line,
 * clipped, when it does not). A verdict depends on the schema's text alone, so it is
 * remembered per text and, with a build cache, stored under that text and botc's version
 * (written only when the build is free of errors, like every cache entry). Schemas not known
 * yet are checked together by `settle`, on the schema worker when one runs: the main thread
 * then never loads ajv, nor compiles JSON Schema's meta-schema, for them.
 */
export class PayloadChecks {
  /** What to report for each schema not known yet, by its text. */
  private readonly waiting = new Map<string, ((problem: string) => void)[]>();

  constructor(private readonly cache: BuildCache | undefined) {}

  /** Calls `onProblem` when the schema does not compile: at once when its verdict is known, else from `settle`. */
  check(schema: unknown, onProblem: (problem: string) => void): void {
    const text = JSON.stringify(schema);
    const known = text === undefined ? payloadSchemaVerdict(schema) : this.known(text);
    if (known) {
      if (known.problem !== undefined) onProblem(known.problem);
      return;
    }
    const waiting = this.waiting.get(text!);
    if (waiting) waiting.push(onProblem);
    else this.waiting.set(text!, [onProblem]);
  }

  /** Checks every schema `check` could not answer (with `checker`, on its worker when it has one), and reports. */
  async settle(checker: SchemaChecker): Promise<void> {
    const texts = [...this.waiting.keys()];
    const verdicts = await checker.checkPayloads(texts);
    texts.forEach((text, i) => {
      const verdict = verdicts[i]!;
      payloadVerdicts.set(text, verdict);
      this.cache?.put('schema', payloadKey(text), verdict);
      if (verdict.problem !== undefined) for (const report of this.waiting.get(text)!) report(verdict.problem);
    });
    this.waiting.clear();
  }

  private known(text: string): PayloadVerdict | undefined {
    let verdict = payloadVerdicts.get(text);
    if (verdict === undefined) {
      const stored = this.cache?.get<{ problem?: unknown }>('schema', payloadKey(text));
      if (stored !== undefined && stored !== null && typeof stored === 'object' && (stored.problem === undefined || typeof stored.problem === 'string')) {
        verdict = stored.problem === undefined ? {} : { problem: stored.problem };
        payloadVerdicts.set(text, verdict);
      }
    }
    return verdict;
  }
}

/** The cache key of a payload schema's verdict: its exact JSON text and botc's version. */
function payloadKey(text: string): string {
  return cacheKey('webhook-schema', botcVersionTag(), text);
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
