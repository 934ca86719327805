import { providerConfig, readConfig } from '../config.ts';
import type { RetryPolicy } from '../integration/types.ts';

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
 * Completes runtime options from the workspace's botc.config.json, the way `botc call` does,
 * so a runtime loaded by the library behaves like one the command line loads:
 * - `providerConfig`: the config's `providers` (without their `oauth` settings), overridden by
 *   `BOTC_PROVIDER_<PROVIDER>_<KEY>` variables of `env`, for the bundle's `providers`;
 * - `timeout_ms`, `retry_policy`, `any_approver`: the config's `runtime` settings.
 * An option the caller gives wins over the config. A workspace without botc.config.json
 * changes nothing. Throws ConfigError when botc.config.json is broken (its diagnostic locates
 * the mistake), as the command line does.
 */
export function withWorkspaceConfig<O extends ConfigurableOptions>(options: O, providers: readonly string[], env: NodeJS.ProcessEnv = process.env): O {
  const config = readConfig(options.root);
  const runtime = config.runtime ?? {};
  return {
    ...options,
    providerConfig: options.providerConfig ?? providerConfig(config, env, providers),
    ...(options.timeout_ms === undefined && runtime.timeout_ms !== undefined ? { timeout_ms: runtime.timeout_ms } : {}),
    ...(options.retry_policy === undefined && runtime.retry_policy !== undefined ? { retry_policy: runtime.retry_policy } : {}),
    ...(options.any_approver === undefined && runtime.any_approver !== undefined ? { any_approver: runtime.any_approver } : {}),
  };
}
