import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RULES } from '../src/build/rules/index.ts';
import { DIAGNOSTICS } from '../src/diagnostics/registry.ts';

const RULES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'build', 'rules');

describe('the cross-file rules list (src/build/rules/index.ts)', () => {
  it('has exactly one rule per cross-file diagnostic code', () => {
    const codes = RULES.map((rule) => rule.code);
    expect(new Set(codes).size).toBe(codes.length);
    const crossFile = Object.entries(DIAGNOSTICS).filter(([, d]) => d.stage === 'cross-file').map(([code]) => code);
    expect([...codes].sort()).toEqual(crossFile.sort());
  });

  it('keeps each rule in its own file, named for its code', () => {
    for (const rule of RULES) expect(existsSync(path.join(RULES_DIR, `${rule.code}.ts`)), rule.code).toBe(true);
  });

  it('runs prompt-file-misnamed after the rules that explain a misnamed file themselves', () => {
    const order = RULES.map((rule) => rule.code);
    const last = order.indexOf('prompt-file-misnamed');
    expect(last).toBeGreaterThan(order.indexOf('skill-missing'));
    expect(last).toBeGreaterThan(order.indexOf('tool-prompt-missing'));
    expect(RULES.filter((rule) => rule.needs === 'bot').at(-1)!.code).toBe('prompt-file-misnamed');
  });
});
