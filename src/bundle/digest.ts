import { canonicalJson, sha256 } from './canonical.ts';

/**
 * The bundle's format tag and digest, apart from its schema (format.ts): the runtime checks
 * both on every load, and a load whose bundle text was checked before (src/runtime/verdicts.ts)
 * needs no schema library.
 */
export const BUNDLE_FORMAT = 'botc.bundle/1';

/** The digest of a bundle: sha256 of the canonical JSON of everything but `digest`. */
export function bundleDigest(bundle: object): string {
  const { digest: _ignored, ...rest } = bundle as { digest?: unknown };
  return sha256(canonicalJson(rest));
}
