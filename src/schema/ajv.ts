import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

export interface AjvOptions {
  /**
   * The schemas are compiled only to check them (the build), never to validate data: skip
   * the optimization passes over the generated code. Every strict-mode check still runs;
   * they happen while the code is generated, not while it is optimized.
   */
  checkOnly?: boolean;
}

/**
 * The one ajv configuration for method schemas, shared by the build (compile checks)
 * and the runtime (validation): strict, JSON Schema 2020-12, no `$data`, no remote
 * loading (no `loadSchema`, so a remote `$ref` can never be fetched).
 */
export function createAjv({ checkOnly = false }: AjvOptions = {}): Ajv2020 {
  const ajv = new Ajv2020({
    strict: true,
    allowUnionTypes: true,
    allErrors: false,
    $data: false,
    addUsedSchema: false,
    validateFormats: true,
    messages: true,
    ...(checkOnly ? { code: { optimize: false } } : {}),
  });
  addFormats(ajv);
  return ajv;
}

export type { Ajv2020 };
