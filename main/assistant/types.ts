/**
 * The assistant contract: what `Assistant` takes and gives, and the messages between it and its
 * engine worker. The wire forms (AskResult, SummaryResult, Citation, JobEvent, ModelInfo) live in
 * common/api.ts; what is here adds to them without changing them.
 */
import type { AskResult, CollectionSummaryResult, JobKind, JobStage, Precision, SummaryResult } from '../../common/api';
import type { PreviousTurn } from '../../engine/qa-format';
import type { LayerEvidence } from '../../engine/vcc/encoder';
import type { VccSettings } from '../../engine/vcc/settings';
import type { WireError } from '../process/child-process';
import type { AskCollectionRequestLike, AskRequestLike, AssistantOpenOptions, SummarizeCollectionRequestLike, SummarizeRequestLike } from '../api/assistant-host';

export type AskRequest = AskRequestLike;
export type SummarizeRequest = SummarizeRequestLike;
export type AskCollectionRequest = AskCollectionRequestLike;
export type SummarizeCollectionRequest = SummarizeCollectionRequestLike;

/** The most document tokens one encode reads (the model's configured limit). */
export const DEFAULT_MAX_DOCUMENT_TOKENS = 128 * 1024;

export interface AssistantOptions extends AssistantOpenOptions {
  /** Document tokens one encode reads at most; longer documents are read in chosen windows. */
  maxDocumentTokens?: number;
  /** Tokens an answer may have at most. */
  maxAnswerTokens?: number;
  /** Answers below this confidence (0–1) are not shown (default: CONFIDENT_AT in qa.ts, calibrated on real questions). */
  confidentAt?: number;
  /** Tokens an abstractive summary may have at most (detailed; short ones get a third). */
  maxSummaryTokens?: number;
  /** How long a cancelled engine job may take to stop before its worker is ended (ms). */
  cancelGraceMs?: number;
  /** Also report a SHA-256 of the final encoder states (tests check bit-identity with it). */
  reportEncoderHash?: boolean;
  /** Environment for LONGREAD_MODEL (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** What `ask` resolves to: the wire AskResult plus facts scripts and tests may use. */
export interface AskOutcome extends AskResult {
  read: AskResult['read'] & { windows: Array<{ startToken: number; endToken: number; startChar: number; endChar: number }> };
  engine?: EngineFacts;
}

export interface SummaryOutcome extends SummaryResult {
  engine?: EngineFacts;
}

export type CollectionSummaryOutcome = CollectionSummaryResult;

/** How an answer was computed (absent when it came from the cache). */
export interface EngineFacts {
  localCacheHit: boolean;
  settings: VccSettings;
  compressedLengths: number[];
  encoderHash?: string;
  queryTokens: number;
  /** The query the VIP tokens were made from (a follow-up's includes the chat's previous turn). */
  query: string;
  timingsMs: { tokenize: number; encode: number; generate: number };
  /** The answer the model generated, shown or not (benchmarks calibrate the confidence threshold on it). */
  generated: string;
}

export interface JobHandle<T> {
  jobId: string;
  result: Promise<T>;
}

export interface JobSnapshot {
  jobId: string;
  kind: JobKind;
  documentId?: string;
  modelId: string;
  state: 'queued' | 'running';
  stage?: JobStage;
}

/** Extra per-call options (the CLI's Ctrl-C). */
export interface CallOptions {
  signal?: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// Engine protocol (engine-worker.ts in the app ↔ engine-worker-main.ts in the engine process)

export interface WorkerInit {
  modelDir: string;
  threads?: number;
  provider?: 'cpu' | 'cuda' | 'dml';
  /** fp32 when not given. */
  precision?: Precision;
  /** Where compiled graphs are cached (never inside a read-only bundled model folder). */
  graphCacheRoot: string;
  /** The library's engine-state store, opened again on the engine process's own connection. */
  engineState: { databaseFile: string; dir: string; capBytes: number } | null;
  reportEncoderHash: boolean;
}

/** A question (with the chat's previous turn when it is a follow-up), or raw text (summaries). */
export type EngineQuery = { kind: 'qa'; question: string; previous?: PreviousTurn } | { kind: 'text'; text: string };

export interface EngineTask {
  query: EngineQuery;
  documentIds: Int32Array;
  vcc: VccSettings;
  /** 'dense': full attention over a short text (an answer's passages read again); VCC otherwise. */
  attention?: 'vcc' | 'dense';
  /** Keep at least a quarter of the blocks coarse so the VIP attention ranks blocks (evidence). */
  ensureEvidence: boolean;
  /** quote: the answer is a span of documentIds (extractive). */
  generate: { maxNewTokens: number; numBeams: number; quote: boolean } | null;
  /** Persist and reuse the question-independent local-layer states under this document/model. */
  localState: { docId: string; modelId: string } | null;
}

/** The question-independent part of a cached-layout VCC ask, done before any question. */
export interface PrepareTask {
  documentIds: Int32Array;
  vcc: VccSettings;
  localState: { docId: string; modelId: string };
}

export interface EngineTaskResult {
  text: string | null;
  outputIds: number[];
  /** Sum of the natural-log probabilities the model gave the generated tokens (0 when nothing was generated). */
  logProb: number;
  evidence: LayerEvidence[];
  localCacheHit: boolean;
  settings: VccSettings;
  compressedLengths: number[];
  encoderHash?: string;
  queryTokens: number;
  /** The query text the VIP tokens were made from. */
  queryText: string;
  timingsMs: { encode: number; generate: number };
}

export interface TokenizedText {
  ids: Int32Array;
  /** [start0, end0, start1, end1, …]: each token's character range in the text. */
  offsets: Int32Array;
}

export interface ModelFacts {
  hash: string;
  parameters: number;
  numLayers: number;
  vocabSize: number;
}

export type ToWorker =
  /** The first message: which model, and how. */
  | { type: 'init'; init: WorkerInit }
  | { type: 'open'; id: number }
  | { type: 'validate'; id: number; dir: string }
  | { type: 'tokenize'; id: number; text: string }
  | { type: 'run'; id: number; task: EngineTask }
  | { type: 'prepare'; id: number; task: PrepareTask }
  | { type: 'abort'; id: number }
  | { type: 'close' };

export type { WireError };

export type FromWorker =
  /** The engine process listens (messages sent before this would be lost). */
  | { type: 'ready' }
  | { type: 'opened'; id: number; facts: ModelFacts }
  | { type: 'validated'; id: number; facts: ModelFacts }
  | { type: 'tokenized'; id: number; ids: Int32Array; offsets: Int32Array }
  | { type: 'progress'; id: number; stage: JobStage; fraction?: number; tokensPerSecond?: number }
  | { type: 'token'; id: number; text: string }
  | { type: 'result'; id: number; result: EngineTaskResult }
  /** `cached`: the states were in the store already. */
  | { type: 'prepared'; id: number; segments: number; alreadyStored: number }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'closed' };
