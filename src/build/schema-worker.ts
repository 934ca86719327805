import { parentPort } from 'node:worker_threads';
import { createAjv } from '../schema/ajv.ts';
import { schemaProblem } from './integrations-schema.ts';

/**
 * The worker thread of `SchemaChecker`: takes batches of schemas as exact JSON texts and
 * answers each batch, in order, with every schema's first problem (null when there is none).
 */
const ajv = createAjv({ checkOnly: true });
parentPort!.on('message', (texts: string[]) => {
  parentPort!.postMessage(texts.map((text) => schemaProblem(ajv, JSON.parse(text)) ?? null));
});
