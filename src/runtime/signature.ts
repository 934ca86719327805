import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { BundleLoadError } from './bundle.ts';

/** What is signed: a fixed label and the bundle digest, so a signature means nothing in another context. */
function signedText(digest: string): Buffer {
  return Buffer.from(`botc.bundle-signature/1\n${digest}`, 'utf8');
}

/**
 * Signs a bundle's digest with an Ed25519 private key (RFC 8032), for runtimes that load
 * bundles built elsewhere: the build machine (or CI) signs, the deployment holds only the
 * public key. `privateKey`: a KeyObject or PEM text. Returns the signature in base64 (64 bytes).
 */
export function signBundleDigest(digest: string, privateKey: KeyObject | string): string {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('bundles are signed with an Ed25519 key');
  return sign(null, signedText(digest), key).toString('base64');
}

/**
 * Checks an Ed25519 signature over a bundle's digest with the deployment's public key
 * (KeyObject or PEM text). Throws BundleLoadError when the signature is missing, malformed or
 * does not verify: with a key configured, an unsigned or re-signed bundle does not load.
 */
export function verifyBundleSignature(digest: string, signature: string | undefined, publicKey: KeyObject | string): void {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new BundleLoadError('the bundle verification key is not an Ed25519 public key');
  if (signature === undefined) throw new BundleLoadError('the bundle is not signed, and this runtime only loads signed bundles');
  const bytes = /^[A-Za-z0-9+/]{86}==$/.test(signature) ? Buffer.from(signature, 'base64') : undefined;
  if (!bytes || bytes.length !== 64 || !verify(null, signedText(digest), key, bytes)) {
    throw new BundleLoadError('the bundle signature does not verify with the configured key: it was not signed by the deployment');
  }
}
