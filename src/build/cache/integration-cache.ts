import { compiledKey } from '../../load/compiled.ts';
import { pinnedFileDigest } from '../../load/modules.ts';
import type { Diagnostic } from '../../diagnostics/diagnostic.ts';
import type { IntegrationSet, LoadedIntegration, PendingIntegrations } from '../load/integration-set.ts';
import type { SourceWalk } from './build-cache.ts';
import { botcVersionTag, cacheKey, type BuildCache } from './cache.ts';

/**
 * What a build free of errors remembers of its integration stage (the registry, every module
 * loaded in the sandbox, every MethodSpec and schema checked): the resolved integration set,
 * the diagnostics (warnings) each half of the stage reported, the value the per-bot keys take
 * from the stage (`botShared`, the sha256 of what the modules declared and their pins), and what the stage's key cannot see: each module's file and
 * the local files it imports with their sha256, and the precompiled entries the runtime needs.
 */
export interface StoredIntegrations {
  set: StoredSet;
  /** Diagnostics of the load half (registry and modules) and of the resolve half (MethodSpecs). */
  diagnostics: { load: Diagnostic[]; resolve: Diagnostic[] };
  botShared: string;
  /** Workspace-relative files whose sha256 must still be the recorded one: modules and their local imports. */
  files: [string, string][];
  /** `compiled/` keys the stage stored or found: a missing one means the modules must be loaded again. */
  compiled: string[];
}

/** `IntegrationSet` as plain JSON (maps and sets as arrays of entries, in insertion order). */
interface StoredSet {
  registrySha256: string | null;
  providers: [string, LoadedIntegration][];
  methods: string[];
  unknowable: { all: boolean; providers: string[]; methods: string[] };
  declared: [string, { file: string; at: { line: number; column: number } }][];
}

/**
 * The integration stage taken whole from the cache. Its key is botc's version and the path,
 * kind and sha256 of every entry under `integrations/` (the registry, the modules and the
 * helpers beside them: the walk that made the whole-build key); a stored entry is used only
 * when every module file and every local file a module imports (wherever it lives in the
 * workspace) still has the recorded sha256 and every precompiled module entry is still there,
 * which is what the declarations lookup demands of each module (src/build/load/module-cache.ts).
 * Packages under `node_modules` are not in the key, as for the declarations.
 */
export class IntegrationStageCache {
  readonly key: string;

  constructor(
    private readonly cache: BuildCache,
    private readonly root: string,
    walk: SourceWalk,
  ) {
    this.key = cacheKey('integrations', botcVersionTag(), JSON.stringify(walk.sections.get('integrations') ?? []));
  }

  /** The stored stage with its set rebuilt, or undefined when anything it read has changed. */
  lookup(): { set: IntegrationSet; stored: StoredIntegrations } | undefined {
    const stored = this.cache.get<StoredIntegrations>('integrations', this.key);
    if (!isStored(stored)) return undefined;
    for (const [file, sha256] of stored.files) if (pinnedFileDigest(this.root, file) !== sha256) return undefined;
    for (const key of stored.compiled) if (!this.cache.has('compiled', key)) return undefined;
    const providers = new Map(stored.set.providers);
    const methods = new Map<string, LoadedIntegration['methods'][number]>();
    for (const provider of providers.values()) for (const spec of provider.methods) methods.set(spec.method_id, spec);
    // The order of `methods` is the order the stage set them in, kept in `set.methods`.
    const ordered = new Map(stored.set.methods.flatMap((id) => (methods.has(id) ? [[id, methods.get(id)!] as const] : [])));
    if (ordered.size !== methods.size) return undefined;
    const set: IntegrationSet = {
      registrySha256: stored.set.registrySha256 ?? undefined,
      providers,
      methods: ordered,
      unknowable: { all: stored.set.unknowable.all, providers: new Set(stored.set.unknowable.providers), methods: new Set(stored.set.unknowable.methods) },
      declared: new Map(stored.set.declared),
    };
    return { set, stored };
  }

  /** Remembers the stage of this build (written with the build's other entries, only when it is free of errors). */
  store(pending: PendingIntegrations, set: IntegrationSet, diagnostics: StoredIntegrations['diagnostics'], botShared: string): void {
    const files = new Map<string, string>();
    const compiled: string[] = [];
    for (const { loaded } of pending.modules) {
      files.set(loaded.file, loaded.sha256);
      for (const input of loaded.inputs) files.set(input.file, input.sha256);
      compiled.push(compiledKey(loaded.file, loaded.pin));
    }
    // A module whose precompiled entry was not stored (it reads `import.meta`) is never required to have one.
    const present = compiled.filter((key) => this.cache.has('compiled', key));
    const value: StoredIntegrations = {
      set: {
        registrySha256: set.registrySha256 ?? null,
        providers: [...set.providers],
        methods: [...set.methods.keys()],
        unknowable: { all: set.unknowable.all, providers: [...set.unknowable.providers], methods: [...set.unknowable.methods] },
        declared: [...set.declared],
      },
      diagnostics,
      botShared,
      files: [...files],
      compiled: present,
    };
    this.cache.put('integrations', this.key, value);
  }
}

/** A stored entry has the shape `StoredIntegrations` (an entry of the right format could still be hand-made). */
function isStored(value: unknown): value is StoredIntegrations {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<StoredIntegrations>;
  const pairs = (list: unknown) => Array.isArray(list) && list.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string');
  const diagnostics = (list: unknown) => Array.isArray(list) && list.every((d) => d !== null && typeof d === 'object' && typeof (d as Diagnostic).message === 'string' && typeof (d as Diagnostic).file === 'string');
  const set = v.set;
  return (
    set !== null &&
    typeof set === 'object' &&
    pairs(set.providers) &&
    Array.isArray(set.methods) &&
    pairs(set.declared) &&
    set.unknowable !== null &&
    typeof set.unknowable === 'object' &&
    Array.isArray(set.unknowable.providers) &&
    Array.isArray(set.unknowable.methods) &&
    set.providers.every(([, p]) => p !== null && typeof p === 'object' && Array.isArray(p.methods)) &&
    v.diagnostics !== null &&
    typeof v.diagnostics === 'object' &&
    diagnostics(v.diagnostics.load) &&
    diagnostics(v.diagnostics.resolve) &&
    typeof v.botShared === 'string' &&
    pairs(v.files) &&
    Array.isArray(v.compiled) &&
    v.compiled.every((k) => typeof k === 'string')
  );
}
