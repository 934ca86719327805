import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import type { IntegrationContext } from '../src/integration/types.ts';
import { instantiateIntegration } from '../src/load/modules.ts';
import { BundleLoadError } from '../src/runtime/bundle.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { copyWorkspace, DEMO_MODULE, VALID_WORKSPACE } from './helpers/contract.ts';

const CONTEXT: IntegrationContext = { phase: 'runtime', provider: 'demo', config: {} };

class Complete {
  constructor(readonly context: IntegrationContext) {}
  describeMethods() { return []; }
  async authStatus() { return { authenticated: false }; }
  async call() { throw new Error('not called'); }
}

describe('one instantiateIntegration() for the compiler and the runtime', () => {
  it('constructs the export with the context and returns the instance', () => {
    const made = instantiateIntegration({ Complete }, 'Complete', CONTEXT);
    expect(made.ok).toBe(true);
    expect(made.ok && (made.instance as unknown as Complete).context).toBe(CONTEXT);
  });

  it('names the functions a module does export when the registered one is missing', () => {
    expect(instantiateIntegration({ Complete, VALUE: 1 }, 'Other', CONTEXT)).toEqual({ ok: false, failure: 'no-export', available: ['Complete'] });
  });

  it('returns a throwing constructor as `construct` with its message, without throwing', () => {
    const Throws = class { constructor() { throw new Error('no base_url'); } };
    expect(instantiateIntegration({ Throws }, 'Throws', CONTEXT)).toEqual({ ok: false, failure: 'construct', message: 'no base_url' });
  });

  it('lists what an instance lacks to be an integration', () => {
    const Partial = class { describeMethods() { return []; } };
    expect(instantiateIntegration({ Partial }, 'Partial', CONTEXT)).toEqual({ ok: false, failure: 'not-integration', missing: ['authStatus', 'call'] });
  });

  it('the build\'s sandbox runs the same function (its source is the child\'s)', () => {
    const sandbox = readFileSync(new URL('../src/load/sandbox.ts', import.meta.url), 'utf8');
    expect(sandbox).toContain('${instantiateIntegration.toString()}');
    expect(sandbox).toMatch(/const made = instantiateIntegration\(ns, job\.exportName, \{ phase: 'build'/);
  });

  it('a constructor that throws only at run time is refused on load as BundleLoadError naming the module', async () => {
    const source = readFileSync(path.join(VALID_WORKSPACE, DEMO_MODULE), 'utf8').replace(
      'export class DemoIntegration extends BaseIntegration {',
      `export class DemoIntegration extends BaseIntegration {
  constructor(context: ConstructorParameters<typeof BaseIntegration>[0]) {
    super(context);
    if (context.phase === 'runtime') throw new Error('base_url is not configured');
  }
`,
    );
    const root = copyWorkspace({ [DEMO_MODULE]: source });
    const built = await build({ root, write: false });
    expect(built.ok).toBe(true);
    const error = await Runtime.load(built.built[0]!, { root }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(BundleLoadError);
    expect((error as Error).message).toBe('module integrations/demo/index.ts: constructing DemoIntegration throws: base_url is not configured');
  });
});
