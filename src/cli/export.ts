import path from 'node:path';
import { parseArgs } from 'node:util';
import { EXPORT_TARGETS, exportBundle, type ExportOptions, type ExportTarget } from '../agents/export.ts';
import { TOOL_STYLES, type ToolStyle } from '../agents/functions.ts';
import { readBundle } from '../runtime/bundle-schema.ts';
import type { Io } from './io.ts';
import { UsageError } from './usage.ts';

/**
 * `botc export <bundle> --target T [--expert E] [--style envelope|methods] [--strict] [--server NAME]`:
 * prints one JSON document of tool definitions for an agent runtime; exit 1 with the problems
 * when the bundle cannot be exported for that target.
 */
export async function runExport(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { target: { type: 'string' }, expert: { type: 'string' }, style: { type: 'string', default: 'envelope' }, strict: { type: 'boolean', default: false }, server: { type: 'string' } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError('botc export takes one bundle: botc export <bundle> --target T');
  const target = values.target;
  if (!target || !(EXPORT_TARGETS as readonly string[]).includes(target)) throw new UsageError(`--target must be one of ${EXPORT_TARGETS.join(', ')}`);
  if (!(TOOL_STYLES as readonly string[]).includes(values.style)) throw new UsageError(`--style must be envelope or methods, not \`${values.style}\``);
  const bundlePath = path.resolve(io.cwd ?? process.cwd(), positionals[0]!);
  const options: ExportOptions = { target: target as ExportTarget, style: values.style as ToolStyle, strict: values.strict, bundlePath: positionals[0]! };
  if (values.expert !== undefined) options.expert = values.expert;
  if (values.server !== undefined) options.server = values.server;
  const result = exportBundle(readBundle(bundlePath), options);
  if (!result.ok) {
    for (const p of result.problems) io.stderr(`${positionals[0]}: ${p.subject}: ${p.message}\n`);
    return 1;
  }
  io.stdout(`${JSON.stringify(result.document, null, 2)}\n`);
  return 0;
}
