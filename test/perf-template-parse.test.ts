import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { parseSubset, parseTemplate } from '../src/build/validate/template-parse.ts';

/** Pieces templates are made of: the subset's tags, text around them, and what leaves the subset. */
const SUBSET = [
  '{{bot.id}}', '{{bot.description}}', '{{this}}', '{{name}}', '{{@index}}', '{{this.name}}', '{{expert.name}}',
  '{{#if tools}}', '{{#each tools}}', '{{#each methods}}', '{{#unless @last}}', '{{#if  bot.id}}', '{{#each skills}}',
  '{{/if}}', '{{/each}}', '{{/unless}}', '{{else}}',
];
const TEXT = ['text', ' ', '\n', '  \n', '\n\n', 'a b\n  ', '}}', '{', '}', '@', 'é', '\t', '😀', '- ', '`', '\n\t\n', '  ', '\u00a0', '\u3000\n', '\v', '\f\n', '\ufeff'];
const OTHER = [
  '{{ bot.id }}', '{{~else~}}', '{{!c}}', '{{!-- c --}}', '{{> p}}', '{{{raw}}}', '\\{{x}}', '\\\\{{x}}', '{{true}}', '{{x.this}}',
  '{{#each}}', '{{elsewhere}}', '{{a.[b]}}', '{{../x}}', '{{a/b}}', '{{#if true}}', '{{^}}', '{{else if tools}}', '{{1}}',
  '{{#foo bar}}', '{{/foo}}', '{{~bot.id~}}', '\r\n', '\r', '{{x y}}', '{{#each tools as |t|}}', '{{&x}}', '{{*d}}', '{{#*inline "x"}}',
  '{{', '{{#if tools}', '\u2028', '{{else}}{{else}}', '{{@last}}', '{{undefined}}', '{{#if null}}',
];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What `parse` gives: the tree, or the error's message and fields. */
function outcome(parse: (source: string) => unknown, source: string): unknown {
  try {
    return { tree: parse(source) };
  } catch (error) {
    const e = error as Error & { lineNumber?: number; column?: number };
    return { error: e.message, line: e.lineNumber, column: e.column };
  }
}

function expectSameAsHandlebars(source: string): void {
  const ours = outcome(parseTemplate, source);
  const theirs = outcome((s) => Handlebars.parse(s), source);
  if (!isDeepStrictEqual(ours, theirs)) expect(JSON.stringify(ours), JSON.stringify(source)).toBe(JSON.stringify(theirs));
}

function filesUnder(dir: string, suffix: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) found.push(...filesUnder(full, suffix));
    else if (name.endsWith(suffix)) found.push(full);
  }
  return found;
}

describe('prompt templates: the fast parser of the common subset', () => {
  it('builds the tree Handlebars.parse builds (locations, whitespace control and errors included) for generated templates', () => {
    const random = rng(14);
    const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)]!;
    let fast = 0;
    for (let i = 0; i < 4000; i++) {
      const pieces: string[] = [];
      const length = 1 + Math.floor(random() * 24);
      for (let k = 0; k < length; k++) {
        const r = random();
        pieces.push(r < 0.5 ? pick(TEXT) : r < 0.93 ? pick(SUBSET) : pick(OTHER));
      }
      const source = pieces.join('');
      if (parseSubset(source)) fast++;
      expectSameAsHandlebars(source);
    }
    // Enough of them took the fast path for the comparison to mean something.
    expect(fast).toBeGreaterThan(250);
  }, 30_000);

  it('builds the same tree for well-formed nested templates of the subset, each taking the fast path', () => {
    const random = rng(7);
    const block = (depth: number): string => {
      const parts: string[] = [];
      const n = 1 + Math.floor(random() * 4);
      for (let k = 0; k < n; k++) {
        const r = random();
        if (depth < 4 && r < 0.35) {
          const [open, close] = [['{{#if tools}}', '{{/if}}'], ['{{#each tools}}', '{{/each}}'], ['{{#unless @last}}', '{{/unless}}']][Math.floor(random() * 3)]!;
          const inner = block(depth + 1);
          const otherwise = random() < 0.4 ? `{{else}}${random() < 0.5 ? '\n' : ''}${block(depth + 1)}` : '';
          parts.push(`${random() < 0.5 ? '\n' : ''}${open}${random() < 0.6 ? '\n' : ''}${inner}${otherwise}${close}${random() < 0.6 ? '\n' : ' '}`);
        } else if (r < 0.7) parts.push(['{{name}}', '{{this}}', '{{bot.id}}', '{{@index}}'][Math.floor(random() * 4)]!);
        else parts.push(['Some text.', '\n', '  - item\n', '\n\n', ' ', 'x'][Math.floor(random() * 6)]!);
      }
      return parts.join('');
    };
    for (let i = 0; i < 1500; i++) {
      const source = block(0);
      expect(parseSubset(source), source).toBeDefined();
      expectSameAsHandlebars(source);
    }
  }, 30_000);

  it('builds the same tree for every prompt of the example and fixture workspaces', () => {
    const root = path.resolve(import.meta.dirname, '..');
    const files = [...filesUnder(path.join(root, 'bots'), '.md'), ...filesUnder(path.join(root, 'prompts'), '.md'), ...filesUnder(path.join(root, 'test'), '.md')];
    expect(files.length).toBeGreaterThan(20);
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expectSameAsHandlebars(text);
      expectSameAsHandlebars(text.replace(/^---\n[\s\S]*?\n---\n/, ''));
    }
  }, 30_000);
});
