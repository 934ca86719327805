import { createRequire } from 'node:module';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import type addFormatsModule from 'ajv-formats';
import { linearRegExp } from './regexp.ts';

// ajv and ajv-formats are CommonJS, loaded when the first ajv instance is made: a runtime whose
// validators all come precompiled (src/runtime/validator-cache.ts) never loads them (~100 ms).
const require = createRequire(import.meta.url);

/**
 * How code generated for standalone use (`AjvOptions.standalone`) names the linear-time
 * regular expression constructor; src/runtime/validator-cache.ts supplies it when it runs the code.
 */
export const STANDALONE_REGEXP = 'botc:linear-regexp';
const standaloneRegExp = Object.assign((pattern: string, flags: string) => linearRegExp(pattern, flags), { code: `require(${JSON.stringify(STANDALONE_REGEXP)}).linearRegExp` });

export interface AjvOptions {
  /**
   * The schemas are compiled only to check them (the build), never to validate data: skip
   * the optimization passes over the generated code, and never turn the code into a function
   * (`checkOnlyCode`); a validator of such an instance throws when called. Every strict-mode
   * check still runs; they happen while the code is generated.
   */
  checkOnly?: boolean;
  /**
   * Receives ajv's strict-mode remarks (a keyword without a matching `type`, `if` without
   * `then`, `required` naming a property the same schema does not define, ...) instead of
   * failing the compile. Such schemas are valid JSON Schema 2020-12; the build reports the
   * remarks as `method-schema-lint` warnings, the runtime ignores them.
   */
  onLint?: (message: string) => void;
  /**
   * Collect every error of a failed validation (bounded by the caller), not only the first.
   * Validation then goes on after the first error; it stays linear in the data size.
   */
  allErrors?: boolean;
  /**
   * Check each schema against the JSON Schema 2020-12 meta-schema inside `compile` (default
   * true). Compiling the meta-schema itself costs ~100 ms of CPU. The runtime, whose schemas the
   * build already checked, turns it off (src/runtime/validators.ts says why that is safe); so
   * does the build's schema checker, which runs `ajv.validateSchema` itself before it compiles
   * (checking again inside `compile` was half its validation work done twice).
   */
  validateSchema?: boolean;
  /**
   * Keep the generated code's source, so `ajv/dist/standalone` can write a compiled validator
   * out as a module (src/runtime/validator-cache.ts). Validation is the same.
   */
  standalone?: boolean;
}

/** JSON Schema 2020-12 formats that botc does not assert (ajv-formats has no checker for them). */
export const ANNOTATION_ONLY_FORMATS = ['iri', 'iri-reference', 'idn-email', 'idn-hostname'] as const;

/**
 * The one ajv configuration for method schemas, shared by the build (compile checks)
 * and the runtime (validation): JSON Schema 2020-12, no `$data`, no remote loading (no
 * `loadSchema`, so a remote `$ref` can never be fetched). Unknown keywords and unknown
 * formats fail the compile (they are typos, `maxLenght`); ajv's stylistic strict checks are
 * handed to `onLint`. Regular expressions (`pattern`, `patternProperties`) run on a
 * linear-time engine where the pattern allows it (see `linearRegExp`).
 */
export function createAjv({ checkOnly = false, onLint, allErrors = false, validateSchema = true, standalone = false }: AjvOptions = {}): Ajv2020 {
  const lint = onLint ? 'log' : false;
  const { Ajv2020: AjvClass } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  // ajv-formats is CommonJS; its export is the function itself.
  const addFormats = require('ajv-formats') as typeof addFormatsModule.default;
  const ajv = new AjvClass({
    strict: true,
    strictSchema: 'log',
    strictTypes: lint,
    strictTuples: lint,
    strictRequired: lint,
    allowUnionTypes: true,
    allErrors,
    validateSchema,
    // Errors carry the offending value, so messages can say what was given ("got a string").
    verbose: allErrors,
    $data: false,
    // `required: ["toString"]` must not be met by `{}` through Object.prototype.
    ownProperties: true,
    addUsedSchema: false,
    validateFormats: true,
    messages: true,
    logger: {
      log: () => undefined,
      warn: (...args: unknown[]) => {
        const message = String(args[0] ?? '').replace(/^strict mode: /, '');
        // Unknown keywords are typos of known ones, not style: they stay errors.
        if (message.startsWith('unknown keyword: ')) throw new Error(message);
        onLint?.(message);
      },
      error: () => undefined,
    },
    code: { regExp: standalone ? standaloneRegExp : checkOnly ? checkRegExp : linearRegExp, ...(standalone ? { source: true } : {}), ...(checkOnly ? { optimize: false, process: checkOnlyCode } : {}) },
  });
  // `$anchor` is core JSON Schema 2020-12; ajv resolves it but does not list it as a keyword.
  if (!ajv.getKeyword('$anchor')) ajv.addKeyword({ keyword: '$anchor', schemaType: 'string' });
  addFormats(ajv);
  // Formats of JSON Schema 2020-12 that ajv-formats does not implement: accepted as
  // annotations (any string passes) rather than refused as unknown.
  for (const format of ANNOTATION_ONLY_FORMATS) if (!ajv.formats[format]) ajv.addFormat(format, true);
  return ajv;
}

/**
 * The code of a validator compiled only to check its schema: a function that is never called.
 * ajv makes every check of a schema (strict mode, unknown keywords and formats, references,
 * patterns) while it generates the validator's code; turning that code into a function
 * (`new Function`, a quarter of the compile's time) checks nothing more. The JSON Schema
 * meta-schemas (`https://json-schema.org/...`) keep their code: `validateSchema` runs them.
 */
function checkOnlyCode(code: string, env?: { baseId?: string; root?: { baseId?: string } }): string {
  // Either base counts (a root without `$id` has an empty one): in doubt, the real code.
  const meta = [env?.baseId, env?.root?.baseId].some((base) => typeof base === 'string' && base.startsWith('https://json-schema.org/'));
  return meta ? code : 'return function validate() { throw new Error("a schema compiled only to be checked cannot validate"); }';
}

/**
 * The patterns of an instance that compiles schemas only to check them (the build): ajv builds
 * each `pattern` while it generates code, and refuses the schema when building throws. A check
 * never matches anything, so the pattern is built by ECMAScript's engine only: `linearRegExp`
 * throws exactly when `new RegExp(pattern, flags)` does (it builds that too, whatever RE2 makes
 * of the pattern), so the verdict is the same without compiling the pattern for RE2 as well.
 * Whether a pattern may run in linear time is the build's own check (`patternProblem`).
 */
const checkRegExp = Object.assign((pattern: string, flags: string) => new RegExp(pattern, flags), { code: linearRegExp.code });

/**
 * The base URI botc gives a schema that declares no `$id` of its own. JSON Schema leaves
 * that base to the implementation; ajv needs one to resolve a bare `"$ref": "#"` (a
 * recursive schema). The `.invalid` domain can never be fetched, and nothing is fetched.
 */
export const DEFAULT_BASE_URI = 'https://botc.invalid/schema.json';

/** The schema to hand to `ajv.compile`: with botc's base URI when it declares no `$id`. */
export function withBaseUri<T extends object>(schema: T): T {
  return '$id' in schema ? schema : { $id: DEFAULT_BASE_URI, ...schema };
}

export type { Ajv2020 };
