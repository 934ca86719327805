import { parentPort } from 'node:worker_threads';
import { payloadSchemaVerdict, SchemaInspector } from './integrations-schema.ts';

/**
 * The worker thread of `SchemaChecker`: takes batches of schemas as exact JSON texts (method
 * schemas, or webhook payload schemas) and answers each batch, in order, with every schema's
 * report (`SchemaReport`, `PayloadVerdict`). The ReDoS analysis of patterns
 * (the slowest check, up to seconds for a large pattern) runs here, off the main thread.
 */
const inspector = new SchemaInspector();
parentPort!.on('message', (batch: { kind: 'method' | 'payload'; texts: string[] }) => {
  parentPort!.postMessage(batch.texts.map((text) => (batch.kind === 'method' ? inspector.checkMethodSchema(JSON.parse(text)) : payloadSchemaVerdict(JSON.parse(text)))));
});
