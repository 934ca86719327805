import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadAutomations, runAutomations, type LoadedAutomation, type Proposer } from '../automations/run.ts';
import type { StateStore } from '../state/types.ts';
import { withRuntime } from './call.ts';
import type { Io } from './io.ts';
import { storeFor } from './state.ts';
import { UsageError } from './usage.ts';
import { workspaceRoot } from './workspace.ts';

const OPTIONS = {
  once: { type: 'boolean', default: false },
  replay: { type: 'boolean', default: false },
  tenant: { type: 'string' },
  root: { type: 'string' },
  state: { type: 'string' },
  credentials: { type: 'string' },
  bundles: { type: 'string' },
} as const;

const USAGE = 'botc automations run [--once] [--replay] [--tenant T] [--bundles DIR] [--root DIR] [--state URL] [--credentials FILE]';

/** How often a long-running `botc automations run` looks for new events, in milliseconds. */
const TICK_MS = 2_000;

/**
 * `botc automations run`: turns each new internal event that an automation (`automations/*.json`)
 * matches into a pending confirmation, through the built bundle of the automation's bot
 * (`<DIR>/<bot>.bundle.json`, DIR default `<root>/dist`). Prints one JSON line per handled
 * event. Never confirms anything: a person approves each proposal (`botc confirm approve`).
 * `--once` makes one pass and exits (1 when a proposal failed or an automation cannot run);
 * otherwise it looks again every 2 seconds until SIGINT or SIGTERM.
 */
export async function runAutomationsCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'run') throw new UsageError(sub === undefined ? 'botc automations needs a subcommand' : `unknown subcommand \`automations ${sub.slice(0, 64)}\``, USAGE);
  let values;
  try {
    ({ values } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message, USAGE);
  }
  const cwd = io.cwd ?? process.cwd();
  const root = workspaceRoot(values.root, cwd);
  const automations = loadAutomations(root);
  if (automations.length === 0) throw new UsageError('the workspace has no automations', 'add automations/<name>.json (docs/oauth-and-automations.md)');
  const folder = path.resolve(cwd, values.bundles ?? path.join(root, 'dist'));
  const bots = [...new Set(automations.flatMap((a) => ('automation' in a ? [a.automation.propose.bot] : [])))]
    .filter((bot) => existsSync(path.join(folder, `${bot}.bundle.json`)));
  const runtimeValues = { root, tenant: values.tenant ?? 'default', state: values.state, credentials: values.credentials };
  const store = await storeFor({ ...values, root }, io);
  try {
    const proposers = new Map<string, Proposer>();
    // One runtime per bot, each loaded from its bundle file and kept open for the whole run.
    const open = async (index: number): Promise<number> => {
      if (index === bots.length) return loop(store, automations, proposers, values, io);
      return withRuntime(path.join(folder, `${bots[index]!}.bundle.json`), runtimeValues, io, async (runtime) => {
        proposers.set(bots[index]!, runtime);
        return open(index + 1);
      });
    };
    return await open(0);
  } finally {
    await store.close();
  }
}

async function loop(
  store: StateStore, automations: LoadedAutomation[], proposers: Map<string, Proposer>, values: { once: boolean; replay: boolean; tenant?: string | undefined }, io: Io,
): Promise<number> {
  let stopped = false;
  let wake: () => void = () => undefined;
  const stop = () => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let failed = false;
  let replay = values.replay;
  try {
    do {
      const reports = await runAutomations({ store, automations, proposers, replay, ...(values.tenant !== undefined ? { tenant: values.tenant } : {}) });
      // A replay reads everything once; later passes go on from the checkpoints.
      replay = false;
      for (const report of reports) {
        if (report.outcome === 'failed' || report.outcome === 'invalid') failed = true;
        io.stdout(`${JSON.stringify(report)}\n`);
      }
      if (!values.once && !stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, TICK_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } while (!values.once && !stopped);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return failed ? 1 : 0;
}
