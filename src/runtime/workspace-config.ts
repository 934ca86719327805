import { existsSync } from 'node:fs';
import type { WorkspaceConfig } from '../config.ts';
import { CONFIG_FILE, providerConfig } from '../config-providers.ts';
import type { RetryPolicy } from '../integration/types.ts';
import { sha256Hex } from '../load/cache-entry.ts';
import { WorkspaceFiles } from '../load/files.ts';
import { readVerdict, storeVerdict } from './verdicts.ts';

/** The runtime options botc.config.json can supply; the rest of RuntimeOptions it leaves alone. */
interface ConfigurableOptions {
  /** The workspace root whose botc.config.json is read. */
  root: string;
  providerConfig?: Record<string, Record<string, unknown>>;
  timeout_ms?: number;
  retry_policy?: RetryPolicy;
  any_approver?: boolean;
}

/**
 * botc.config.json of the workspace `root`, checked as `readConfig` (src/config.ts) checks it,
 * with the same result and the same ConfigError when it is broken; `{}` when there is none.
 * A text checked before, whose verdict and result are stored in the workspace's cache under
 * the user's key (verdicts.ts), is not parsed or checked again: the config's schema (zod) is
 * then not loaded. A checked text's verdict is stored.
 */
export async function loadWorkspaceConfig(root: string): Promise<WorkspaceConfig> {
  const files = new WorkspaceFiles(root);
  if (!existsSync(files.absolute(CONFIG_FILE))) return {}; // most workspaces have none: open only what is there
  const read = files.read(CONFIG_FILE);
  const textSha256 = read.ok ? sha256Hex(read.text) : undefined;
  if (textSha256 !== undefined) {
    const seen = checkedConfigs.get(`${root}\0${textSha256}`);
    if (seen) return structuredClone(seen);
    const verdict = readVerdict(root, 'config', textSha256);
    if (verdict && typeof verdict.result === 'object' && verdict.result !== null) return remember(root, textSha256, verdict.result as WorkspaceConfig);
  }
  const { parseConfig, readConfig } = await import('../config.ts');
  // A file that does not read is readConfig's to report (or to take as missing).
  if (!read.ok || textSha256 === undefined) return readConfig(root);
  const config = parseConfig(read.text);
  storeVerdict(root, 'config', textSha256, config);
  return remember(root, textSha256, config);
}

/**
 * Configs this process checked, by workspace and text: `botc call` reads the config, then
 * `Runtime.load` reads it again. Each caller gets its own copy (options are built from it).
 */
const checkedConfigs = new Map<string, WorkspaceConfig>();

function remember(root: string, textSha256: string, config: WorkspaceConfig): WorkspaceConfig {
  checkedConfigs.set(`${root}\0${textSha256}`, structuredClone(config));
  return config;
}

/**
 * Completes runtime options from the workspace's botc.config.json, the way `botc call` does,
 * so a runtime loaded by the library behaves like one the command line loads:
 * - `providerConfig`: the config's `providers` (without their `oauth` settings), overridden by
 *   `BOTC_PROVIDER_<PROVIDER>_<KEY>` variables of `env`, for the bundle's `providers`;
 * - `timeout_ms`, `retry_policy`, `any_approver`: the config's `runtime` settings.
 * An option the caller gives wins over the config. A workspace without botc.config.json
 * changes nothing. Throws ConfigError when botc.config.json is broken (its diagnostic locates
 * the mistake), as the command line does.
 */
export async function withWorkspaceConfig<O extends ConfigurableOptions>(options: O, providers: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<O> {
  const config = await loadWorkspaceConfig(options.root);
  const runtime = config.runtime ?? {};
  return {
    ...options,
    providerConfig: options.providerConfig ?? providerConfig(config, env, providers),
    ...(options.timeout_ms === undefined && runtime.timeout_ms !== undefined ? { timeout_ms: runtime.timeout_ms } : {}),
    ...(options.retry_policy === undefined && runtime.retry_policy !== undefined ? { retry_policy: runtime.retry_policy } : {}),
    ...(options.any_approver === undefined && runtime.any_approver !== undefined ? { any_approver: runtime.any_approver } : {}),
  };
}
