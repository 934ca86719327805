import { openStore } from '../state/open.ts';
import type { StateStore } from '../state/types.ts';
import type { Io } from './io.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

/**
 * Where the state store is: `--state`, else BOTC_STATE_URL (a relative SQLite path is relative
 * to the current folder), else `<root>/.botc/state.db`. Only the last needs a workspace; the
 * root is found (or refused) before anything is opened, so nothing is created outside one.
 */
export async function storeFor(values: { state?: string | undefined; root?: string | undefined }, io: Io): Promise<StateStore> {
  const cwd = io.cwd ?? process.cwd();
  const location = values.state ?? io.env.BOTC_STATE_URL;
  const root = location ? cwd : workspaceRoot(values.root, cwd);
  try {
    return await openStore(location, root);
  } catch (error) {
    // A wrong --state or BOTC_STATE_URL is the user's to fix. The URL's password is not shown.
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError(`the state store ${location ? redactUrl(location) : 'in the workspace'} cannot be opened (${reason})`, 'check --state or BOTC_STATE_URL (postgres://... or a SQLite file)');
  }
}

/**
 * With BOTC_SECRET_KEY set, proves it opens the tenant's stored credentials before a command uses
 * them, so a wrong key is a usage error (VaultKeyError, exit 2) rather than failed calls.
 */
export async function checkVaultKey(store: StateStore, env: NodeJS.ProcessEnv, tenant: string): Promise<void> {
  if (!env.BOTC_SECRET_KEY) return;
  const { CredentialVault, vaultKeyFromEnv } = await import('../state/vault.ts');
  await new CredentialVault(store, vaultKeyFromEnv(env)).checkKey(tenant);
}

function redactUrl(location: string): string {
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
