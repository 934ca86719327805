// One process of the refresh race: opens the store at argv[2], waits until the file argv[5]
// exists (so every process starts its calls together), then makes argv[4] concurrent credential
// reads through RefreshingVault against the issuer argv[3]. Prints the distinct tokens it got.
import { existsSync } from 'node:fs';
import { oauthClients, RefreshingVault } from '../../src/oauth/index.ts';
import { openStore } from '../../src/state/open.ts';
import { CredentialVault } from '../../src/state/vault.ts';

const [, , location, configJson, calls, startFile] = process.argv as [string, string, string, string, string, string];
const store = await openStore(location, process.cwd());
const vault = new CredentialVault(store, Buffer.from(process.env.BOTC_SECRET_KEY!, 'hex'));
const source = new RefreshingVault({ store, vault, client: oauthClients(JSON.parse(configJson), process.env), poll_ms: 10 });
process.stdout.write('ready\n');
while (!existsSync(startFile)) await new Promise((done) => setTimeout(done, 5));
const results = await Promise.allSettled(Array.from({ length: Number(calls) }, () => source.get('acme', 'github')));
const tokens = new Set(results.map((r) => (r.status === 'fulfilled' ? r.value?.secret ?? 'none' : `error: ${String(r.reason)}`)));
await store.close();
process.stdout.write(`${JSON.stringify([...tokens])}\n`);
