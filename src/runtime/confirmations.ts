import { randomBytes } from 'node:crypto';
import type { Bundle } from '../bundle/format.ts';
import type { ErrorCode } from '../integration/types.ts';
import { ANY_APPROVER, type Confirmation } from '../state/types.ts';

/**
 * A new confirmation's secret token and its public id. The token authorizes a host to confirm
 * (only its sha256 is stored); the id (`conf_` and 32 hex digits) names the confirmation to
 * people and tools with access to the store, and authorizes nothing by itself.
 */
export function newConfirmationNames(): { token: string; id: string } {
  // A prefix names what the token is, and keeps it from starting with `-` on a command line.
  return { token: `botc_confirm_${randomBytes(32).toString('base64url')}`, id: `conf_${randomBytes(16).toString('hex')}` };
}

/** The longest approver name a call may carry. */
const APPROVER_MAX = 200;

/**
 * Who must approve a write that `approver` (the call's `approver`, maybe absent) proposes, or why
 * the call cannot name it. A call names one person; "any person of the tenant" is only ever the
 * deployment's setting (`anyApprover`), never something a call can ask for: `*`, a name holding
 * `*`, blank or control characters is refused, and without a named approver the write needs the
 * deployment setting.
 */
export function approverFor(approver: unknown, anyApprover: boolean): { approver: string } | { problem: string } {
  if (approver === undefined) {
    if (anyApprover) return { approver: ANY_APPROVER };
    return { problem: 'an outbound write needs the person who must approve it: name them in the call\'s `approver` (this deployment does not let any person approve)' };
  }
  if (typeof approver !== 'string' || approver.length === 0 || approver.length > APPROVER_MAX) {
    return { problem: `\`approver\` must name one person in 1 to ${APPROVER_MAX} characters` };
  }
  if (approver.includes(ANY_APPROVER)) {
    return { problem: '`approver` names one person; "any person may approve" is a deployment setting (RuntimeOptions.any_approver), not a call argument' };
  }
  if (approver.trim() !== approver || /[\u0000-\u001f\u007f-\u009f]/.test(approver)) {
    return { problem: '`approver` must not have surrounding blanks or control characters' };
  }
  return { approver };
}

/**
 * Why a confirmation may not run with this bundle, or undefined: a confirmation runs only
 * through the bot and the exact bundle (digest) that proposed it, so a token cannot be carried
 * to another bot whose experts and tools happen to have the same names, nor to a rebuilt bundle
 * whose rules may differ from the ones the person saw.
 */
export function bindingProblem(stored: Confirmation, bundle: Bundle): { code: ErrorCode; message: string } | undefined {
  if (stored.bot === '' || stored.bundle_digest === '') {
    return { code: 'CONFLICT', message: 'the confirmation records no bundle (it predates bundle binding); propose the write again' };
  }
  if (stored.bot !== bundle.bot.id) {
    return { code: 'AUTH_FORBIDDEN', message: `the confirmation was proposed through bot \`${stored.bot}\`; only that bot's bundle may confirm it` };
  }
  if (stored.bundle_digest !== bundle.digest) {
    const where = stored.bundle_path ? ` (${stored.bundle_path})` : '';
    return {
      code: 'CONFLICT',
      message: `the confirmation was proposed with bundle ${stored.bundle_digest.slice(0, 12)}${where}, not this one (${bundle.digest.slice(0, 12)}); confirm it with that bundle or propose the write again`,
    };
  }
  return undefined;
}

/** What the audit entries of a confirmation name: which confirmation, through which bot and bundle. */
export function bindingDetail(stored: Pick<Confirmation, 'id' | 'bot' | 'bundle_digest'>): Record<string, unknown> {
  return { confirmation_id: stored.id || null, bot: stored.bot || null, bundle_digest: stored.bundle_digest || null };
}
