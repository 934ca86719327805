import { didYouMean } from '../../diagnostics/hints.ts';
import { type MethodSpec } from '../../integration/types.ts';
import { clip } from '../../schema/common.ts';
import type { Context, ModuleLoad } from '../load/integration-set.ts';
import { methodPosition } from './method.ts';

/**
 * An integration on the base class dispatches through `handlers()`: a declared method with
 * no handler answers UNKNOWN_METHOD at run time, and a handler no method declares is dead
 * code, usually a typo of the id it was meant for. The two sets must be equal. A typo is one
 * diagnostic, at the handler's key, naming the method it was meant for; a method with no
 * handler at all is reported at its declaration. Methods whose spec is broken are already
 * reported and are neither required nor matched.
 */
export function checkHandlers(ctx: Context, loaded: ModuleLoad, methods: MethodSpec[], declaredIds: Map<string, number>): void {
  if (loaded.handlers === null) return;
  const handlers = new Set(loaded.handlers);
  const unhandled = methods.map((m) => m.method_id).filter((id) => !handlers.has(id));
  const extra = loaded.handlers.filter((id) => !declaredIds.has(id));
  const paired = new Set<string>();
  for (const key of extra) {
    const meant = unhandled.filter((id) => !paired.has(id));
    const hint = didYouMean(key, meant);
    const match = hint === undefined ? undefined : meant.find((id) => hint.includes(`\`${id}\``));
    if (match) paired.add(match);
    const where = { file: loaded.file, at: methodPosition(loaded, key) };
    if (match) ctx.diagnostics.add('method-spec-invalid', where, { variant: 'handler-typo', key: clip(key), method: match, suggestion: hint! });
    else ctx.diagnostics.add('method-spec-invalid', where, { variant: 'handler-extra', key: clip(key) });
  }
  for (const id of unhandled) {
    if (paired.has(id)) continue;
    ctx.diagnostics.add('method-spec-invalid', { file: loaded.file, at: methodPosition(loaded, id) }, { variant: 'handler-missing', id, extraHandlers: extra.length > 0 });
  }
}
