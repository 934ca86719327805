import { parentPort } from 'node:worker_threads';
import { SchemaInspector } from './integrations-schema.ts';

/**
 * The worker thread of `SchemaChecker`: takes batches of schemas as exact JSON texts and
 * answers each batch, in order, with every schema's report. The ReDoS analysis of patterns
 * (the slowest check, up to seconds for a large pattern) runs here, off the main thread.
 */
const inspector = new SchemaInspector();
parentPort!.on('message', (texts: string[]) => {
  parentPort!.postMessage(texts.map((text) => inspector.checkMethodSchema(JSON.parse(text))));
});
