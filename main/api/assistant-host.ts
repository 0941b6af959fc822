import type { AskResult, CollectionSummaryResult, CompressionPreset, JobEvent, JobInfo, ModelInfo, Precision, PrepareResult, Provider, SummaryResult } from '../../common/api';
import { LongreadError } from '../../common/errors';
import type { Library } from '../library/library';
import type { SettingsStore } from './settings';

/** What the API needs of the assistant (`main/assistant/assistant.ts`, see the assistant contract). */
export interface AssistantLike {
  ask(req: AskRequestLike, onEvent: (e: JobEvent) => void): { jobId: string; result: Promise<AskResult> };
  summarize(req: SummarizeRequestLike, onEvent: (e: JobEvent) => void): { jobId: string; result: Promise<SummaryResult> };
  prepare(req: { documentId: string; modelId?: string }, onEvent: (e: JobEvent) => void): { jobId: string; result: Promise<PrepareResult> };
  readiness(documentIds: string[], modelId?: string): { ready: string[]; storeBytes: number; capBytes: number };
  askCollection(req: AskCollectionRequestLike, onEvent: (e: JobEvent) => void): { jobId: string; result: Promise<AskResult> };
  summarizeCollection(req: SummarizeCollectionRequestLike, onEvent: (e: JobEvent) => void): { jobId: string; result: Promise<CollectionSummaryResult> };
  cancel(jobId: string): boolean;
  jobs(): unknown[] | Promise<unknown[]>;
  models: {
    list(): ModelInfo[] | Promise<ModelInfo[]>;
    import(dir: string, onProgress?: (p: unknown) => void, precision?: Precision): ModelInfo | Promise<ModelInfo>;
    remove(id: string): unknown;
    setActive(id: string): unknown;
    setPrecision(id: string, precision: Precision): unknown;
  };
  close(): unknown;
}

export interface AskRequestLike {
  documentId: string;
  question: string;
  chatId?: string;
  sections?: { from: number; to: number };
  modelId?: string;
}
export interface AskCollectionRequestLike {
  collectionId: string;
  question: string;
  chatId?: string;
  modelId?: string;
}
export interface SummarizeCollectionRequestLike {
  collectionId: string;
  length: 'short' | 'detailed';
  regenerate?: boolean;
  modelId?: string;
}
export interface SummarizeRequestLike {
  documentId: string;
  section?: number;
  length: 'short' | 'detailed';
  regenerate?: boolean;
  modelId?: string;
}

export interface AssistantOpenOptions {
  library: Library;
  home: string;
  threads?: number;
  provider?: Provider;
  /** How hard VCC compresses (Settings → compression). */
  compression?: CompressionPreset;
  /** The bundled models folder when the host knows it (the packaged app: unpacked from asar). */
  modelDir?: string;
}

export type OpenAssistant = (options: AssistantOpenOptions) => Promise<AssistantLike>;

/**
 * Opens the assistant on first use with the current settings, and again after the engine
 * settings (provider, threads, compression) change. A failed open is not remembered, so fixing the cause
 * (importing a model, choosing CPU) and retrying works.
 */
export class AssistantHost {
  private opening: Promise<AssistantLike> | null = null;

  constructor(
    private readonly openAssistant: OpenAssistant,
    private readonly base: Omit<AssistantOpenOptions, 'threads' | 'provider' | 'compression'>,
    private readonly settings: SettingsStore,
  ) {}

  get(): Promise<AssistantLike> {
    if (!this.opening) {
      const s = this.settings.get();
      const opening = this.openAssistant({ ...this.base, threads: s.threads || undefined, provider: s.provider, compression: s.compression }).then(async (assistant) => {
        if (s.model) {
          try {
            await assistant.models.setActive(s.model);
          } catch {
            // the chosen model was removed outside the app: keep the assistant's own choice
          }
        }
        return assistant;
      });
      opening.catch(() => {
        if (this.opening === opening) this.opening = null;
      });
      this.opening = opening;
    }
    return this.opening;
  }

  /** Whether an assistant is open (without opening one). */
  get isOpen(): boolean {
    return this.opening !== null;
  }

  /** Closes the current assistant (its jobs end); the next call opens a new one with the settings then in force. */
  async restart(): Promise<void> {
    const previous = this.opening;
    this.opening = null;
    if (!previous) return;
    try {
      await (await previous).close();
    } catch {
      // it never opened: nothing to close
    }
  }

  close(): Promise<void> {
    return this.restart();
  }
}

/** The wire form of whatever the assistant reports as a job. */
export function jobInfoOf(job: unknown): JobInfo | null {
  if (typeof job !== 'object' || job === null) return null;
  const j = job as Record<string, unknown>;
  const jobId = typeof j.jobId === 'string' ? j.jobId : typeof j.id === 'string' ? j.id : null;
  const kind = j.kind === 'ask' || j.kind === 'summarize' || j.kind === 'prepare' || j.kind === 'ingest' ? j.kind : null;
  if (!jobId || !kind) return null;
  const state = j.state === 'running' || j.status === 'running' ? 'running' : 'queued';
  const info: JobInfo = { jobId, kind, state };
  if (typeof j.documentId === 'string') info.documentId = j.documentId;
  if (typeof j.stage === 'string') info.stage = j.stage as JobInfo['stage'];
  return info;
}

export function noAssistant(): LongreadError {
  return new LongreadError('no-model', 'No model is available: import a Hugging Face T5 folder in Settings → Models (or `longread models import DIR`).');
}
