import type { Bundle, BundleTool } from '../bundle/format.ts';
import type { MethodSpec } from '../integration/types.ts';
import { TOOL_OPS } from './envelope.ts';

/**
 * The query operations of a tool (docs/governance.md, modes and tool composition), composed from the
 * integration methods the bundle records. Pure functions of the bundle: no I/O.
 */

export function listMethods(bundle: Bundle, tool: BundleTool) {
  return {
    tool: tool.name,
    methods: tool.methods.map((id) => {
      const spec = bundle.methods[id]!;
      return {
        method_id: id,
        provider: spec.provider,
        description: spec.description,
        capabilities: spec.capabilities,
        idempotency: spec.idempotency,
        deprecated: spec.deprecated,
        replacement_method_id: spec.replacement_method_id,
      };
    }),
  };
}

export function listProviders(bundle: Bundle, tool: BundleTool) {
  return {
    tool: tool.name,
    providers: providersOf(bundle, tool).map((provider) => {
      const integration = bundle.integrations[provider]!;
      return {
        provider,
        classification: integration.classification,
        modes: integration.modes,
        lifecycle: integration.lifecycle,
        tier: integration.tier,
        methods: tool.methods.filter((id) => bundle.methods[id]!.provider === provider),
      };
    }),
  };
}

export function providersOf(bundle: Bundle, tool: BundleTool): string[] {
  return [...new Set(tool.methods.map((id) => bundle.methods[id]!.provider))].sort();
}

/** `help`: what the tool does and how to call each method, ready for a model to read. */
export function help(bundle: Bundle, tool: BundleTool) {
  const methods = tool.methods.map((id) => bundle.methods[id]!);
  return {
    tool: tool.name,
    description: tool.description,
    ops: [...TOOL_OPS],
    methods: methods.map((spec) => ({
      method_id: spec.method_id,
      description: spec.description,
      provider: spec.provider,
      classification: bundle.integrations[spec.provider]!.classification,
      capabilities: spec.capabilities,
      idempotency: spec.idempotency,
      deprecated: spec.deprecated,
      replacement_method_id: spec.replacement_method_id,
      input_schema: spec.input_schema,
    })),
    text: helpText(bundle, tool, methods),
  };
}

function helpText(bundle: Bundle, tool: BundleTool, methods: MethodSpec[]): string {
  const lines = [
    `# Tool \`${tool.name}\``,
    '',
    tool.description,
    '',
    'Call it as `{"op": "<op>", "args": {...}}`. Ops: `help` (this text), `status` (is each provider authenticated?), `list_methods`, `list_providers`, and `call` with `args = {"method_id", "params", "cursor"?, "dry_run"?, "idempotency_key"?}`.',
    '',
    '## Methods',
  ];
  for (const spec of methods) {
    const integration = bundle.integrations[spec.provider]!;
    const notes = [integration.classification.replace('_', '-'), spec.idempotency.replace(/_/g, ' ')];
    if (spec.deprecated) notes.push(`deprecated${spec.replacement_method_id ? `, use ${spec.replacement_method_id}` : ''}`);
    lines.push('', `### \`${spec.method_id}\` (${notes.join('; ')})`, '', spec.description, '', 'Parameters:');
    lines.push(...describeParameters(spec.input_schema));
  }
  lines.push(
    '',
    'Results come back as `{ok, data, meta}` or `{ok: false, error: {code, message, retriable}}`. When `meta.next_cursor` is set, pass it back as `cursor` for the next page. Writes to outbound systems may answer `CONFIRMATION_REQUIRED` with a preview: show it to the user and wait for their approval.',
  );
  return `${lines.join('\n')}\n`;
}

function describeParameters(schema: Record<string, unknown>): string[] {
  const properties = (schema['properties'] ?? {}) as Record<string, Record<string, unknown>>;
  const required = new Set((schema['required'] ?? []) as string[]);
  const names = Object.keys(properties);
  if (names.length === 0) return ['- none'];
  return names.map((name) => {
    const property = properties[name]!;
    const type = Array.isArray(property['enum'])
      ? (property['enum'] as unknown[]).map((v) => JSON.stringify(v)).join(' | ')
      : typeof property['type'] === 'string'
        ? property['type']
        : 'value';
    const description = typeof property['description'] === 'string' ? `: ${property['description']}` : '';
    return `- \`${name}\` (${type}${required.has(name) ? ', required' : ''})${description}`;
  });
}
