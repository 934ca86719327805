// One process of the refresh race (compiled lib/: run `npm run build:lib` first): opens the
// store at argv[2], waits until the file argv[5] exists (so every process starts its calls
// together), then makes argv[4] concurrent credential reads through RefreshingVault with the
// config argv[3]. Prints `ready`, then the distinct access tokens it got as a JSON array.
import { existsSync } from 'node:fs';
import { oauthClients, RefreshingVault } from '../../lib/oauth/index.js';
import { openStore } from '../../lib/state/open.js';
import { CredentialVault } from '../../lib/state/vault.js';

const [, , location, configJson, calls, startFile] = process.argv;
const store = await openStore(location, process.cwd());
const vault = new CredentialVault(store, Buffer.from(process.env.BOTC_SECRET_KEY, 'hex'));
const source = new RefreshingVault({ store, vault, client: oauthClients(JSON.parse(configJson), process.env), poll_ms: 10 });
process.stdout.write('ready\n');
while (!existsSync(startFile)) await new Promise((done) => setTimeout(done, 5));
const results = await Promise.allSettled(Array.from({ length: Number(calls) }, () => source.get('acme', 'github')));
const tokens = new Set(results.map((r) => (r.status === 'fulfilled' ? (r.value?.secret ?? 'none') : `error: ${String(r.reason)}`)));
await store.close();
process.stdout.write(`${JSON.stringify([...tokens])}\n`);
