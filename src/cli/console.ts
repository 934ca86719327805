import { serve } from '@hono/node-server';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { providerConfig, readConfig } from '../config.ts';
import { ApprovedVersions } from '../console/approved.ts';
import { createConsoleApp } from '../console/app.ts';
import { ConsoleUsers } from '../console/users.ts';
import { readBundle } from '../runtime/bundle-schema.ts';
import { chainCredentials, credentialsFromEnv, type CredentialSource } from '../integration/credentials.ts';
import { Runtime } from '../runtime/runtime.ts';
import { CredentialVault, vaultKeyFromEnv } from '../state/vault.ts';
import type { Io } from './io.ts';
import { untilStopped } from './signals.ts';
import { storeFor } from './state.ts';
import { parseBind } from './serve.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

const DEFAULT_BIND = '127.0.0.1:8780';

/**
 * `botc console [--http HOST:PORT] [--root DIR] [--state URL]` serves the console until SIGINT
 * or SIGTERM; `botc console users add|list|remove` manages who may sign in.
 */
export async function runConsole(argv: string[], io: Io): Promise<number> {
  if (argv[0] === 'users') return runUsers(argv.slice(1), io);
  const { values, positionals } = parse(argv, { http: { type: 'string' }, root: { type: 'string' }, state: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`botc console takes no \`${positionals[0]!.slice(0, 40)}\``, 'botc console [--http HOST:PORT] [--root DIR] [--state URL], or botc console users add|list|remove');
  const cwd = io.cwd ?? process.cwd();
  const root = workspaceRoot(values.root, cwd);
  const config = readConfig(root);
  const bind = parseBind(values.http ?? DEFAULT_BIND);
  const tls = tlsFiles(io.env);
  const allowedHosts = hostsFor(bind.host, io.env.BOTC_CONSOLE_ALLOWED_HOSTS);
  const store = await storeFor({ state: values.state, root }, io);
  const app = createConsoleApp({
    store,
    users: ConsoleUsers.forRoot(root),
    approved: new ApprovedVersions(path.join(root, '.botc', 'console-approved.json')),
    bundlesDir: path.resolve(root, config.out ?? 'dist'),
    secure: tls !== undefined,
    allowedHosts,
    runtimeFor: async (bundlePath, runtimeStore, tenant) => {
      const bundle = readBundle(bundlePath);
      const sources: CredentialSource[] = [credentialsFromEnv(io.env, tenant)];
      if (io.env.BOTC_SECRET_KEY) sources.push(new CredentialVault(runtimeStore, vaultKeyFromEnv(io.env)));
      return Runtime.load(bundle, {
        root,
        store: runtimeStore,
        credentials: chainCredentials(...sources),
        // Provider settings follow this command's environment; Runtime.load reads the config's
        // `runtime` settings itself (withWorkspaceConfig).
        providerConfig: providerConfig(config, io.env, Object.keys(bundle.integrations)),
        bundle_path: bundlePath,
      });
    },
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({
      fetch: app.fetch,
      hostname: bind.host,
      port: bind.port,
      ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
    }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : bind.port;
  io.stderr(`botc: console at ${tls ? 'https' : 'http'}://${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${port}/\n`);
  await untilStopped();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await store.close();
  return 0;
}

async function runUsers(argv: string[], io: Io): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parse(rest, { tenant: { type: 'string' }, root: { type: 'string' } });
  const users = ConsoleUsers.forRoot(workspaceRoot(values.root, io.cwd ?? process.cwd()));
  if (action === 'list') {
    if (positionals.length > 0) throw new UsageError('botc console users list takes no name');
    io.stdout(`${JSON.stringify(users.list(values.tenant), null, 2)}\n`);
    return 0;
  }
  if (action !== 'add' && action !== 'remove') throw new UsageError(`botc console users ${action === undefined ? 'needs' : `has no \`${action.slice(0, 20)}\`, only`} add, list or remove`, 'botc console users add NAME --tenant T (secret on standard input)');
  if (positionals.length !== 1 || !values.tenant) throw new UsageError(`botc console users ${action} takes one NAME and --tenant T`);
  const name = positionals[0]!;
  if (action === 'remove') {
    if (!users.remove(name, values.tenant)) {
      io.stderr(`botc: no console user ${name} in tenant ${values.tenant}\n`);
      return 1;
    }
    io.stderr(`botc: removed ${name} of tenant ${values.tenant}\n`);
    return 0;
  }
  // The secret comes from standard input only: arguments are visible to every user of the machine.
  if (!io.stdin) throw new UsageError('the secret is read from standard input');
  const secret = (await io.stdin()).replace(/\r?\n$/, '');
  await users.add(name, values.tenant, secret);
  io.stderr(`botc: ${name} may sign in to tenant ${values.tenant}\n`);
  return 0;
}

type Options = NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;

function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, 'botc help console lists the options');
  }
}

/**
 * The Host names the console answers (a page reached under another name is a DNS rebinding
 * attempt): the loopback names for a loopback bind, else the bound address and
 * BOTC_CONSOLE_ALLOWED_HOSTS. A wildcard bind has no name of its own, so it needs the list.
 */
function hostsFor(host: string, extra: string | undefined): string[] {
  const listed = (extra ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  if (isLoopback(host)) return ['localhost', '127.0.0.1', '[::1]', ...listed];
  const own = host === '0.0.0.0' || host === '::' ? [] : [host.includes(':') ? `[${host}]` : host];
  if (own.length + listed.length === 0) throw new UsageError(`--http ${host} binds every address: set BOTC_CONSOLE_ALLOWED_HOSTS to the host names people use`);
  return [...own, ...listed];
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** BOTC_CONSOLE_TLS_CERT and BOTC_CONSOLE_TLS_KEY (PEM files): serve HTTPS, with Secure cookies. */
function tlsFiles(env: NodeJS.ProcessEnv): { cert: Buffer; key: Buffer } | undefined {
  const cert = env.BOTC_CONSOLE_TLS_CERT;
  const key = env.BOTC_CONSOLE_TLS_KEY;
  if (!cert && !key) return undefined;
  if (!cert || !key) throw new UsageError('set both BOTC_CONSOLE_TLS_CERT and BOTC_CONSOLE_TLS_KEY to serve over TLS');
  try {
    return { cert: readFileSync(cert), key: readFileSync(key) };
  } catch (error) {
    throw new UsageError(`the TLS files cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
