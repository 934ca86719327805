import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { build } from '../src/build/build.ts';
import { ConfigError } from '../src/config.ts';
import { Runtime } from '../src/runtime/runtime.ts';
import { runCli } from './helpers/cli.ts';
import { copyWorkspace, DEMO_MODULE, VALID_WORKSPACE } from './helpers/contract.ts';

/** The demo module, answering with the provider configuration its constructor received. */
const ECHO_CONFIG = readFileSync(path.join(VALID_WORKSPACE, DEMO_MODULE), 'utf8').replace(
  'async () => ({ data: { items: [] } })',
  'async () => ({ data: { items: [JSON.stringify(this.context.config)] } })',
);

const CALL = { expert: 'main', tool: 'things', op: 'call', args: { method_id: 'demo.things.list.v1', params: {} } };

describe('build() reads botc.config.json itself, as `botc build` does', () => {
  it('writes to the config\'s `out` when no `out` is given, exactly where and what the command line writes', async () => {
    const config = `${JSON.stringify({ out: 'bundles/here' })}\n`;
    const library = copyWorkspace({ 'botc.config.json': config });
    const cli = copyWorkspace({ 'botc.config.json': config });

    const result = await build({ root: library });
    const run = await runCli(['build', '--root', cli, '--format', 'json']);

    expect(run.status).toBe(0);
    expect(result.ok).toBe(true);
    expect(result.bundles.map((b) => b.path)).toEqual(['bundles/here/helper.bundle.json']);
    expect((JSON.parse(run.stdout) as { bundles: { path: string }[] }).bundles.map((b) => b.path)).toEqual(['bundles/here/helper.bundle.json']);
    expect(existsSync(path.join(library, 'dist'))).toBe(false);
    expect(readFileSync(path.join(library, 'bundles/here/helper.bundle.json'), 'utf8')).toBe(readFileSync(path.join(cli, 'bundles/here/helper.bundle.json'), 'utf8'));
  });

  it('an `out` option wins over the config', async () => {
    const root = copyWorkspace({ 'botc.config.json': '{"out": "from-config"}\n' });
    const result = await build({ root, out: 'from-option' });
    expect(result.bundles.map((b) => b.path)).toEqual(['from-option/helper.bundle.json']);
    expect(existsSync(path.join(root, 'from-config'))).toBe(false);
  });

  it('a broken config is a diagnostic of the result, and nothing is written', async () => {
    const root = copyWorkspace({ 'botc.config.json': '{"out": 3}\n' });
    const result = await build({ root });
    expect(result.ok).toBe(false);
    expect(result.diagnostics.map((d) => d.code)).toContain('config-invalid');
    expect(existsSync(path.join(root, 'dist'))).toBe(false);
  });
});

describe('Runtime.load() reads botc.config.json itself, as `botc call` does', () => {
  const saved = process.env['BOTC_PROVIDER_DEMO_REGION'];
  afterEach(() => {
    if (saved === undefined) delete process.env['BOTC_PROVIDER_DEMO_REGION'];
    else process.env['BOTC_PROVIDER_DEMO_REGION'] = saved;
  });

  async function loaded(config: unknown, options: Partial<Parameters<typeof Runtime.load>[1]> = {}) {
    const root = copyWorkspace({ [DEMO_MODULE]: ECHO_CONFIG, 'botc.config.json': JSON.stringify(config) });
    const built = await build({ root, write: false });
    expect(built.ok).toBe(true);
    return Runtime.load(built.built[0]!, { root, ...options });
  }

  it('hands each integration its `providers` configuration, with BOTC_PROVIDER_* variables over it', async () => {
    process.env['BOTC_PROVIDER_DEMO_REGION'] = 'eu';
    const runtime = await loaded({ providers: { demo: { base_url: 'https://demo.test', region: 'us' } } });
    const result = await runtime.callTool(CALL);
    await runtime.close();
    expect(result).toMatchObject({ ok: true, data: { items: [JSON.stringify({ base_url: 'https://demo.test', region: 'eu' })] } });
  });

  it('takes the `runtime` settings for options the caller leaves out; a given option wins', async () => {
    const config = { runtime: { any_approver: true, timeout_ms: 5000 } };
    const fromConfig = await loaded(config);
    expect(fromConfig.anyApprover).toBe(true);
    await fromConfig.close();
    const given = await loaded(config, { any_approver: false, providerConfig: { demo: { base_url: 'https://given.test' } } });
    expect(given.anyApprover).toBe(false);
    expect(await given.callTool(CALL)).toMatchObject({ ok: true, data: { items: [JSON.stringify({ base_url: 'https://given.test' })] } });
    await given.close();
  });

  it('a broken config stops the load with ConfigError, as the command line stops', async () => {
    const root = copyWorkspace();
    const built = await build({ root, write: false });
    writeFileSync(path.join(root, 'botc.config.json'), '{"runtime": {"timeout_ms": "fast"}}\n');
    await expect(Runtime.load(built.built[0]!, { root })).rejects.toThrow(ConfigError);
  });
});
