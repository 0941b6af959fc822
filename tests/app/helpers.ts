import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AskResult, CollectionSummaryResult, JobEvent, ModelInfo, Precision, PrepareResult, SummaryResult } from '../../common/api';
import { LongreadError } from '../../common/errors';
import type { AskCollectionRequestLike, AssistantLike, AskRequestLike, SummarizeCollectionRequestLike, SummarizeRequestLike } from '../../main/api/assistant-host';

export function tempHome(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'longread-app-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small book in plain text with three chapters. */
export function writeBook(dir: string, name = 'The Test Voyage.txt', extra = ''): string {
  const chapter = (n: number, title: string) =>
    `CHAPTER ${n}. ${title}\n\n` + Array.from({ length: 30 }, (_, i) => `Paragraph ${i + 1} of chapter ${n} tells of ${title.toLowerCase()} and the sea.`).join('\n\n') + '\n\n';
  const text = `The Test Voyage\n\nby A. Writer\n\n${chapter(1, 'Loomings')}${chapter(2, 'The Carpet-Bag')}${chapter(3, 'The Spouter-Inn')}${extra}`;
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/**
 * Stands in for the assistant where the dispatcher's own behaviour is under test: records the
 * requests it is given and plays a fixed sequence of job events through the callback.
 */
export class RecordingAssistant implements AssistantLike {
  readonly asked: AskRequestLike[] = [];
  readonly summarized: SummarizeRequestLike[] = [];
  readonly askedCollections: AskCollectionRequestLike[] = [];
  readonly summarizedCollections: SummarizeCollectionRequestLike[] = [];
  readonly cancelled: string[] = [];
  active = 'tiny';
  closed = 0;
  private next = 1;
  readonly modelList: ModelInfo[] = [
    { id: 'tiny', name: 'Tiny', dir: '/models/tiny', bundled: true, active: true, summaries: 'extractive', answers: 'passages', precision: 'fp32', parameters: 1000 },
    { id: 'other', name: 'Other', dir: '/models/other', bundled: false, active: false, summaries: 'abstractive', answers: 'whole', precision: 'fp32', parameters: 2000 },
  ];

  ask(req: AskRequestLike, onEvent: (e: JobEvent) => void) {
    this.asked.push(req);
    const jobId = `job-${this.next++}`;
    const result: AskResult = {
      answer: 'Ishmael',
      confident: true,
      confidence: 0.9,
      answeredFrom: 'passages',
      citations: [],
      evidence: [],
      cached: false,
      model: this.active,
      documentTokens: 10,
      read: { startToken: 0, endToken: 10, startChar: 0, endChar: 100, whole: true },
      chatId: req.chatId ?? '1',
    };
    onEvent({ type: 'queued', jobId, kind: 'ask', position: 0 });
    queueMicrotask(() => {
      onEvent({ type: 'token', jobId, text: 'Ishmael' });
      onEvent({ type: 'done', jobId, result });
    });
    return { jobId, result: Promise.resolve(result) };
  }

  summarize(req: SummarizeRequestLike, onEvent: (e: JobEvent) => void) {
    this.summarized.push(req);
    const jobId = `job-${this.next++}`;
    const error = new LongreadError('no-model', 'no model');
    queueMicrotask(() => onEvent({ type: 'error', jobId, error: { code: 'no-model', message: 'no model' } }));
    return { jobId, result: Promise.reject<SummaryResult>(error) };
  }

  askCollection(req: AskCollectionRequestLike, onEvent: (e: JobEvent) => void) {
    this.askedCollections.push(req);
    const jobId = `job-${this.next++}`;
    const result: AskResult = {
      answer: '',
      confident: false,
      confidence: 0.1,
      answeredFrom: 'passages',
      citations: [],
      evidence: [],
      cached: false,
      model: this.active,
      documentTokens: 20,
      read: { startToken: 0, endToken: 20, startChar: 0, endChar: 200, whole: true },
      chatId: req.chatId ?? '2',
      collection: { id: req.collectionId, name: 'Shelf', documents: [] },
    };
    onEvent({ type: 'queued', jobId, kind: 'ask', position: 0 });
    queueMicrotask(() => onEvent({ type: 'done', jobId, result }));
    return { jobId, result: Promise.resolve(result) };
  }

  summarizeCollection(req: SummarizeCollectionRequestLike, onEvent: (e: JobEvent) => void) {
    this.summarizedCollections.push(req);
    const jobId = `job-${this.next++}`;
    const result: CollectionSummaryResult = { collection: { id: req.collectionId, name: 'Shelf' }, documents: [], cached: false, model: this.active };
    onEvent({ type: 'queued', jobId, kind: 'summarize', position: 0 });
    queueMicrotask(() => onEvent({ type: 'done', jobId, result }));
    return { jobId, result: Promise.resolve(result) };
  }

  /** Documents asked to be prepared, in order; each is ready once its job is done. */
  readonly prepared: string[] = [];

  prepare(req: { documentId: string }, onEvent: (e: JobEvent) => void) {
    this.prepared.push(req.documentId);
    const jobId = `job-${this.next++}`;
    const result: PrepareResult = { documentId: req.documentId, model: this.active, segments: 3, alreadyStored: 0, ms: 1 };
    onEvent({ type: 'queued', jobId, kind: 'prepare', position: 0, documentId: req.documentId });
    queueMicrotask(() => onEvent({ type: 'done', jobId, result }));
    return { jobId, result: Promise.resolve(result) };
  }

  readiness(documentIds: string[]) {
    return { ready: documentIds.filter((id) => this.prepared.includes(id)), storeBytes: 0, capBytes: 4 * 1024 ** 3 };
  }

  cancel(jobId: string): boolean {
    this.cancelled.push(jobId);
    return jobId.startsWith('job-');
  }

  jobs() {
    return [{ id: 'job-9', kind: 'ask', state: 'running', documentId: 'x', stage: 'encoding' }, { nonsense: true }];
  }

  models = {
    list: () => this.modelList.map((m) => ({ ...m, active: m.id === this.active })),
    import: async (dir: string, onProgress?: (p: unknown) => void, precision: Precision = 'fp32') => {
      onProgress?.({ done: 1, total: 2 });
      onProgress?.({ done: 2, total: 2 });
      const model: ModelInfo = { id: 'imported', name: 'Imported', dir, bundled: false, active: false, summaries: 'abstractive', answers: 'whole', precision, parameters: 1 };
      this.modelList.push(model);
      return model;
    },
    remove: (id: string) => {
      const i = this.modelList.findIndex((m) => m.id === id);
      if (i < 0) throw new LongreadError('model-not-found', `no model ${id}`);
      this.modelList.splice(i, 1);
    },
    setActive: (id: string) => {
      if (!this.modelList.some((m) => m.id === id)) throw new LongreadError('model-not-found', `no model ${id}`);
      this.active = id;
    },
    setPrecision: (id: string, precision: Precision) => {
      const m = this.modelList.find((x) => x.id === id);
      if (!m) throw new LongreadError('model-not-found', `no model ${id}`);
      m.precision = precision;
    },
  };

  close() {
    this.closed++;
  }
}
