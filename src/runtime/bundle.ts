import { readFileSync, statSync } from 'node:fs';
import { BUNDLE_FORMAT, bundleDigest, type Bundle } from '../bundle/format.ts';
import { MODULE_FILE_CAP, WorkspaceFiles, describeReadFailure } from '../load/files.ts';

/** The largest bundle the runtime will read. */
const BUNDLE_CAP = 64 * 1024 * 1024;

export class BundleLoadError extends Error {
  override name = 'BundleLoadError';
}

/** Reads a bundle file and checks its format and digest. */
export function readBundle(path: string): Bundle {
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > BUNDLE_CAP) throw new BundleLoadError(`bundle ${path} is ${size} bytes, over the ${BUNDLE_CAP}-byte cap`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof BundleLoadError) throw error;
    throw new BundleLoadError(`bundle ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new BundleLoadError(`bundle ${path} is not valid JSON`);
  }
  return verifyBundle(value);
}

/** Checks a parsed bundle's format and digest: a bundle edited after the build does not load. */
export function verifyBundle(value: unknown): Bundle {
  const bundle = value as Partial<Bundle> | null;
  if (typeof bundle !== 'object' || bundle === null || bundle.format !== BUNDLE_FORMAT) {
    throw new BundleLoadError(`not a ${BUNDLE_FORMAT} bundle`);
  }
  for (const key of ['bot', 'experts', 'tools', 'methods', 'integrations', 'sources', 'digest'] as const) {
    if (bundle[key] === undefined) throw new BundleLoadError(`the bundle lacks \`${key}\``);
  }
  if (bundleDigest(bundle as Bundle) !== bundle.digest) {
    throw new BundleLoadError('the bundle digest does not match its content: it was changed after the build');
  }
  return bundle as Bundle;
}

/**
 * Checks that every integration module the bundle records still has the source that was
 * reviewed and built: a changed tool definition must not load silently.
 */
export function verifyModules(bundle: Bundle, files: WorkspaceFiles): void {
  for (const [provider, integration] of Object.entries(bundle.integrations)) {
    const file = `integrations/${integration.module}`;
    const read = files.read(file, MODULE_FILE_CAP);
    if (!read.ok) throw new BundleLoadError(`module ${file} of provider ${provider} cannot be read: ${describeReadFailure(read)}`);
    if (read.sha256 !== integration.sha256) {
      throw new BundleLoadError(`module ${file} of provider ${provider} changed since the bundle was built; rebuild and review it`);
    }
  }
}
