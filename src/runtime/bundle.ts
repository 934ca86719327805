import { readFileSync, statSync } from 'node:fs';
import { canonicalJson } from '../bundle/canonical.ts';
import type { Bundle } from '../bundle/format.ts';
import type { Integration, IntegrationContext, Lifecycle } from '../integration/types.ts';
import { MODULE_FILE_CAP, WorkspaceFiles, describeReadFailure } from '../load/files.ts';
import { currentModulePin, instantiateIntegration } from '../load/modules.ts';

/** The largest bundle the runtime will read. */
const BUNDLE_CAP = 64 * 1024 * 1024;

/**
 * A bundle that must not load: unreadable or over the size cap, not valid JSON, not the
 * `botc.bundle/1` format, a field that breaks `bundleSchema` (the message names its JSON
 * path), a digest that does not match, changed module sources, method declarations or registry
 * entries it would widen, or a signature that does not verify. The message says which.
 */
export class BundleLoadError extends Error {
  override name = 'BundleLoadError';
}

/** The text of a bundle file: at most 64 MiB, UTF-8. Throws BundleLoadError. */
export function readBundleText(path: string): string {
  try {
    const size = statSync(path).size;
    if (size > BUNDLE_CAP) throw new BundleLoadError(`bundle ${path} is ${size} bytes, over the ${BUNDLE_CAP}-byte cap`);
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof BundleLoadError) throw error;
    throw new BundleLoadError(`bundle ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The parsed bundle text of `path`. Throws BundleLoadError when it is not JSON. */
export function parseBundleText(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BundleLoadError(`bundle ${path} is not valid JSON`);
  }
}

/** `experts[0].blocks[1].start`; a key that is not a plain identifier in brackets: `methods["a.b.v1"]`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment).slice(0, 64))}]`;
  }
  return out;
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
    // The pin covers the module and the local files it imports (src/load/modules.ts).
    if (currentModulePin(files.root, file, read.sha256, integration.inputs) !== integration.sha256) {
      throw new BundleLoadError(`module ${file} of provider ${provider}${integration.inputs ? ' (or a file it imports)' : ''} changed since the bundle was built; rebuild and review it`);
    }
  }
}

/**
 * Makes the integration a bundle records from its imported module, the way the build made it
 * (`instantiateIntegration`), with `phase: "runtime"`. Throws BundleLoadError naming the module
 * when the export is missing, its constructor throws or the instance is not an integration.
 */
export function runtimeIntegration(namespace: Record<string, unknown>, exportName: string, context: Omit<IntegrationContext, 'phase'>, file: string): Integration {
  const made = instantiateIntegration(namespace, exportName, { phase: 'runtime', ...context });
  if (made.ok) return made.instance;
  const exportLabel = exportName.slice(0, 64);
  if (made.failure === 'no-export') throw new BundleLoadError(`module ${file} has no export ${exportLabel}`);
  if (made.failure === 'construct') throw new BundleLoadError(`module ${file}: constructing ${exportLabel} throws: ${made.message.slice(0, 500)}`);
  throw new BundleLoadError(`module ${file}: ${exportLabel} is not an integration (it lacks ${made.missing.join(', ')})`);
}

/** Every MethodSpec field: governance (capabilities, idempotency, auth_scopes, provider), validation (the schemas) and what the model reads. */
const METHOD_FIELDS = [
  'method_id', 'provider', 'description', 'input_schema', 'output_schema', 'capabilities', 'auth_scopes',
  'rate_limit_hint', 'idempotency', 'cost_hint', 'deprecated', 'replacement_method_id',
] as const;

/**
 * Checks every method the bundle records for `provider` against what the loaded module's own
 * `describeMethods()` declares: each MethodSpec field must have the same canonical JSON. A
 * bundle whose digest was recomputed after a write was relabelled `safe_read`, a scope dropped
 * or a schema loosened does not load. Throws BundleLoadError naming the method and the field.
 */
export function verifyDeclaredMethods(bundle: Bundle, provider: string, instance: Integration, file: string): void {
  let declared: unknown;
  try {
    declared = instance.describeMethods();
  } catch {
    throw new BundleLoadError(`describeMethods() of module ${file} throws`);
  }
  if (!Array.isArray(declared)) throw new BundleLoadError(`describeMethods() of module ${file} does not return a list`);
  const byId = new Map<string, Record<string, unknown>>();
  for (const spec of declared as unknown[]) {
    if (typeof spec === 'object' && spec !== null && typeof (spec as { method_id?: unknown }).method_id === 'string') {
      byId.set((spec as { method_id: string }).method_id, spec as Record<string, unknown>);
    }
  }
  for (const [id, spec] of Object.entries(bundle.methods)) {
    if (spec.provider !== provider) continue;
    const own = byId.get(id);
    if (!own) throw new BundleLoadError(`method ${clipId(id)} of the bundle is not declared by module ${file}`);
    let differing: string | undefined;
    try {
      const fields = new Set<string>([...METHOD_FIELDS, ...Object.keys(spec), ...Object.keys(own)]);
      differing = [...fields].find((field) => jsonOf((spec as unknown as Record<string, unknown>)[field]) !== jsonOf(own[field]));
    } catch {
      throw new BundleLoadError(`method ${clipId(id)}: what module ${file} declares cannot be read as JSON`);
    }
    if (differing !== undefined) {
      throw new BundleLoadError(`method ${clipId(id)}: \`${differing.slice(0, 40)}\` in the bundle differs from what module ${file} declares; rebuild the bundle`);
    }
  }
}

/**
 * Checks the bundle's own structure beyond its digest: every method a tool names is recorded,
 * every method is keyed by its id and belongs to an integration the bundle records. Throws
 * BundleLoadError.
 */
export function verifyMethodProviders(bundle: Bundle): void {
  for (const tool of bundle.tools) {
    const missing = tool.methods.find((id) => !Object.hasOwn(bundle.methods, id));
    if (missing !== undefined) throw new BundleLoadError(`tool ${String(tool.name).slice(0, 64)} names method ${clipId(String(missing))}, which the bundle does not record`);
  }
  for (const [id, spec] of Object.entries(bundle.methods)) {
    if (typeof spec !== 'object' || spec === null || spec.method_id !== id) throw new BundleLoadError(`method ${clipId(id)} of the bundle is recorded under another id`);
    if (typeof spec.provider !== 'string' || !Object.hasOwn(bundle.integrations, spec.provider)) {
      throw new BundleLoadError(`method ${clipId(id)} names provider ${String(spec.provider).slice(0, 64)}, which the bundle does not record`);
    }
  }
}

/** The registry at the workspace root: the source of truth for each integration's class and lifecycle. */
export const REGISTRY_FILE = 'integrations/manifest.json';

/** How far each lifecycle stage restricts an integration: a later stage restricts more. */
const LIFECYCLE_RANK: Record<Lifecycle, number> = { active: 0, maintenance: 1, deprecated: 2, end_of_support: 3 };

/**
 * Checks each integration the bundle records against the registry (`integrations/manifest.json`)
 * of the runtime's workspace: the same module and export, and a classification, modes, partner
 * tier and lifecycle no looser than the registry's. Stricter is allowed (`read_only` instead of
 * `outbound`, fewer modes, a lower tier, a later lifecycle stage); looser is not (a bundle built
 * when an integration was `active` does not load once the registry says `end_of_support`).
 * A bundle cannot widen what an integration may do by editing its own copy. Throws
 * BundleLoadError naming the provider and the field.
 */
export function verifyRegistry(bundle: Bundle, files: WorkspaceFiles): void {
  const read = files.read(REGISTRY_FILE);
  if (!read.ok) throw new BundleLoadError(`the registry ${REGISTRY_FILE} cannot be read: ${describeReadFailure(read)}`);
  let entries: unknown;
  try {
    entries = (JSON.parse(read.text) as { integrations?: unknown }).integrations;
  } catch {
    throw new BundleLoadError(`the registry ${REGISTRY_FILE} is not valid JSON`);
  }
  if (!Array.isArray(entries)) throw new BundleLoadError(`the registry ${REGISTRY_FILE} has no \`integrations\` list`);
  const registry = new Map<string, Record<string, unknown>>();
  for (const entry of entries as unknown[]) {
    if (typeof entry === 'object' && entry !== null && typeof (entry as { provider?: unknown }).provider === 'string') {
      registry.set((entry as { provider: string }).provider, entry as Record<string, unknown>);
    }
  }
  for (const [provider, recorded] of Object.entries(bundle.integrations)) {
    const entry = registry.get(provider);
    const differs = (field: string) => new BundleLoadError(`integration ${provider.slice(0, 64)}: \`${field}\` in the bundle differs from ${REGISTRY_FILE}; rebuild the bundle`);
    if (!entry) throw new BundleLoadError(`integration ${provider.slice(0, 64)} of the bundle is not in ${REGISTRY_FILE}`);
    if (entry['module'] !== recorded.module) throw differs('module');
    if ((entry['export'] ?? 'default') !== recorded.export) throw differs('export');
    // Stricter than the registry is allowed; looser is not. `read_only` is the strictest class.
    if (entry['classification'] !== recorded.classification && recorded.classification !== 'read_only') throw differs('classification');
    const modes = Array.isArray(entry['modes']) ? (entry['modes'] as unknown[]) : [];
    if (!recorded.modes.every((mode) => modes.includes(mode))) throw differs('modes');
    // A lower partner tier may do less; no tier (first party) is the loosest.
    const tier = entry['tier'] ?? null;
    if (tier !== null && (recorded.tier === null || typeof tier !== 'number' || recorded.tier > tier)) throw differs('tier');
    const registered = LIFECYCLE_RANK[entry['lifecycle'] as Lifecycle];
    const bundled = LIFECYCLE_RANK[recorded.lifecycle];
    if (registered === undefined || bundled === undefined || bundled < registered) throw differs('lifecycle');
  }
}

function jsonOf(value: unknown): string {
  return value === undefined ? 'undefined' : canonicalJson(value);
}

function clipId(id: string): string {
  return id.length > 200 ? `${id.slice(0, 200)}…` : id;
}
