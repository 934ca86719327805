import type { Position } from '../../diagnostics/diagnostic.ts';
import type { PermissionType } from '../../governance/policy.ts';
import type { MethodSpec } from '../../integration/types.ts';
import type { PinnedFile } from '../../load/modules.ts';
import type { LineIndex } from '../../load/text.ts';
import type { RegistryEntry } from '../../schema/registry.ts';
import type { FileContext } from '../context.ts';
import type { SchemaChecker } from '../validate/schema-checker.ts';

/** The shapes the integration stages hand each other (load → validate → resolve). */
export const REGISTRY_FILE = 'integrations/manifest.json';

export interface LoadedIntegration {
  entry: RegistryEntry;
  /** Workspace-relative module path. */
  moduleFile: string;
  /** The module's pin: its sha256, or that of it and the local files it imports (`modulePin`). */
  sha256: string;
  /** sha256 of the module file alone. */
  moduleSha256: string;
  /** The workspace files the module imports, transitively, with their sha256 (sorted by path). */
  inputs: PinnedFile[];
  methods: MethodSpec[];
}

export interface IntegrationSet {
  registrySha256: string | undefined;
  providers: Map<string, LoadedIntegration>;
  methods: Map<string, MethodSpec>;
  /**
   * Providers whose methods cannot be known (registry or module broken). A tool that
   * names one of their methods is not also reported as `unknown-method`.
   */
  unknowable: { all: boolean; providers: Set<string>; methods: Set<string> };
  /** Where each declared method's id is written in its module, for diagnostics about it. */
  declared: Map<string, { file: string; at: Position }>;
}

/** The files and diagnostics the integration checks use. */
export type Context = FileContext;

/** The load stage of the integrations, up to the method checks: the registry and its modules, imported; schema checks under way. */
export interface PendingIntegrations {
  ctx: Context;
  set: IntegrationSet;
  modules: { entry: RegistryEntry; permissions: Set<PermissionType> | undefined; loaded: ModuleLoad; locate?: Located['locate'] }[];
  schemas: SchemaChecker;
}

/** A registry entry with a locator for its keys in integrations/manifest.json. */
export type Located = { entry: RegistryEntry; locate: (key?: string, ...path: (string | number)[]) => Position };

/** A module, read and imported in the sandbox: its source, digest and declared MethodSpecs. */
export interface ModuleLoad {
  file: string;
  source: string;
  /** Line index of `source`, built on first use and shared by all its methods. */
  lines: LineIndex;
  sha256: string;
  specs: unknown[];
  /** The keys of the integration's handlers(), when it has one (the base class); else null. */
  handlers: string[] | null;
  /** The workspace files the module imports, transitively, each with its sha256. */
  inputs: PinnedFile[];
  /** The module's pin, over it and `inputs` (`modulePin`). */
  pin: string;
}

export type ModuleRead = Omit<ModuleLoad, 'specs' | 'handlers' | 'inputs' | 'pin'>;
