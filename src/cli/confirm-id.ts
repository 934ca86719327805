import path from 'node:path';
import { parseArgs } from 'node:util';
import { readBundle } from '../runtime/bundle-schema.ts';
import { bundleToApprove, confirmationView, rejectConfirmation } from '../runtime/confirmations.ts';
import { CONFIRMATION_STATUSES } from '../state/types.ts';
import { withRuntime } from './call.ts';
import type { Io } from './io.ts';
import { enumOption, listFormat, printList, storeFor } from './state.ts';
import { UsageError } from './usage.ts';

/** The subcommands of `botc confirm` that act on a confirmation by its public id. */
export const CONFIRM_SUBCOMMANDS = ['list', 'approve', 'reject'] as const;

const COMMON = {
  root: { type: 'string' },
  state: { type: 'string' },
  tenant: { type: 'string' },
} as const;

const OPTIONS = {
  list: { ...COMMON, status: { type: 'string' }, format: { type: 'string', default: 'json' } },
  approve: { ...COMMON, approver: { type: 'string' }, credentials: { type: 'string' }, 'trace-id': { type: 'string' } },
  reject: { ...COMMON, approver: { type: 'string' }, reason: { type: 'string' }, 'trace-id': { type: 'string' } },
} as const;

function parse<S extends keyof typeof OPTIONS>(sub: S, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS[sub], allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, 'botc help confirm lists the options');
  }
}

/**
 * `botc confirm list|approve|reject`: a person with access to the state store acts on a
 * confirmation by its public id (`conf_…`), without the token. `list` prints what each one
 * would send (never the token); `approve` executes one with the bundle file it recorded,
 * refused when that file's digest changed; `reject` refuses it for good. Every decision and
 * every refused decision is audited. Exit 0 when the decision took effect, 1 when it was
 * refused (the result says why), 2 on bad usage.
 */
export async function runConfirmById(sub: (typeof CONFIRM_SUBCOMMANDS)[number], argv: string[], io: Io): Promise<number> {
  if (sub === 'list') {
    const { values, positionals } = parse('list', argv);
    if (positionals.length > 0) throw new UsageError('botc confirm list takes no ids', 'filter with --tenant or --status');
    const format = listFormat(values.format);
    const status = enumOption('status', values.status, CONFIRMATION_STATUSES);
    const store = await storeFor(values, io);
    try {
      const now = Date.now();
      const rows = await store.listConfirmations({ now, ...(values.tenant !== undefined ? { tenant: values.tenant } : {}), ...(status ? { status } : {}) });
      printList(io, format, rows.map((row) => confirmationView(row, now)));
      return 0;
    } finally {
      await store.close();
    }
  }
  const { values, positionals } = parse(sub, argv);
  if (positionals.length !== 1) throw new UsageError(`botc confirm ${sub} takes one confirmation id`, `botc confirm ${sub} conf_... --approver NAME (botc confirm list shows the ids)`);
  const id = positionals[0]!;
  const approver = values.approver ?? io.env.USER;
  if (!approver) throw new UsageError(`--approver names the person who ${sub === 'approve' ? 'approves' : 'rejects'} the request`);
  const tenant = values.tenant ?? 'default';
  const traceId = values['trace-id'];
  const request = { id, tenant, approver, ...(traceId ? { trace_id: traceId } : {}) };
  if (sub === 'reject') {
    const reason = (values as { reason?: string }).reason;
    const store = await storeFor(values, io);
    try {
      return print(io, await rejectConfirmation(store, { ...request, ...(reason !== undefined ? { reason } : {}) }, Date.now()));
    } finally {
      await store.close();
    }
  }
  // The bundle file the confirmation recorded, if it still has the recorded digest; else the
  // audited refusal. The runtime then loads that file and checks everything again.
  const store = await storeFor(values, io);
  let target;
  try {
    target = await bundleToApprove(store, request, (file) => readBundle(file).digest);
  } finally {
    await store.close();
  }
  if ('refused' in target) return print(io, target.refused);
  const bundlePath = path.resolve(target.bundle_path);
  const { root, state, credentials } = values as { root?: string; state?: string; credentials?: string };
  return withRuntime(bundlePath, { root, state, credentials, tenant }, io, async (runtime) => print(io, await runtime.confirmById(request)));
}

function print(io: Io, result: { ok: boolean }): number {
  io.stdout(`${JSON.stringify(result, null, 2)}\n`);
  return result.ok ? 0 : 1;
}
