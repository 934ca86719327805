import { z } from 'zod';
import { methodSpecSchema } from '../integration/method-spec.ts';
import { ADVANCED_MODES, CLASSIFICATIONS, LIFECYCLES, STANDARD_MODES } from '../integration/vocabulary.ts';
import { canonicalJson, sha256, sortKeys } from './canonical.ts';
import { BUNDLE_FORMAT } from './digest.ts';
import { streamDeclarationSchema, webhookDeclarationSchema } from '../inbound/declarations.ts';

/**
 * The bundle: the one contract between the build and every runtime (README, The bundle).
 * The runtime reads this module; it never imports the build.
 */
export { BUNDLE_FORMAT, bundleDigest } from './digest.ts';

/** A sha256 digest as the bundle writes it: 64 lower-case hex digits. */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 digest (64 lower-case hex digits)');
const offset = z.number().int().nonnegative();

const blockSchema = z.strictObject({
  kind: z.enum(['personality', 'expert', 'skill', 'tool', 'common']),
  /** Workspace-relative path of the file the block came from. */
  source: z.string(),
  /** Offsets of the block in `system_prompt`, in Unicode code points; `end` is exclusive. */
  start: offset,
  end: offset,
  /** sha256 of the block's rendered text. */
  sha256: sha256Hex,
});

const expertSchema = z.strictObject({
  name: z.string(),
  description: z.string(),
  tools: z.array(z.string()),
  system_prompt: z.string(),
  blocks: z.array(blockSchema),
});

const toolSchema = z.strictObject({
  name: z.string(),
  description: z.string(),
  methods: z.array(z.string()),
  /** The JSON Schema of the tool's `{op, args}` envelope. */
  parameters: z.record(z.string(), z.unknown()),
});

const integrationSchema = z.strictObject({
  module: z.string(),
  export: z.string(),
  classification: z.enum(CLASSIFICATIONS),
  modes: z.array(z.enum([...STANDARD_MODES, ...ADVANCED_MODES])),
  lifecycle: z.enum(LIFECYCLES),
  tier: z.union([z.literal(1), z.literal(2), z.literal(3)]).nullable(),
  /**
   * The module's pin (src/load/modules.ts `modulePin`): sha256 of the module, or, when it
   * imports local files, of the module and every such file (`inputs`).
   */
  sha256: sha256Hex,
  /** The workspace files the module imports, transitively (sorted, `/`-separated); present only when there are any. */
  inputs: z.array(z.string()).optional(),
  /** The webhook events the integration receives; present only when its registry entry declares them. */
  webhook: webhookDeclarationSchema.optional(),
  /** The sync streams of the integration; present only when its registry entry declares them. */
  streams: z.array(streamDeclarationSchema).optional(),
});

/**
 * The whole `botc.bundle/1` format as a zod schema: the runtime checks every bundle it loads
 * against it (README, The bundle), and the `Bundle` type is inferred from it, so the type the
 * code trusts is exactly what was checked. Every object is strict: a key the format does not
 * define is refused rather than carried along unread (a new field needs a new format version).
 */
export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  bot: z.strictObject({ id: z.string(), version: z.string(), description: z.string() }),
  experts: z.array(expertSchema),
  tools: z.array(toolSchema),
  /** Every method a tool names, keyed by method id. */
  methods: z.record(z.string(), methodSpecSchema),
  /** Every integration a method belongs to, keyed by provider. */
  integrations: z.record(z.string(), integrationSchema),
  /** sha256 of every source file the bundle was built from, keyed by workspace-relative path. */
  sources: z.record(z.string(), sha256Hex),
  /** sha256 of the canonical JSON (RFC 8785) of everything else (`bundleDigest`). */
  digest: sha256Hex,
});

/** A bundle (`dist/<bot>.bundle.json`), as `bundleSchema` checks it. */
export type Bundle = z.infer<typeof bundleSchema>;
/** One expert: its system prompt, the tools it may use and where each prompt block came from. */
export type BundleExpert = z.infer<typeof expertSchema>;
/** One block of an expert's system prompt. */
export type BundleBlock = z.infer<typeof blockSchema>;
/** What kind of prompt file a block came from. */
export type BlockKind = BundleBlock['kind'];
/** One tool: the methods behind it and the JSON Schema of its envelope. */
export type BundleTool = z.infer<typeof toolSchema>;
/** One integration as the bundle records it: module, export, class, modes, lifecycle, tier, source hash. */
export type BundleIntegration = z.infer<typeof integrationSchema>;

/**
 * An object member whose name is an array index. Inside JSON string values every `"` is escaped,
 * so this matches member names only.
 */
const INDEX_KEY = /[{,]"(?:0|[1-9][0-9]*)":/;

/** The bytes written to disk: sorted keys, two-space indent, one trailing newline. */
export function serializeBundle(bundle: Bundle): string {
  return serializeSortedBundle(sortKeys(bundle) as Bundle);
}

/**
 * Adds the digest to a bundle whose keys are already sorted at every level (the build sorts
 * once, in `assembleBundle`): its JSON is the canonical JSON, so nothing is sorted again.
 * The result keeps `digest` in key order, so it is sorted too.
 */
export function sealSortedBundle(sorted: Omit<Bundle, 'digest'>): Bundle {
  // JSON.stringify of a sorted object is its JCS form unless some key is an array index, which
  // objects enumerate first: then (rarely) serialize canonically the slow way.
  const json = JSON.stringify(sorted);
  const digest = sha256(INDEX_KEY.test(json) ? canonicalJson(sorted) : json);
  const bundle: Record<string, unknown> = {};
  for (const key of [...Object.keys(sorted), 'digest'].sort()) bundle[key] = key === 'digest' ? digest : sorted[key as keyof typeof sorted];
  return bundle as unknown as Bundle;
}

/** `serializeBundle` for a bundle that is sorted already, such as one from `sealSortedBundle`. */
export function serializeSortedBundle(bundle: Bundle): string {
  return `${JSON.stringify(bundle, null, 2)}\n`;
}
