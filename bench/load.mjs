#!/usr/bin/env node
// botc load test (`npm run load`), issue 4: N concurrent worker processes make `calls` tool
// calls against one SQLite store and one PostgreSQL store; afterwards the audit chains must
// verify and no call may be lost or doubled (see bench/load-core.mjs for the checks).
//
// Flags: --calls N (10000) --workers N (8) --concurrency N (4 calls in flight per worker)
//        --tenants N (4) --store sqlite|postgres|both (both) --pg URL (BOTC_TEST_PG_URL)
//        --keep (keep the SQLite file / PostgreSQL schema) --json (print the reports as JSON)
// Exit status: 0 when every check holds, 1 otherwise.

import { DEFAULTS, formatTable, runLoad } from './load-core.mjs';

function parseArgs(argv) {
  const options = { ...DEFAULTS, store: 'both', pg: process.env.BOTC_TEST_PG_URL, keep: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const name = arg.replace(/^--/, '');
    if (arg === '--keep' || arg === '--json') options[name] = true;
    else if (arg === '--store' || arg === '--pg') options[name] = argv[++i];
    else if (['--calls', '--workers', '--concurrency', '--tenants'].includes(arg)) {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) usage(`${arg} needs a positive integer`);
      options[name] = value;
    } else usage(`unknown flag ${arg}`);
  }
  if (!['sqlite', 'postgres', 'both'].includes(options.store)) usage('--store is sqlite, postgres or both');
  return options;
}

function usage(message) {
  console.error(`load: ${message}\nusage: node bench/load.mjs [--calls N] [--workers N] [--concurrency N] [--tenants N] [--store sqlite|postgres|both] [--pg URL] [--keep] [--json]`);
  process.exit(2);
}

const options = parseArgs(process.argv.slice(2));
const stores = options.store === 'both' ? ['sqlite', 'postgres'] : [options.store];
if (stores.includes('postgres') && !options.pg) usage('the PostgreSQL run needs --pg URL or BOTC_TEST_PG_URL (bash .ci/postgres.sh starts a server)');

const log = options.json ? () => {} : (line) => console.error(line);
const reports = [];
for (const store of stores) {
  reports.push(
    await runLoad({
      store, pgUrl: options.pg, calls: options.calls, workers: options.workers, concurrency: options.concurrency,
      tenants: options.tenants, keep: options.keep, log,
    }),
  );
}

if (options.json) {
  console.log(JSON.stringify(reports, null, 2));
} else {
  console.log(formatTable(reports));
  for (const r of reports) {
    console.log(`${r.store}: ${r.ok ? 'ok' : 'FAILED'} — ${r.call_entries} call entries, ${r.distinct_traces} distinct trace ids (${r.missing_traces} missing, ${r.doubled_traces} doubled), ${r.idempotency_records} idempotency records (${r.idempotency_rows} rows), ${r.worker_ok}/${r.calls} results ok, max latency ${r.max_ms} ms`);
    for (const problem of r.problems) console.log(`  ! ${problem}`);
  }
}
process.exit(reports.every((r) => r.ok) ? 0 : 1);
