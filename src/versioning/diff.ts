import { structuredPatch } from 'diff';
import { canonicalJson } from '../bundle/canonical.ts';
import type { BlockKind, Bundle, BundleExpert, BundleIntegration, BundleTool } from '../bundle/format.ts';
import type { MethodSpec } from '../integration/types.ts';
import type { SchemaDifference } from './compat.ts';
import { compareWithLock, lockEntry } from './lock.ts';

/**
 * What one build changes for the agents, compared with another: the review view of a pull
 * request. Everything is sorted by name so that two runs give the same report.
 */
export type Change = 'added' | 'removed' | 'changed';

/** One block of an expert's system prompt that differs. */
export interface BlockChange {
  kind: BlockKind;
  /** Workspace-relative source file of the block. */
  source: string;
  change: Change;
  /** A unified diff of the block's rendered text (hunks only, 3 lines of context). */
  patch: string;
}

export interface ExpertChange {
  name: string;
  change: Change;
  description?: { before: string; after: string };
  tools?: { added: string[]; removed: string[] };
  /** True when the same blocks now come in another order. */
  reordered?: boolean;
  blocks: BlockChange[];
}

export interface ToolChange {
  name: string;
  change: Change;
  description?: { before: string; after: string };
  methods?: { added: string[]; removed: string[] };
}

export interface MethodChange {
  method_id: string;
  change: Change;
  /** For a changed method: breaking (callers can fail) or compatible. */
  compatibility?: 'breaking' | 'compatible';
  breaking: SchemaDifference[];
  /** Other MethodSpec fields that changed (`description`, `auth_scopes`, `deprecated`, ...). */
  fields: string[];
}

export interface IntegrationChange {
  provider: string;
  change: Change;
  /** Governance-relevant fields that changed: classification, lifecycle, tier, modes, module. */
  fields: { field: string; before: unknown; after: unknown }[];
}

export interface BotDiff {
  bot: string;
  change: Change | 'unchanged';
  experts: ExpertChange[];
  tools: ToolChange[];
  methods: MethodChange[];
  integrations: IntegrationChange[];
  /** Input files whose content changed, was added or removed (`sources` of the bundles). */
  sources: string[];
}

export interface BuildDiff {
  bots: BotDiff[];
  /** Counts over every bot: `breaking` methods, and every change of any kind. */
  summary: { breaking: number; changes: number };
}

/** Compares two builds, each a map from bot id to its bundle. */
export function diffBuilds(before: ReadonlyMap<string, Bundle>, after: ReadonlyMap<string, Bundle>): BuildDiff {
  const bots = [...new Set([...before.keys(), ...after.keys()])].sort().map((id) => diffBundles(id, before.get(id), after.get(id)));
  let breaking = 0;
  let changes = 0;
  for (const bot of bots) {
    if (bot.change === 'added' || bot.change === 'removed') changes++;
    breaking += bot.methods.filter((m) => m.compatibility === 'breaking').length;
    changes += bot.experts.length + bot.tools.length + bot.methods.length + bot.integrations.length;
  }
  return { bots, summary: { breaking, changes } };
}

/** Compares two bundles of one bot (either may be absent: the bot was added or removed). */
export function diffBundles(bot: string, before: Bundle | undefined, after: Bundle | undefined): BotDiff {
  const diff: BotDiff = {
    bot,
    change: !before ? 'added' : !after ? 'removed' : before.digest === after.digest ? 'unchanged' : 'changed',
    experts: [],
    tools: [],
    methods: [],
    integrations: [],
    sources: [],
  };
  if (diff.change === 'unchanged') return diff;
  diff.sources = pairs(entries2(before?.sources), entries2(after?.sources), ([file]) => file).filter(([, a, b]) => a?.[1] !== b?.[1]).map(([file]) => file);
  diff.experts = pairs(before?.experts, after?.experts, (e) => e.name).flatMap(([name, a, b]) => expertChange(name, a, b) ?? []);
  diff.tools = pairs(before?.tools, after?.tools, (t) => t.name).flatMap(([name, a, b]) => toolChange(name, a, b) ?? []);
  diff.methods = pairs(values(before?.methods), values(after?.methods), (m) => m.method_id).flatMap(([id, a, b]) => methodChange(id, a, b) ?? []);
  diff.integrations = pairs(entries(before?.integrations), entries(after?.integrations), (i) => i.provider).flatMap(([p, a, b]) => integrationChange(p, a, b) ?? []);
  return diff;
}

function expertChange(name: string, a: BundleExpert | undefined, b: BundleExpert | undefined): ExpertChange | undefined {
  if (!a || !b) {
    const only = (a ?? b)!;
    return { name, change: a ? 'removed' : 'added', blocks: textBlocks(only).map((block) => ({ ...block, change: a ? 'removed' : 'added', patch: patch(a ? block.text : '', a ? '' : block.text) })) };
  }
  const change: ExpertChange = { name, change: 'changed', blocks: [] };
  if (a.description !== b.description) change.description = { before: a.description, after: b.description };
  const tools = { added: b.tools.filter((t) => !a.tools.includes(t)), removed: a.tools.filter((t) => !b.tools.includes(t)) };
  if (tools.added.length + tools.removed.length > 0) change.tools = tools;
  const keyOf = (block: { kind: BlockKind; source: string }) => `${block.kind}\u0000${block.source}`;
  const oldBlocks = textBlocks(a);
  const newBlocks = textBlocks(b);
  const oldByKey = new Map(oldBlocks.map((block) => [keyOf(block), block]));
  const newByKey = new Map(newBlocks.map((block) => [keyOf(block), block]));
  for (const block of newBlocks) {
    const old = oldByKey.get(keyOf(block));
    if (!old) change.blocks.push({ kind: block.kind, source: block.source, change: 'added', patch: patch('', block.text) });
    else if (old.text !== block.text) change.blocks.push({ kind: block.kind, source: block.source, change: 'changed', patch: patch(old.text, block.text) });
  }
  for (const block of oldBlocks) {
    if (!newByKey.has(keyOf(block))) change.blocks.push({ kind: block.kind, source: block.source, change: 'removed', patch: patch(block.text, '') });
  }
  const common = (list: { kind: BlockKind; source: string }[], other: Map<string, unknown>) => list.map(keyOf).filter((k) => other.has(k));
  if (common(oldBlocks, newByKey).join('\n') !== common(newBlocks, oldByKey).join('\n')) change.reordered = true;
  const changed = change.description || change.tools || change.reordered || change.blocks.length > 0;
  return changed ? change : undefined;
}

function toolChange(name: string, a: BundleTool | undefined, b: BundleTool | undefined): ToolChange | undefined {
  if (!a || !b) return { name, change: a ? 'removed' : 'added' };
  const change: ToolChange = { name, change: 'changed' };
  if (a.description !== b.description) change.description = { before: a.description, after: b.description };
  const methods = { added: b.methods.filter((m) => !a.methods.includes(m)), removed: a.methods.filter((m) => !b.methods.includes(m)) };
  if (methods.added.length + methods.removed.length > 0) change.methods = methods;
  return change.description || change.methods ? change : undefined;
}

const COMPARED_BY_LOCK = new Set(['input_schema', 'output_schema', 'idempotency', 'capabilities']);

function methodChange(id: string, a: MethodSpec | undefined, b: MethodSpec | undefined): MethodChange | undefined {
  if (!a || !b) return { method_id: id, change: a ? 'removed' : 'added', breaking: [], fields: [] };
  const fields = Object.keys({ ...a, ...b })
    .filter((key) => !COMPARED_BY_LOCK.has(key) && !sameJson(a[key as keyof MethodSpec], b[key as keyof MethodSpec]))
    .sort();
  const comparison = compareWithLock(lockEntry(a), lockEntry(b));
  if (comparison.status === 'unchanged' && fields.length === 0) return undefined;
  const change: MethodChange = { method_id: id, change: 'changed', breaking: comparison.breaking, fields };
  if (comparison.status !== 'unchanged') change.compatibility = comparison.status;
  return change;
}

/** Integration fields a reviewer must see change; `sha256` is the module source's. */
const GOVERNANCE_FIELDS = ['classification', 'lifecycle', 'tier', 'modes', 'module', 'export', 'sha256'] as const;

function integrationChange(provider: string, a: ProviderEntry | undefined, b: ProviderEntry | undefined): IntegrationChange | undefined {
  if (!a || !b) return { provider, change: a ? 'removed' : 'added', fields: [] };
  const fields = GOVERNANCE_FIELDS.filter((f) => !sameJson(a[f], b[f])).map((field) => ({ field, before: a[field], after: b[field] }));
  return fields.length > 0 ? { provider, change: 'changed', fields } : undefined;
}

type ProviderEntry = BundleIntegration & { provider: string };

interface TextBlock {
  kind: BlockKind;
  source: string;
  text: string;
}

/** Each block's rendered text, cut from the system prompt by its code-point offsets. */
function textBlocks(expert: BundleExpert): TextBlock[] {
  const codePoints = [...expert.system_prompt];
  return expert.blocks.map((block) => ({ kind: block.kind, source: block.source, text: codePoints.slice(block.start, block.end).join('') }));
}

/** Hunks of a unified diff between two texts, without file headers. */
function patch(before: string, after: string): string {
  const { hunks } = structuredPatch('before', 'after', withNewline(before), withNewline(after), '', '', { context: 3 });
  return hunks
    .map((h) => [`@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, ...h.lines.filter((l) => !l.startsWith('\\'))].join('\n'))
    .join('\n');
}

function withNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}

/** Items of two lists matched by key, sorted by key: `[key, before?, after?]`. */
function pairs<T>(a: readonly T[] | undefined, b: readonly T[] | undefined, key: (item: T) => string): [string, T | undefined, T | undefined][] {
  const before = new Map((a ?? []).map((item) => [key(item), item]));
  const after = new Map((b ?? []).map((item) => [key(item), item]));
  return [...new Set([...before.keys(), ...after.keys()])].sort().map((k) => [k, before.get(k), after.get(k)]);
}

function values<T>(record: Record<string, T> | undefined): T[] {
  return record ? Object.values(record) : [];
}

function entries2(record: Record<string, string> | undefined): [string, string][] {
  return record ? Object.entries(record) : [];
}

function entries(record: Record<string, BundleIntegration> | undefined): ProviderEntry[] {
  return record ? Object.entries(record).map(([provider, entry]) => ({ ...entry, provider })) : [];
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonicalJson(a) === canonicalJson(b);
}
