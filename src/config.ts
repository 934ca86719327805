import { z } from 'zod';
import { WorkspaceFiles } from './load/files.ts';
import { parseJson } from './load/json.ts';
import { nameSchema } from './schema/common.ts';

export const CONFIG_FILE = 'botc.config.json';

const retryPolicySchema = z.strictObject({
  max_attempts: z.number().int().min(1).max(10),
  backoff_ms: z.number().int().min(0).max(60_000),
  max_backoff_ms: z.number().int().min(0).max(300_000),
});

/** botc.config.json: optional workspace settings (SPEC §1). */
export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Default output folder of `botc build`, relative to the workspace root. */
  out: z.string().min(1).optional(),
  /** Per-provider runtime configuration (never secrets): `{"github": {"base_url": "..."}}`. */
  providers: z.record(nameSchema, z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))).optional(),
  runtime: z
    .strictObject({
      timeout_ms: z.number().int().min(1).max(300_000).optional(),
      retry_policy: retryPolicySchema.optional(),
      /** Lets any person of the tenant approve a write whose call names no approver (RuntimeOptions.any_approver). */
      any_approver: z.boolean().optional(),
    })
    .optional(),
});

export type WorkspaceConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads botc.config.json when present; a broken config is an error the caller reports. */
export function readConfig(root: string): WorkspaceConfig {
  const files = new WorkspaceFiles(root);
  const read = files.read(CONFIG_FILE);
  if (!read.ok) {
    if (read.kind === 'missing') return {};
    throw new ConfigError(`${CONFIG_FILE} cannot be read (${read.kind})`);
  }
  const parsed = parseJson(read.text);
  if (!parsed.ok) throw new ConfigError(`${CONFIG_FILE}:${parsed.at.line}:${parsed.at.column}: ${parsed.message}`);
  const result = configSchema.safeParse(parsed.document.value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = parsed.document.locate(issue.path.filter((p): p is string | number => typeof p !== 'symbol'));
    throw new ConfigError(`${CONFIG_FILE}:${at.line}:${at.column}: ${issue.path.join('.') || 'config'}: ${issue.message}`);
  }
  return result.data;
}

/**
 * Provider configuration: botc.config.json `providers`, overridden by environment variables
 * `BOTC_PROVIDER_<PROVIDER>_<KEY>` (for example `BOTC_PROVIDER_GITHUB_BASE_URL`). When two
 * provider names share a prefix, the longer one wins.
 */
export function providerConfig(
  config: WorkspaceConfig,
  env: NodeJS.ProcessEnv,
  providers: readonly string[],
): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [provider, values] of Object.entries(config.providers ?? {})) out[provider] = { ...values };
  const byLength = [...providers].sort((a, b) => b.length - a.length);
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || !key.startsWith('BOTC_PROVIDER_')) continue;
    const provider = byLength.find((p) => key.startsWith(`BOTC_PROVIDER_${p.toUpperCase()}_`));
    if (!provider) continue;
    const setting = key.slice(`BOTC_PROVIDER_${provider.toUpperCase()}_`.length).toLowerCase();
    if (setting) (out[provider] ??= {})[setting] = value;
  }
  return out;
}
