import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Diagnostics } from './diagnostics/diagnostic.ts';
import { didYouMean, listNames } from './diagnostics/hints.ts';
import { WorkspaceFiles, describeReadFailure } from './load/files.ts';
import { parseJson } from './load/json.ts';
import { clip, issueMessage, nameSchema } from './schema/common.ts';
import type { Diagnostic } from './diagnostics/diagnostic.ts';
import { escapeForTerminal } from './load/unicode.ts';
import { CONFIG_FILE } from './config-providers.ts';

// The file name and the provider settings are read by runtime commands without this module's
// schema (zod): see src/runtime/workspace-config.ts.
export { CONFIG_FILE, providerConfig } from './config-providers.ts';

const retryPolicySchema = z.strictObject({
  max_attempts: z.number().int().min(1).max(10),
  backoff_ms: z.number().int().min(0).max(60_000),
  max_backoff_ms: z.number().int().min(0).max(300_000),
});

const endpoint = z.url({ protocol: /^https?$/ });

/**
 * `providers.<provider>.oauth`: where the provider's authorization server is (an `issuer` for
 * discovery, or its endpoints), the registered client id, the scopes to ask for, and the port
 * of the loopback redirect `http://127.0.0.1:<redirect_port>/callback`. Never the client secret.
 * See docs/oauth-and-automations.md.
 */
export const oauthConfigSchema = z
  .strictObject({
    issuer: endpoint.optional(),
    authorization_endpoint: endpoint.optional(),
    token_endpoint: endpoint.optional(),
    revocation_endpoint: endpoint.optional(),
    client_id: z.string().min(1),
    scopes: z.array(z.string().min(1).regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'a scope is printable ASCII without spaces, `"` or `\\`')).default([]),
    redirect_port: z.number().int().min(1).max(65535),
  })
  .refine(
    (o) => (o.issuer !== undefined) !== (o.authorization_endpoint !== undefined || o.token_endpoint !== undefined),
    'give either `issuer` (discovery) or `authorization_endpoint` and `token_endpoint`, not both',
  )
  .refine((o) => o.issuer !== undefined || (o.authorization_endpoint !== undefined && o.token_endpoint !== undefined), 'without `issuer`, both `authorization_endpoint` and `token_endpoint` are needed');

export type OAuthConfig = z.infer<typeof oauthConfigSchema>;

/** botc.config.json: optional workspace settings (README, Workspace layout). */
export const configSchema = z.strictObject({
  $schema: z.string().optional(),
  /**
   * Default output folder of `botc build`: a folder inside the workspace, relative to its root.
   * Only the command line (`--out`) may send bundles elsewhere: a workspace under review must
   * not choose where its build writes, or which folder's bundles a full build prunes.
   */
  out: z.string().min(1).refine(isInsideWorkspace, 'must be a relative path to a folder inside the workspace (use --out to write elsewhere)').optional(),
  /** Per-provider runtime configuration (never secrets): `{"github": {"base_url": "..."}}`. */
  providers: z.record(nameSchema, z.object({ oauth: oauthConfigSchema.optional() }).catchall(z.union([z.string(), z.number(), z.boolean()]))).optional(),
  runtime: z
    .strictObject({
      timeout_ms: z.number().int().min(1).max(300_000).optional(),
      retry_policy: retryPolicySchema.optional(),
      /** Lets any person of the tenant approve a write whose call names no approver (RuntimeOptions.any_approver). */
      any_approver: z.boolean().optional(),
    })
    .optional(),
});

function isInsideWorkspace(value: string): boolean {
  if (value.includes('\0') || value.includes('\\') || path.posix.isAbsolute(value) || path.win32.isAbsolute(value)) return false;
  const normalized = path.posix.normalize(value);
  return normalized !== '.' && normalized !== './' && normalized !== '..' && !normalized.startsWith('../');
}

export type WorkspaceConfig = z.infer<typeof configSchema>;

/**
 * botc.config.json is broken. `diagnostic` locates the mistake (`json-syntax` or
 * `config-invalid`), so
 * `check` and `build` report it like any other diagnostic; other commands stop with it.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly diagnostic: Diagnostic) {
    // The message quotes the file, so it is made terminal-safe here.
    super(escapeForTerminal(`${diagnostic.file}${diagnostic.line === undefined ? '' : `:${diagnostic.line}:${diagnostic.column ?? 1}`}: ${diagnostic.message}`));
  }
  /** How to fix it. */
  get hint(): string | undefined {
    return this.diagnostic.hint;
  }
}

function configProblem(code: 'config-invalid' | 'json-syntax' | 'file-encoding', message: string, hint: string, at?: { line: number; column: number }): ConfigError {
  return new ConfigError({ code, severity: 'error', message, file: CONFIG_FILE, ...(at ? { line: at.line, column: at.column } : {}), hint });
}

/** Reads botc.config.json when present; a broken config is an error the caller reports. */
export function readConfig(root: string): WorkspaceConfig {
  const files = new WorkspaceFiles(root);
  if (!existsSync(files.absolute(CONFIG_FILE))) return {}; // most workspaces have none: open only what is there
  const read = files.read(CONFIG_FILE);
  if (!read.ok) {
    if (read.kind === 'missing') return {};
    if (read.kind === 'encoding') throw configProblem('file-encoding', `${CONFIG_FILE} cannot be read: ${describeReadFailure(read)}`, `save ${CONFIG_FILE} as UTF-8`, read.at);
    throw configProblem('config-invalid', `${CONFIG_FILE} cannot be read: ${describeReadFailure(read)}`, `make ${CONFIG_FILE} a regular file inside the workspace`);
  }
  return parseConfig(read.text);
}

/** botc.config.json's text, parsed and checked as `readConfig` does. Throws ConfigError. */
export function parseConfig(text: string): WorkspaceConfig {
  const parsed = parseJson(text);
  if (!parsed.ok) throw configProblem('json-syntax', `${CONFIG_FILE} is not valid JSON: ${parsed.message}`, 'fix the JSON syntax at this place', parsed.at);
  const result = configSchema.safeParse(parsed.document.value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const at = parsed.document.locate(issue.path.filter((p): p is string | number => typeof p !== 'symbol'));
    const what = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((k) => `\`${clip(k)}\``).join(', ')}` : issueMessage(issue, { value: parsed.document.value });
    throw configProblem(
      'config-invalid',
      `${issue.path.join('.') || 'the config'}: ${what}`,
      'the settings are `out`, `providers` and `runtime` (see the README, `botc.config.json`)',
      at,
    );
  }
  return result.data;
}

/**
 * Every provider named under `providers` in botc.config.json must be registered: a misspelt
 * provider name would otherwise leave the real provider on its default (production) URL
 * without a word. Reported as `integration-unregistered` (the config names a provider the
 * registry does not register), located at the key, with "did you mean". A config that does
 * not read or parse is skipped here: the command line refuses it on its own.
 */
export function checkConfigProviders(files: WorkspaceFiles, diagnostics: Diagnostics, registered: ReadonlySet<string>): void {
  if (!existsSync(files.absolute(CONFIG_FILE))) return; // most workspaces have none; do not open what is not there
  const read = files.read(CONFIG_FILE);
  if (!read.ok) return;
  const parsed = parseJson(read.text);
  if (!parsed.ok) return;
  const value = parsed.document.value as { providers?: unknown } | null;
  const providers = value !== null && typeof value === 'object' ? value.providers : undefined;
  if (providers === null || typeof providers !== 'object' || Array.isArray(providers)) return;
  for (const name of Object.keys(providers)) {
    if (registered.has(name)) continue;
    diagnostics.add(
      'integration-unregistered',
      { file: CONFIG_FILE, at: parsed.document.locate(['providers'], name) },
      { variant: 'config-provider', name: clip(name), suggestion: didYouMean(name, registered) ?? `registered providers: ${listNames([...registered].sort())}` },
    );
  }
}
