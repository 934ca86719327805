import type { BuildContext } from '../context.ts';
import { checkInboundDeclarations, PayloadChecks } from '../validate/inbound.ts';
import { checkRenamedProvider } from '../validate/provider-rename.ts';
import { checkModes, checkPermissions } from '../validate/registry-entry.ts';
import { SchemaChecker } from '../validate/schema-checker.ts';
import { REGISTRY_FILE, type Context, type IntegrationSet, type PendingIntegrations } from './integration-set.ts';
import { interpretReport, readModule } from './module.ts';
import { inspectWithCache } from './module-cache.ts';
import { checkUnregisteredFolders, readRegistry } from './registry.ts';

export { REGISTRY_FILE, type IntegrationSet, type LoadedIntegration, type PendingIntegrations } from './integration-set.ts';

/**
 * The load stage of the integrations: the registry and its modules. Every method schema goes to
 * the schema checker now, which compiles them off the main thread while the caller loads the
 * bots; `resolveIntegrations` then checks each MethodSpec with the answers.
 */
export async function loadIntegrations(build: BuildContext): Promise<PendingIntegrations> {
  const { files, diagnostics, cache } = build;
  const children = build.entries.integrationChildren;
  const set: IntegrationSet = {
    registrySha256: undefined,
    providers: new Map(),
    methods: new Map(),
    unknowable: { all: false, providers: new Set(), methods: new Set() },
    declared: new Map(),
  };
  const ctx: Context = { files, diagnostics };
  const pending: PendingIntegrations = { ctx, set, modules: [], schemas: new SchemaChecker(cache) };
  // A throw from here on must not leave the schema worker running (it would keep the process alive).
  try {
    const entries = readRegistry(ctx, set, children);
    if (!entries) {
      set.unknowable.all = true;
      return pending;
    }
    if (entries.length > 0) pending.schemas.prestart();
    checkUnregisteredFolders(ctx, entries.map((e) => e.entry), children);
    const payloads = new PayloadChecks(cache);
    const prepared = entries.map(({ entry, locate }) => {
      checkModes(ctx, entry, locate);
      checkInboundDeclarations(ctx.diagnostics, REGISTRY_FILE, entry, locate, payloads);
      const permissions = checkPermissions(ctx, entry, locate);
      return { entry, locate, permissions, read: readModule(ctx, entry, locate) };
    });
    // Webhook payload schemas are checked on the schema worker while the modules load.
    const payloadsChecked = payloads.settle(pending.schemas);
    // Every module's top-level code runs in one sandboxed child process (docs/security.md).
    const readable = prepared.filter((p) => p.read !== undefined);
    const requests = readable.map(({ entry, read }) => ({ file: files.absolute(read!.file), source: read!.source, exportName: entry.export ?? 'default', provider: entry.provider }));
    const reports = await inspectWithCache(files.root, requests, readable.map((p) => p.read!.sha256), cache);
    await payloadsChecked;
    const byEntry = new Map(readable.map((p, i) => [p, reports[i]!]));
    for (const item of prepared) {
      const report = byEntry.get(item);
      const loaded = item.read && report ? interpretReport(ctx, item.entry, item.locate, item.read, report) : undefined;
      if (!loaded) {
        set.unknowable.providers.add(item.entry.provider);
        continue;
      }
      const renamed = checkRenamedProvider(diagnostics, REGISTRY_FILE, item.entry, item.locate('provider'), loaded.specs);
      if (renamed !== undefined) {
        set.unknowable.providers.add(item.entry.provider).add(renamed);
        continue;
      }
      pending.schemas.submit(loaded.specs.flatMap((raw) => (raw !== null && typeof raw === 'object' ? [(raw as Record<string, unknown>)['input_schema'], (raw as Record<string, unknown>)['output_schema']] : [])));
      pending.modules.push({ entry: item.entry, permissions: item.permissions, loaded, locate: item.locate });
    }
  } catch (error) {
    pending.schemas.close();
    throw error;
  }
  return pending;
}
