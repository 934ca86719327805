import type { Classification, Lifecycle, MethodSpec, Mode } from '../integration/types.ts';
import { canonicalJson, sha256, sortKeys } from './canonical.ts';
import type { StreamDeclaration, WebhookDeclaration } from '../inbound/declarations.ts';

/**
 * The bundle: the one contract between the build and every runtime (README, The bundle).
 * The runtime reads this module; it never imports the build.
 */
export const BUNDLE_FORMAT = 'botc.bundle/1';

export type BlockKind = 'personality' | 'expert' | 'skill' | 'tool' | 'common';

export interface BundleBlock {
  kind: BlockKind;
  /** Workspace-relative path of the file the block came from. */
  source: string;
  /** Offsets of the block in `system_prompt`, in Unicode code points; `end` is exclusive. */
  start: number;
  end: number;
  /** sha256 of the block's rendered text. */
  sha256: string;
}

export interface BundleExpert {
  name: string;
  description: string;
  tools: string[];
  system_prompt: string;
  blocks: BundleBlock[];
}

export interface BundleTool {
  name: string;
  description: string;
  methods: string[];
  parameters: Record<string, unknown>;
}

export interface BundleIntegration {
  module: string;
  export: string;
  classification: Classification;
  modes: Mode[];
  lifecycle: Lifecycle;
  tier: 1 | 2 | 3 | null;
  /**
   * The module's pin (src/load/modules.ts `modulePin`): sha256 of the module, or, when it
   * imports local files, of the module and every such file (`inputs`).
   */
  sha256: string;
  /** The workspace files the module imports, transitively (sorted, `/`-separated); present only when there are any. */
  inputs?: string[];
  /** The webhook events the integration receives; present only when its registry entry declares them. */
  webhook?: WebhookDeclaration;
  /** The sync streams of the integration; present only when its registry entry declares them. */
  streams?: StreamDeclaration[];
}

export interface Bundle {
  format: typeof BUNDLE_FORMAT;
  bot: { id: string; version: string; description: string };
  experts: BundleExpert[];
  tools: BundleTool[];
  methods: Record<string, MethodSpec>;
  integrations: Record<string, BundleIntegration>;
  sources: Record<string, string>;
  digest: string;
}

/**
 * An object member whose name is an array index. Inside JSON string values every `"` is escaped,
 * so this matches member names only.
 */
const INDEX_KEY = /[{,]"(?:0|[1-9][0-9]*)":/;

/** The digest of a bundle: sha256 of the canonical JSON of everything but `digest`. */
export function bundleDigest(bundle: Omit<Bundle, 'digest'> | Bundle): string {
  const { digest: _ignored, ...rest } = bundle as Bundle;
  return sha256(canonicalJson(rest));
}

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
