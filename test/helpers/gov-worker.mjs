// One runtime in a process of its own, for the multi-process governance tests
// (test/gov-processes.test.ts). Plain ESM over lib/ (`npm run build:lib`), like bench/load-worker.mjs.
//
// The parent sends a job first: {lib, root, bundlePath, keyHex, baseUrl}; the worker loads the
// runtime's modules and answers {type: 'ready'}. Then it serves requests, concurrently, each
// answered with {id, type: 'result', result}:
//   {id, type: 'open', state}        opens its own connection to that store and loads the bundle
//                                    with the credentials of the store's vault (result: null)
//   {id, type: 'call', call}         runtime.callTool(call)
//   {id, type: 'confirm', request}   runtime.confirm(request)
//   {id, type: 'close'}              closes the runtime and its store (result: null)
// and exits on {type: 'exit'}.

import { pathToFileURL } from 'node:url';

const job = await new Promise((resolve) => process.once('message', resolve));
const lib = await import(pathToFileURL(job.lib).href);
let runtime;

async function handle(message) {
  switch (message.type) {
    case 'open': {
      const store = await lib.openStore(message.state, job.root);
      runtime = await lib.Runtime.load(job.bundlePath, {
        root: job.root,
        store,
        credentials: new lib.CredentialVault(store, Buffer.from(job.keyHex, 'hex')),
        providerConfig: { mailer: { base_url: `${job.baseUrl}/`, allow_private_network: true } },
      });
      return null;
    }
    case 'call':
      return runtime.callTool(message.call);
    case 'confirm':
      return runtime.confirm(message.request);
    case 'close':
      await runtime?.close();
      runtime = undefined;
      return null;
    default:
      throw new Error(`unknown request ${message.type}`);
  }
}

process.on('message', async (message) => {
  if (message.type === 'exit') {
    await runtime?.close();
    process.exit(0);
  }
  const result = await handle(message);
  process.send({ id: message.id, type: 'result', result });
});
process.send({ type: 'ready' });
