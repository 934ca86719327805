import safeRegex from 'safe-regex2';
import type { Ajv2020 } from '../schema/ajv.ts';

const MAX_DEPTH = 64;
const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Checks that a method schema is a valid, safe JSON Schema (SECURITY.md item 10):
 * plain data, at most 64 levels deep, local `$ref`s only, no `$data`, no property named
 * `__proto__`, no regular expression open to catastrophic backtracking, and one that ajv
 * compiles in strict mode. Returns the first problem, or undefined.
 */
export function schemaProblem(ajv: Ajv2020, schema: unknown): string | undefined {
  if (!isPlainObject(schema)) return 'the schema must be a JSON object';
  if (schema.type !== 'object') return 'the top-level schema must have `type: "object"`';
  if (schema.$schema !== undefined && schema.$schema !== DRAFT_2020) {
    return `\`$schema\` must be \`${DRAFT_2020}\` when present`;
  }
  const structural = walk(schema, '', 0);
  if (structural) return structural;
  if (!ajv.validateSchema(schema)) {
    const error = ajv.errors?.[0];
    return error ? `${error.instancePath || '/'} ${error.message ?? 'is invalid'}` : 'the schema is invalid';
  }
  try {
    ajv.compile(schema);
  } catch (error) {
    return (error as Error).message.split('\n')[0]!.replace(/^strict mode: /, '');
  }
  return undefined;
}

function walk(value: unknown, pointer: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `the schema nests deeper than ${MAX_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = walk(value[i], `${pointer}/${i}`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      return `${pointer || '/'} is a ${typeof value}, not JSON data`;
    }
    return undefined;
  }
  if (!isPlainObject(value)) return `${pointer || '/'} is not a plain JSON object`;
  for (const key of Object.keys(value)) {
    const here = `${pointer}/${key}`;
    if (FORBIDDEN_KEYS.has(key)) return `${here}: the name \`${key}\` is not allowed in a schema`;
    const child = value[key];
    if (key === '$data') return `${here}: \`$data\` references are not allowed`;
    if ((key === '$ref' || key === '$dynamicRef') && typeof child === 'string' && !child.startsWith('#')) {
      return `${here}: remote reference \`${child}\` is not allowed; use a local \`#/$defs/...\` reference`;
    }
    if (key === '$id' && typeof child === 'string' && /^[a-z][a-z0-9+.-]*:/i.test(child)) {
      return `${here}: absolute \`$id\` \`${child}\` is not allowed`;
    }
    if (key === 'pattern' && typeof child === 'string') {
      const problem = regexProblem(child);
      if (problem) return `${here}: ${problem}`;
    }
    if (key === 'patternProperties' && isPlainObject(child)) {
      for (const pattern of Object.keys(child)) {
        const problem = regexProblem(pattern);
        if (problem) return `${here}: ${problem}`;
      }
    }
    const problem = walk(child, here, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, 'u');
  } catch {
    return `\`${pattern}\` is not a valid regular expression`;
  }
  return safeRegex(pattern) ? undefined : `\`${pattern}\` can take exponential time to match (nested quantifiers)`;
}

/**
 * The JSON text of a value that JSON represents exactly (no undefined, NaN, -0, class
 * instances), else undefined. Equal texts, key order included, are the same schema: checking
 * one answers for the other, and the text can be checked on another thread.
 */
export function exactJson(value: unknown): string | undefined {
  return isExactJson(value, 0) ? JSON.stringify(value) : undefined;
}

function isExactJson(value: unknown, depth: number): boolean {
  // Deeper than `walk` accepts (or cyclic): not cached, so `walk` reports it.
  if (depth > MAX_DEPTH + 1) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!isExactJson(value[i], depth + 1)) return false;
    return true;
  }
  if (!isPlainObject(value)) return false;
  for (const key of Object.keys(value)) if (!isExactJson(value[key], depth + 1)) return false;
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
