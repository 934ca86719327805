import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/**
 * The one ajv configuration for method schemas, shared by the build (compile checks)
 * and the runtime (validation): strict, JSON Schema 2020-12, no `$data`, no remote
 * loading (no `loadSchema`, so a remote `$ref` can never be fetched).
 */
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    strict: true,
    allowUnionTypes: true,
    allErrors: false,
    $data: false,
    addUsedSchema: false,
    validateFormats: true,
    messages: true,
  });
  addFormats(ajv);
  return ajv;
}

export type { Ajv2020 };
