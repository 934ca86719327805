import type { Bundle, BundleExpert } from '../bundle/format.ts';
import { expertFunctions, findExpert, type AgentFunction, type ToolStyle } from '../agents/functions.ts';
import { mapFunctionCall, type MappedCall } from '../agents/reverse.ts';
import type { IntegrationResult } from '../integration/types.ts';
import { govern } from '../runtime/governance.ts';
import { emptyMeta, errorResult } from '../runtime/results.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { forModel } from './result.ts';

/**
 * What every adapter needs to serve one expert of a loaded bundle to an agent runtime.
 * Wire-free: these are library options, not a file format.
 */
export interface AdapterOptions {
  /** The expert whose tools are served; may be omitted when the bot has exactly one. */
  expert?: string;
  /** The tenant every call runs for (credentials, audit, confirmations). Default `default`. */
  tenant?: string;
  /**
   * The person who approves outbound writes through the framework's approval step. The runtime
   * binds each confirmation to this name (only they may approve it, in-band or with `botc
   * confirm`) and the audit log records it as the approver. Required when the expert can propose
   * an outbound write, unless the runtime was loaded with `any_approver: true` (a deployment
   * setting): then any person of the tenant may approve, and in-band approvals are recorded as
   * `agent-host` (Agents SDK, AI SDK) or `mcp-client` (MCP elicitation).
   */
  approver?: string;
  /** `envelope` (one function per tool, `{op, args}`) or `methods` (one per method). Default `envelope`. */
  style?: ToolStyle;
}

/**
 * A refused adapter configuration: an unknown expert, or an expert that can propose outbound
 * writes with no `approver` on a runtime that does not let any person approve. Thrown when the
 * adapter is created, never during a call.
 */
export class AdapterError extends Error {
  override readonly name = 'AdapterError';
}

/** The extra function that hands a model the records of an import batch once a person reviewed them. */
export const IMPORTED_RECORDS_FUNCTION = 'imported_records';

/**
 * A pending confirmation as an adapter keeps it: the public id (which `runtime.confirmById`
 * takes) and what a person is shown. Never the token: an adapter confirms by id.
 */
export interface PendingConfirmation {
  /** The public, non-secret id (`conf_…`). */
  id: string;
  approver: string;
  expires_at: string;
  preview: unknown;
  preview_sha256: string;
}

/**
 * One expert of a loaded runtime as agent functions: maps what a model sent back to tool calls,
 * runs them with the expert, tenant and approver fixed by the host, and says which calls are
 * outbound writes that a person must approve. Shared by every adapter.
 */
export class ExpertBridge {
  readonly bundle: Bundle;
  readonly expert: BundleExpert;
  readonly style: ToolStyle;
  readonly tenant: string;
  /** The expert's functions, plus `imported_records` when the expert may import. */
  readonly functions: AgentFunction[];

  constructor(
    readonly runtime: Runtime,
    options: AdapterOptions,
    private readonly defaultApprover: string,
  ) {
    this.bundle = runtime.bundle;
    const expert = findExpert(this.bundle, options.expert);
    if (typeof expert === 'string') throw new AdapterError(expert);
    this.expert = expert;
    this.style = options.style ?? 'envelope';
    this.tenant = options.tenant ?? 'default';
    this.approverName = options.approver;
    this.functions = expertFunctions(this.bundle, expert, this.style);
    // Without a named approver every write would be refused by the runtime at its first call;
    // the host learns it now, with what to set, instead of the model learning it later.
    const writes = this.expertMethods().filter((id) => this.kindOf(id) === 'outbound_write');
    if (writes.length > 0 && options.approver === undefined && !runtime.anyApprover) {
      throw new AdapterError(
        `expert \`${expert.name}\` can propose outbound writes (${writes.slice(0, 3).join(', ')}${writes.length > 3 ? ', …' : ''}): name the person who approves them in \`approver\`, or load the runtime with \`any_approver: true\` to let any person of the tenant approve`,
      );
    }
    const imports = this.expertMethods().some((id) => this.kindOf(id) === 'import');
    if (imports && !this.functions.some((f) => f.name === IMPORTED_RECORDS_FUNCTION)) this.functions.push(importedRecordsFunction());
  }

  private readonly approverName: string | undefined;

  /** The name in-band approvals are confirmed as. */
  get approver(): string {
    return this.approverName ?? this.defaultApprover;
  }

  /** Maps a model's function call to a tool call (undoing strict-mode nulls); undefined for an unknown name. */
  map(name: string, input: unknown): MappedCall | undefined {
    return mapFunctionCall(this.bundle, this.expert, this.style, name, input, this.functions);
  }

  /**
   * True when the call would send an outbound write (an outbound integration's write, not a
   * dry run): the framework must ask a person before the adapter runs it.
   */
  needsApproval(name: string, input: unknown): boolean {
    const call = this.map(name, input);
    if (!call || call.op !== 'call' || !call.args) return false;
    const methodId = call.args['method_id'];
    if (typeof methodId !== 'string' || call.args['dry_run'] === true) return false;
    return this.kindOf(methodId) === 'outbound_write';
  }

  /** Runs what the model sent as the expert would. The raw result: pass it through `forModel` before a model sees it. */
  async run(name: string, input: unknown): Promise<IntegrationResult> {
    if (name === IMPORTED_RECORDS_FUNCTION && this.functions.some((f) => f.name === name && f.origin.tool === '')) {
      const batch = isObject(input) && typeof input['batch_id'] === 'string' ? input['batch_id'] : '';
      if (batch === '') return errorResult('VALIDATION_FAILED', '`batch_id` is required: the batch id of an import result', emptyMeta('botc', 'review'));
      return this.runtime.importedRecords(this.tenant, batch);
    }
    const call = this.map(name, input);
    if (!call) return errorResult('TOOL_NOT_ALLOWED', `expert \`${this.expert.name}\` has no function \`${name.slice(0, 80)}\``, emptyMeta('botc', null));
    return this.runtime.callTool({
      expert: this.expert.name,
      tool: call.tool,
      op: call.op,
      args: call.args,
      tenant: this.tenant,
      ...(this.approverName !== undefined ? { approver: this.approverName } : {}),
    });
  }

  /**
   * Runs a call the framework's approval step already approved: an outbound write is proposed
   * and then confirmed in the same execution, so the token never leaves the host. Returns the
   * result a model may see.
   */
  async runApproved(name: string, input: unknown): Promise<IntegrationResult> {
    const result = await this.run(name, input);
    const pending = pendingConfirmation(result);
    if (!pending || !this.needsApproval(name, input)) return forModel(result);
    return forModel(await this.confirm(pending));
  }

  /**
   * Executes a pending confirmation, by its public id, as the configured approver (the person
   * approved it through the framework's approval step). The only place an adapter confirms
   * anything; the runtime applies every check of the token path (tenant, approver, expiry,
   * single use, bot and bundle digest, identical preview).
   */
  async confirm(pending: PendingConfirmation): Promise<IntegrationResult> {
    return this.runtime.confirmById({ id: pending.id, tenant: this.tenant, approver: this.approver });
  }

  /**
   * Records that the person declined a pending confirmation (by id, as the configured approver),
   * so it can never be sent afterwards and the audit log holds the decision. Nothing was sent.
   */
  async reject(pending: PendingConfirmation, reason: string): Promise<IntegrationResult> {
    return this.runtime.reject({ id: pending.id, tenant: this.tenant, approver: this.approver, reason });
  }

  private expertMethods(): string[] {
    return this.expert.tools.flatMap((name) => this.bundle.tools.find((t) => t.name === name)?.methods ?? []);
  }

  private kindOf(methodId: string): string | undefined {
    const spec = this.bundle.methods[methodId];
    const integration = spec ? this.bundle.integrations[spec.provider] : undefined;
    if (!spec || !integration) return undefined;
    const governance = govern(spec, integration);
    return governance.ok ? governance.kind : undefined;
  }
}

/** The confirmation a CONFIRMATION_REQUIRED result proposes (with a public id), without its token. */
export function pendingConfirmation(result: IntegrationResult): PendingConfirmation | undefined {
  if (result.ok || result.error.code !== 'CONFIRMATION_REQUIRED') return undefined;
  const confirmation = result.meta['confirmation'];
  if (!isObject(confirmation) || typeof confirmation['id'] !== 'string') return undefined;
  return {
    id: confirmation['id'],
    approver: String(confirmation['approver']),
    expires_at: String(confirmation['expires_at']),
    preview: confirmation['preview'],
    preview_sha256: String(confirmation['preview_sha256']),
  };
}

function importedRecordsFunction(): AgentFunction {
  return {
    name: IMPORTED_RECORDS_FUNCTION,
    description:
      'The records of an import batch after a person reviewed them (only approved records). Pass the `batch_id` of an import result; answers REVIEW_REQUIRED while the review is pending.',
    inputSchema: {
      type: 'object',
      additionalProperties: false,
      required: ['batch_id'],
      properties: { batch_id: { type: 'string', description: 'The batch id from the import result (`meta.review.batch_id`).' } },
    },
    origin: { tool: '' },
    effects: { readOnly: true, destructive: false, idempotent: true, needsApproval: false },
  };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
