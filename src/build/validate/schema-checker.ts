import { Worker } from 'node:worker_threads';
import { exactJson, payloadSchemaVerdict, SchemaInspector, type PayloadVerdict, type SchemaReport } from './integrations-schema.ts';
import { cacheKey, botcVersionTag, type BuildCache } from '../cache/cache.ts';

/**
 * The worker script, beside this module once compiled. Run from TypeScript sources (the
 * tests), there is no script a worker could load, so checks run on the calling thread.
 */
const WORKER_URL = import.meta.url.endsWith('.js') ? new URL('./schema-worker.js', import.meta.url) : undefined;

/**
 * Checks method schemas (the rules: docs/security.md), each distinct schema once. Compiling a schema
 * with ajv is the costliest check of a build, so schemas submitted early are compiled on a
 * worker thread while the main thread loads the bots; `problem` answers from those results,
 * and checks on the spot whatever the worker did not answer.
 */
export class SchemaChecker {
  /** Reports by exact JSON text. */
  private readonly answers = new Map<string, SchemaReport>();
  private readonly submitted = new Set<string>();
  /**
   * Batches posted to the worker and not answered yet, oldest first: it answers in order. A
   * batch of webhook payload schemas has the caller's `answer` waiting for its verdicts.
   */
  private readonly batches: ({ kind: 'method'; texts: string[] } | { kind: 'payload'; texts: string[]; answer: (verdicts: PayloadVerdict[]) => void })[] = [];
  private worker: Worker | undefined;
  private idle: (() => void) | undefined;
  private inspector: SchemaInspector | undefined;
  /** Exact JSON texts whose reports were computed in this build (not read from the cache). */
  private readonly fresh = new Set<string>();
  private closed = false;
  /** While assuming (see `assumeOutstanding`): the schemas answered as passing before the worker had, by exact JSON text. */
  private assumed: Map<string, unknown> | undefined;

  /**
   * With a `cache`, a schema whose report is stored (keyed by its exact JSON text and botc's
   * version) is not checked again, and new reports are stored by `settle`. The worker thread
   * starts only when some schema is not in the cache.
   */
  constructor(private readonly cache?: BuildCache) {}

  private startWorker(): void {
    if (!WORKER_URL || this.worker || this.closed) return;
    try {
      this.worker = new Worker(WORKER_URL);
    } catch {
      return; // no threads here: every check runs in `report`
    }
    this.worker.on('message', (reports: unknown[]) => {
      const batch = this.batches.shift();
      if (batch?.kind === 'method') {
        batch.texts.forEach((text, i) => {
          this.answers.set(text, reports[i] as SchemaReport);
          this.fresh.add(text);
        });
      } else batch?.answer(reports as PayloadVerdict[]);
      if (this.batches.length === 0) this.idle?.();
    });
    // A failed worker answers nothing more; `report` checks the rest itself.
    const stop = () => {
      this.worker = undefined;
      this.dropBatches();
      this.idle?.();
    };
    this.worker.on('error', stop);
    this.worker.on('exit', stop);
    // The worker keeps the process alive while answers are awaited (an unref'd worker would
    // let a waiting build end with its promise unsettled); `close`, on every way out of a
    // build, ends it.
  }

  /**
   * Starts the worker now, before any schema is known, when this looks like a cold build (no
   * cache, or no schema report stored yet): loading ajv, recheck and re2js on the worker then
   * overlaps the main thread's loading of the integration modules. A warm build, whose reports
   * are stored, starts no worker unless some schema misses.
   */
  prestart(): void {
    if (this.cache?.mayHold('schema')) return;
    this.startWorker();
  }

  /** Starts checking these schemas, if a worker is running. */
  submit(schemas: readonly unknown[]): void {
    const batch: string[] = [];
    for (const schema of schemas) {
      const text = exactJson(schema);
      if (text === undefined || this.submitted.has(text)) continue;
      this.submitted.add(text);
      const stored = this.cache?.get<SchemaReport>('schema', schemaKey(text));
      if (stored && isReport(stored)) this.answers.set(text, stored);
      else batch.push(text);
    }
    if (batch.length === 0) return;
    this.startWorker();
    if (!this.worker) return;
    this.batches.push({ kind: 'method', texts: batch });
    this.worker.postMessage({ kind: 'method', texts: batch });
  }

  /**
   * Whether each webhook payload schema (exact JSON texts) compiles, checked on the worker when
   * one runs (ajv is then not loaded on the calling thread at all), else here; in order.
   */
  checkPayloads(texts: readonly string[]): Promise<PayloadVerdict[]> {
    if (texts.length === 0) return Promise.resolve([]);
    this.startWorker();
    const worker = this.worker;
    if (!worker) return Promise.resolve(texts.map((text) => payloadSchemaVerdict(JSON.parse(text))));
    return new Promise((answer) => {
      this.batches.push({ kind: 'payload', texts: [...texts], answer });
      worker.postMessage({ kind: 'payload', texts });
    });
  }

  /** Forgets every batch the worker will not answer now; payload checks waiting on one are answered here. */
  private dropBatches(): void {
    for (const batch of this.batches.splice(0)) {
      if (batch.kind === 'payload') batch.answer(batch.texts.map((text) => payloadSchemaVerdict(JSON.parse(text))));
    }
  }

  /** Whether some submitted schema is still being checked on the worker. */
  get outstanding(): boolean {
    return this.worker !== undefined && this.batches.length > 0;
  }

  /**
   * From now on, `report` answers a schema the worker is still checking as passing (no error,
   * no lint) instead of waiting for it, and remembers the assumption; `confirm` then tells
   * whether every assumption held. This lets a build go on with its bots while ajv compiles,
   * and redo only what a wrong guess touched (src/build/compile.ts).
   */
  assumeOutstanding(): void {
    this.assumed = new Map();
  }

  /**
   * Waits for every answer (as `settle`) and stops assuming. `held`: each schema `report`
   * assumed passing does pass; `lints`: some has lints but none an error (the methods kept are
   * the same, only warnings differ); `errors`: some has an error (a method the guess kept is
   * in fact dropped).
   */
  async confirm(): Promise<'held' | 'lints' | 'errors'> {
    await this.settle();
    const assumed = this.assumed ?? new Map<string, unknown>();
    this.assumed = undefined;
    let verdict: 'held' | 'lints' = 'held';
    for (const schema of assumed.values()) {
      const report = this.report(schema);
      if (report.error) return 'errors';
      if (report.lints.length > 0) verdict = 'lints';
    }
    return verdict;
  }

  /** Waits for the answers to everything submitted, then stops the worker. */
  async settle(): Promise<void> {
    if (this.batches.length > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    const worker = this.worker;
    this.worker = undefined;
    this.closed = true;
    await worker?.terminate();
  }

  /** Stores every report computed in this build (not those read from the cache). */
  store(): void {
    if (!this.cache) return;
    for (const text of this.fresh) this.cache.put('schema', schemaKey(text), this.answers.get(text));
    this.fresh.clear();
  }

  /**
   * Stops the worker now, whatever it is doing; answers not yet received are checked on the
   * calling thread by `report`. Safe to call more than once. Every way out of a build calls
   * this (a `finally`), so a build that throws leaves no thread behind.
   */
  close(): void {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.dropBatches();
    this.idle?.();
    // Not awaited: the thread is told to stop and no longer holds the process open.
    if (worker) {
      worker.unref();
      void worker.terminate();
    }
  }

  /**
   * The report of a method schema: its first error (`method-schema-invalid`), or else its
   * lints (`method-schema-lint`), each with a JSON Pointer into the schema.
   */
  report(schema: unknown): SchemaReport {
    const text = exactJson(schema);
    const known = text === undefined ? undefined : this.answers.get(text);
    if (known) return known;
    if (this.assumed && text !== undefined && this.worker && this.submitted.has(text)) {
      this.assumed.set(text, schema);
      return PASSING;
    }
    const report = (this.inspector ??= new SchemaInspector()).checkMethodSchema(schema);
    if (text !== undefined) {
      this.answers.set(text, report);
      this.fresh.add(text);
    }
    return report;
  }
}

/** What `report` answers for a schema it assumes passes (see `assumeOutstanding`). */
const PASSING: SchemaReport = Object.freeze({ lints: Object.freeze([]) as unknown as SchemaReport['lints'] });

/** The cache key of a schema's report: its exact JSON text and botc's version. */
function schemaKey(text: string): string {
  return cacheKey('schema', botcVersionTag(), text);
}

/** A stored report has the shape `report` returns (an entry of the right format could still be hand-made). */
function isReport(value: unknown): value is SchemaReport {
  if (value === null || typeof value !== 'object') return false;
  const report = value as { lints?: unknown; error?: unknown };
  const finding = (f: unknown) => f !== null && typeof f === 'object' && typeof (f as { message?: unknown }).message === 'string' && typeof (f as { pointer?: unknown }).pointer === 'string';
  return Array.isArray(report.lints) && report.lints.every(finding) && (report.error === undefined || finding(report.error));
}
