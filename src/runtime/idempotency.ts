import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJson, sha256 } from '../bundle/canonical.ts';
import type { IntegrationResult } from '../integration/types.ts';
import { newId } from '../state/sql-store.ts';
import type { IdempotencyState, StateStore } from '../state/types.ts';
import { elapsed } from './executor.ts';
import type { CallArgs } from './params.ts';
import { emptyMeta, errorResult } from './results.ts';

/** One call under an idempotency key: who, what, and the sha256 of its arguments. */
export interface KeyedCall {
  tenant: string;
  method_id: string;
  key: string;
  /** sha256 of the call's canonical arguments: one key never stands for two different calls. */
  args_sha256: string;
  /** `performance.now()` when the call started, for `meta.latency_ms`. */
  started: number;
}

/**
 * A call's idempotency record: its key, and the sha256 of its canonical arguments (params,
 * cursor, dry run), so that one key never stands for two different calls.
 */
export function keyedCall(tenant: string, args: CallArgs & { idempotency_key: string }, started: number): KeyedCall {
  const digest = sha256(canonicalJson({ params: args.params, cursor: args.cursor ?? null, dry_run: args.dry_run ?? false }));
  return { tenant, method_id: args.method_id, key: args.idempotency_key, args_sha256: digest, started };
}

/** How a keyed call settled: run here (`fresh`), or the outcome of another call with the key. */
interface Settled {
  digest: string;
  result: IntegrationResult;
  fresh: boolean;
}

/** The first wait between two reads of a key another process is running, then doubled up to the cap. */
const POLL_FIRST_MS = 10;
const POLL_CAP_MS = 200;

/**
 * Runs each idempotency key at most once, across processes and machines, through the store:
 *
 * 1. the key is claimed before anything is sent (one `in_flight` row per key, inserted only when
 *    absent, so of any number of concurrent callers exactly one runs);
 * 2. the caller that holds the claim runs the call and records its outcome (`done`), or gives the
 *    claim up when the outcome says nothing happened and the call may be tried again (a retriable
 *    failure, a write still waiting for confirmation);
 * 3. a caller that finds the outcome replays it (`meta.idempotent_replay`), or IDEMPOTENCY_CONFLICT
 *    when its arguments differ; one that finds a claim in flight waits for the outcome;
 * 4. a claim whose outcome never comes within `leaseMs` (its process stopped between the claim and
 *    the result) is reported as IDEMPOTENCY_CONFLICT with `meta.idempotency.state =
 *    "outcome_unknown"`, not retriable: whether the call reached the provider is unknown, and
 *    nothing runs it again behind anyone's back.
 *
 * Within one process, concurrent calls with one key share the first one's run without asking the
 * store.
 */
export class IdempotencyGate {
  private readonly inFlight = new Map<string, Promise<Settled>>();

  /**
   * @param store where claims and outcomes live
   * @param now the clock of claims (ms since the epoch)
   * @param leaseMs the longest a call may take (all attempts, backoffs and the recording of its
   *   outcome); a claim older than this is taken as abandoned
   */
  constructor(
    private readonly store: StateStore,
    private readonly now: () => number,
    private readonly leaseMs: number,
  ) {}

  /**
   * Runs `perform` unless the key already ran (or runs); returns this caller's answer. With
   * `claim: false` (a call that sends nothing, such as proposing a write for confirmation) the
   * key is only looked up: an outcome is replayed and a call in flight waited for, but the call
   * neither claims the key nor stores its answer, so a crash during it leaves nothing behind.
   */
  async run(call: KeyedCall, perform: () => Promise<IntegrationResult>, options: { claim: boolean } = { claim: true }): Promise<IntegrationResult> {
    // A call that claims never joins one that only looks (a confirmed send must not take a
    // proposal's answer for its own); one that looks finds a claim through the store.
    const flightKey = canonicalJson([call.tenant, call.method_id, call.key, options.claim]);
    // Looking for a call in flight and joining it happen in one synchronous step, before any
    // await: concurrent calls of this process with one key wait for the first.
    const pending = this.inFlight.get(flightKey);
    if (pending) {
      const settled = await pending;
      return replay(settled, call);
    }
    const leader = this.settle(call, perform, options.claim);
    this.inFlight.set(flightKey, leader);
    try {
      const settled = await leader;
      return settled.fresh ? settled.result : replay(settled, call);
    } finally {
      this.inFlight.delete(flightKey);
    }
  }

  private async settle(call: KeyedCall, perform: () => Promise<IntegrationResult>, claiming: boolean): Promise<Settled> {
    const { tenant, method_id: methodId, key, args_sha256: digest } = call;
    let waitUntil: number | undefined;
    for (let pause = POLL_FIRST_MS; ; pause = Math.min(POLL_CAP_MS, pause * 2)) {
      let existing: IdempotencyState;
      if (claiming) {
        const claimId = newId('claim');
        const claim = await this.store.claimIdempotency(tenant, methodId, key, { args_sha256: digest, claim_id: claimId, claimed_at: this.now() });
        if (claim.claimed) return this.runClaimed(call, claimId, perform);
        existing = claim.existing;
      } else {
        const found = await this.store.readIdempotency(tenant, methodId, key);
        if (!found) return { digest, result: await perform(), fresh: true };
        existing = found;
      }
      if (existing.state === 'done') return { digest: existing.args_sha256, result: existing.result, fresh: false };
      // Another call holds the key. With other arguments it can never be ours: refuse at once.
      if (existing.args_sha256 !== digest) return { digest: existing.args_sha256, result: unknownOutcome(existing.claimed_at, call), fresh: false };
      // Wait for its outcome as long as its lease runs (in this process's own time).
      waitUntil ??= performance.now() + Math.max(0, existing.claimed_at + this.leaseMs - this.now());
      if (performance.now() >= waitUntil) return { digest, result: unknownOutcome(existing.claimed_at, call), fresh: false };
      await sleep(Math.min(pause, Math.max(1, waitUntil - performance.now())));
    }
  }

  private async runClaimed(call: KeyedCall, claimId: string, perform: () => Promise<IntegrationResult>): Promise<Settled> {
    const { tenant, method_id: methodId, key, args_sha256: digest } = call;
    // If perform throws, the claim stays in flight: whether the call got out is unknown, so it
    // is reported as such later, never run again.
    const result = await perform();
    if (definite(result)) {
      await this.store.completeIdempotency(tenant, methodId, key, claimId, { args_sha256: digest, result });
    } else {
      await this.store.releaseIdempotency(tenant, methodId, key, claimId);
    }
    return { digest, result, fresh: true };
  }
}

/**
 * Only definite outcomes are remembered: a retriable failure or a write still waiting for
 * confirmation may be tried again with the key.
 */
function definite(result: IntegrationResult): boolean {
  if (result.ok) return true;
  return !result.error.retriable && result.error.code !== 'CONFIRMATION_REQUIRED';
}

function replay(settled: Settled, call: KeyedCall): IntegrationResult {
  if (settled.digest !== call.args_sha256) {
    return errorResult('IDEMPOTENCY_CONFLICT', 'this idempotency key was already used with other arguments', emptyMeta('botc', null, elapsed(call.started)));
  }
  // A copy: what one caller does with its result never changes what the next replay returns.
  const copy = structuredClone(settled.result);
  if (copy.meta['idempotency'] === undefined) copy.meta['idempotent_replay'] = true;
  return copy;
}

/** The answer for a key whose call started and never recorded its outcome. */
function unknownOutcome(claimedAt: number, call: KeyedCall): IntegrationResult {
  const meta = emptyMeta('botc', null, elapsed(call.started));
  meta['idempotency'] = { state: 'outcome_unknown', claimed_at: new Date(claimedAt).toISOString() };
  return errorResult(
    'IDEMPOTENCY_CONFLICT',
    `a call with idempotency key \`${call.key.slice(0, 200)}\` started at ${new Date(claimedAt).toISOString()} and never recorded its outcome ` +
      '(its process may have stopped): it may or may not have reached the provider, and it is not run again. ' +
      'Check with the provider, then use a new key if it must happen.',
    meta,
  );
}
