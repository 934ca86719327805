import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleModule, bundleTogether, inspectModules, type ModuleRequest } from '../src/load/sandbox.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { tempDir, writeFiles } from './helpers/workspace.ts';

// The integration modules of a build are bundled by one esbuild run: each module must get the
// inputs (its local imports, transitively) a run of its own lists, since they key its cached
// declarations and make its pin.

const MODULE = (name: string, imports: string) => `${imports}
import { BaseIntegration } from 'botc/integration';
export class ${name}Integration extends BaseIntegration {
  describeMethods() { return [{ method_id: '${name.toLowerCase()}.x.get.v1', label: LABEL }]; }
}
`;

function workspace(): { root: string; requests: ModuleRequest[] } {
  const root = tempDir();
  mkdirSync(path.join(root, 'node_modules'));
  symlinkSync(REPO_ROOT, path.join(root, 'node_modules', 'botc'), 'dir');
  const files = {
    'integrations/lib/labels.ts': "export { LABEL } from './deep/label.ts';\nexport type Kind = 'a';\n",
    'integrations/lib/deep/label.ts': "export const LABEL = 'x';\n",
    'integrations/lib/types.ts': 'export interface Only { a: string }\n',
    'integrations/alpha/index.ts': MODULE('Alpha', "import { LABEL } from '../lib/labels.ts';\nimport type { Only } from '../lib/types.ts';\nexport type Unused = Only;"),
    'integrations/beta/index.ts': MODULE('Beta', "const LABEL = 'b';"),
    'integrations/gamma/index.mjs': MODULE('Gamma', "import { LABEL } from '../lib/deep/label.ts';\nimport '../alpha/index.ts';"),
  };
  writeFiles(root, files);
  const requests = ['alpha/index.ts', 'beta/index.ts', 'gamma/index.mjs'].map((file) => ({
    file: path.join(root, 'integrations', file),
    source: files[`integrations/${file}` as keyof typeof files],
    exportName: `${file.split('/')[0]![0]!.toUpperCase()}${file.split('/')[0]!.slice(1)}Integration`,
    provider: file.split('/')[0]!,
  }));
  return { root, requests };
}

describe('modules bundled by one esbuild run', () => {
  it('list for each module the inputs a run of its own lists', async () => {
    const { root, requests } = workspace();
    const together = await bundleTogether(root, requests, new Set());
    expect(together).toBeDefined();
    const alone = await Promise.all(requests.map((r) => bundleModule(root, r.file, r.source, new Set())));
    expect(together!.map((b) => (b.ok ? b.inputs : b))).toEqual(alone.map((b) => (b.ok ? b.inputs : b)));
    expect(together!.map((b) => b.ok && b.inputs.length)).toEqual([2, 0, 3]);
  });

  it('fall back to one run per module when any fails, so each failure is worded and located as before', async () => {
    const { root, requests } = workspace();
    writeFileSync(requests[1]!.file, 'export const = ;\n');
    const broken = requests.map((r, i) => (i === 1 ? { ...r, source: 'export const = ;\n' } : r));
    expect(await bundleTogether(root, broken, new Set())).toBeUndefined();
    const reports = await inspectModules(root, broken);
    expect(reports.map((r) => r.ok)).toEqual([true, false, true]);
    expect(reports[1]).toMatchObject({ ok: false, failure: 'load', at: { line: 1 } });
    expect((reports[1] as { message: string }).message).toMatch(/^syntax error: /);
  });
});
