import type { Diagnostics } from '../../diagnostics/diagnostic.ts';
import type { BuildContext } from '../context.ts';
import { BUNDLE_FORMAT, type BlockKind, type Bundle, type BundleBlock, type BundleIntegration, type BundleExpert } from '../../bundle/format.ts';
import { sha256 } from '../../bundle/canonical.ts';
import type { MethodSpec } from '../../integration/types.ts';
import type { StreamDeclaration } from '../../inbound/declarations.ts';
import { envelopeSchema } from '../../tools/envelope.ts';
import type { BotSource, ExpertSource } from '../load/bots.ts';
import type { IntegrationSet } from '../load/integrations.ts';
import { REGISTRY_FILE } from '../load/integration-set.ts';
import type { PromptFile } from '../load/prompts.ts';
import { renderTemplate } from './render.ts';
import { sealBundle } from './seal.ts';

export interface CommonBlock {
  prompt: PromptFile<{ description?: string | undefined; when_tools_any?: string[] | undefined }>;
}

/** Stage 4: every expert's system prompt (README, Prompt assembly) and the bot's bundle (README, The bundle). */
export function assembleBundle(
  bot: BotSource,
  commons: readonly CommonBlock[],
  integrations: IntegrationSet,
  { diagnostics }: BuildContext,
): Bundle | undefined {
  const manifest = bot.manifest!;
  const botInfo = { id: bot.id, version: manifest.version, description: manifest.description };
  const toolsByName = new Map(manifest.tools.map((t) => [t.name, t]));
  const sources: Record<string, string> = { [bot.manifestFile]: bot.manifestSha256! };
  if (integrations.registrySha256) sources[REGISTRY_FILE] = integrations.registrySha256;
  for (const common of commons) sources[common.prompt.file] = common.prompt.sha256;
  if (bot.personality) sources[bot.personality.file] = bot.personality.sha256;

  const experts: BundleExpert[] = [];
  for (const expert of [...bot.experts].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    sources[expert.prompt.file] = expert.prompt.sha256;
    const tools = expert.allow.map((name) => {
      const tool = toolsByName.get(name)!;
      return { name, description: tool.description, methods: [...tool.methods] };
    });
    const context = {
      bot: botInfo,
      expert: { name: expert.name, description: expert.description },
      tools,
      skills: [...expert.skills],
    };
    const blocks: [BlockKind, PromptFile<unknown>][] = [];
    if (bot.personality) blocks.push(['personality', bot.personality]);
    blocks.push(['expert', expert.prompt]);
    for (const skill of expert.skills) blocks.push(['skill', bot.skills.get(skill)!]);
    for (const tool of expert.allow) blocks.push(['tool', bot.toolPrompts.get(tool)!]);
    const allowed = new Set(expert.allow);
    for (const common of commons) {
      const when = common.prompt.data?.when_tools_any;
      if (when && when.length > 0 && !when.some((t) => allowed.has(t))) continue;
      blocks.push(['common', common.prompt]);
    }
    for (const [kind, prompt] of blocks) if (kind === 'skill' || kind === 'tool') sources[prompt.file] = prompt.sha256;
    const assembled = assemblePrompt(expert, blocks, context, diagnostics);
    if (!assembled) return undefined;
    // Keys in sorted order, as most of a bundle: sealing then keeps these objects instead of copying them (seal.ts).
    experts.push({ blocks: assembled.blocks, description: expert.description, name: expert.name, system_prompt: assembled.system_prompt, tools: [...expert.allow] });
  }

  const methods: Record<string, MethodSpec> = {};
  const bundleIntegrations: Bundle['integrations'] = {};
  for (const tool of manifest.tools) {
    for (const id of tool.methods) {
      const spec = integrations.methods.get(id)!;
      methods[id] = spec;
      const loaded = integrations.providers.get(spec.provider)!;
      const { entry } = loaded;
      sources[loaded.moduleFile] = loaded.moduleSha256;
      for (const input of loaded.inputs) sources[input.file] = input.sha256;
      bundleIntegrations[entry.provider] = {
        classification: entry.classification,
        export: entry.export ?? 'default',
        ...(loaded.inputs.length > 0 ? { inputs: loaded.inputs.map((input) => input.file) } : {}),
        lifecycle: entry.lifecycle,
        modes: [...entry.modes],
        module: entry.module,
        sha256: loaded.sha256,
        ...(entry.streams !== undefined ? { streams: entry.streams.map((s) => ({ ...s }) as StreamDeclaration) } : {}),
        tier: entry.tier ?? null,
        ...(entry.webhook !== undefined ? { webhook: entry.webhook as NonNullable<BundleIntegration['webhook']> } : {}),
      };
    }
  }
  const withoutDigest = {
    format: BUNDLE_FORMAT,
    bot: botInfo,
    experts,
    tools: manifest.tools.map((t) => ({ description: t.description, methods: [...t.methods], name: t.name, parameters: envelopeSchema(t.name, t.methods) })),
    methods,
    integrations: bundleIntegrations,
    sources,
  } as const;
  // Sorted once here: the in-memory bundle is then what is digested and written, as it is
  // (each method spec sorted and serialized once per build, seal.ts).
  return sealBundle(withoutDigest);
}

function assemblePrompt(
  expert: ExpertSource,
  blocks: [BlockKind, PromptFile<unknown>][],
  context: object,
  diagnostics: Diagnostics,
): Pick<BundleExpert, 'system_prompt' | 'blocks'> | undefined {
  const parts: string[] = [];
  const placed: BundleBlock[] = [];
  let offset = 0;
  for (const [kind, prompt] of blocks) {
    let text: string;
    try {
      if (!prompt.template) throw new Error('the template does not parse');
      text = renderTemplate(prompt.template, context).trim();
    } catch (error) {
      // The static checks should make this unreachable; report it rather than crash.
      diagnostics.add('template-error', { file: prompt.file, at: { line: prompt.bodyLine, column: 1 } }, { variant: 'render', expert: expert.name, detail: (error as Error).message.split('\n')[0]! });
      return undefined;
    }
    if (text.length === 0) continue; // an empty block would leave a double blank line
    if (parts.length > 0) offset += 2;
    const length = codePointLength(text);
    placed.push({ end: offset + length, kind, sha256: sha256(text), source: prompt.file, start: offset });
    parts.push(text);
    offset += length;
  }
  return { system_prompt: `${parts.join('\n\n')}\n`, blocks: placed };
}

/** A high (leading) surrogate: the first half of a code point above U+FFFF. */
const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/** Length in Unicode code points, so that offsets mean the same in every language. */
function codePointLength(text: string): number {
  // Most prompts have no character above U+FFFF: one scan by the regular expression engine
  // answers them, instead of a loop over every character.
  if (!HIGH_SURROGATE.test(text)) return text.length;
  let surrogatePairs = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) surrogatePairs++;
  }
  return text.length - surrogatePairs;
}
