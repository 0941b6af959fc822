/**
 * The app API: every call the renderer makes to the main side, every answer and every event,
 * the same in the desktop app (Electron IPC through `window.longread`) and in browser mode
 * (JSON over HTTP + events over WebSocket, see `main/server/wire.md`).
 *
 * Every request has a zod schema; the main side validates each payload against it before a
 * handler sees it. Each call answers with an `ApiResult` envelope, never a thrown error, so the
 * error's `code` survives every transport. This file is imported by the renderer: zod and
 * types only, no Node.
 *
 * Stability: changes to this file are additive only (new methods, new optional fields, new
 * event types).
 */
import { z } from 'zod';
import type { DocumentPage, DocumentSection, DocumentType, IngestPhase, PageKind, TokenCount } from './document';
import { PRECISIONS, type Precision } from './precision';

// ---------------------------------------------------------------------------------------------
// Building blocks

/** A document id: SHA-256 of the file's bytes, 64 lowercase hex digits. */
export const documentIdSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a document id is 64 lowercase hex digits');
/** A chat id, as a decimal string ("12"). */
export const chatIdSchema = z.string().regex(/^[1-9][0-9]{0,15}$/, 'a chat id is a positive whole number written as a string');
export const collectionIdSchema = z.string().regex(/^[1-9][0-9]{0,15}$/, 'a collection id is a positive whole number written as a string');
const collectionNameSchema = z.string().trim().min(1, 'a collection needs a name').max(200);
export const jobIdSchema = z.string().min(1).max(100);
export const modelIdSchema = z.string().min(1).max(200);
/** An absolute path on the machine running the main side. */
export const absolutePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.includes('\0'), 'a path cannot contain NUL characters')
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'), 'the path must be absolute');
/** A plain file name (no folders), as picked or dropped by the user. */
export const fileNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((n) => !/[\\/\0]/.test(n) && n !== '.' && n !== '..', 'a file name cannot contain slashes or NUL characters');

/** The password of a protected PDF (sent only to open that file; never stored). */
export const pdfPasswordSchema = z.string().min(1).max(1024);

export const PROVIDERS = ['cpu', 'cuda', 'dml'] as const;
export { PRECISIONS, type Precision };
export type Provider = (typeof PROVIDERS)[number];
/** How hard VCC compresses: `fast` keeps fewer tokens at full resolution, `accurate` more. */
export const COMPRESSION_PRESETS = ['fast', 'balanced', 'accurate'] as const;
export type CompressionPreset = (typeof COMPRESSION_PRESETS)[number];
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

export const settingsSchema = z.strictObject({
  /** The model to use (a `ModelInfo.id`); null: the bundled default, or the first installed. */
  model: modelIdSchema.nullable(),
  provider: z.enum(PROVIDERS),
  /** Engine threads; 0 = choose from the number of cores. */
  threads: z.number().int().min(0).max(256),
  compression: z.enum(COMPRESSION_PRESETS),
  theme: z.enum(THEMES),
  /** Prepare each document added for fast questions, in the background (the assistant's `prepare`). */
  prepareAfterAdd: z.boolean(),
  /** Disk space the prepared states (engine-state store) may use, GiB; least recently used go first. */
  stateCacheGiB: z.number().min(0.25).max(1024),
  /** Read PDF pages without a text layer (scans) by OCR; off, such a PDF is refused as `pdf-scanned`. */
  ocr: z.boolean(),
});
export type Settings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: Settings = { model: null, provider: 'cpu', threads: 0, compression: 'accurate', theme: 'system', prepareAfterAdd: true, stateCacheGiB: 4, ocr: true };

// ---------------------------------------------------------------------------------------------
// Assistant types (the wire form of the assistant contract, `main/assistant/types.ts`)

export type JobKind = 'ask' | 'summarize' | 'prepare' | 'ingest';
export type JobStage = 'queued' | 'loading-model' | 'reading' | 'tokenizing' | 'encoding' | 'generating' | 'summarizing';

export interface Citation {
  documentId: string;
  /** Character range in the document's text (UTF-16 offsets, end exclusive). */
  start: number;
  end: number;
  quote: string;
  page?: number;
  section?: { index: number; title: string };
  score: number;
  /** The document's title: set on the citations of an answer about a collection, whose citations come from several documents. */
  documentTitle?: string;
}

/** One block a VCC layer kept at token resolution, as a range of the document. */
export interface EvidenceBlock {
  /** Document token range [startToken, endToken) for the answering model. */
  startToken: number;
  endToken: number;
  /** Character range [start, end) in the document's text. */
  start: number;
  end: number;
  /** The VIP tokens' average attention to the block when it was chosen. */
  score: number;
  /** The document the block is in: set on an answer about a collection (then the ranges are that document's). */
  documentId?: string;
}

/** What an answer about a collection read of each of its documents (token and character ranges of that document). */
export interface CollectionRead {
  id: string;
  name: string;
  documents: Array<{
    documentId: string;
    title: string;
    documentTokens: number;
    /** Empty when nothing of the document was read (the collection was over the limit and search found nothing there). */
    windows: Array<{ startToken: number; endToken: number; startChar: number; endChar: number }>;
  }>;
}

/** Said instead of an answer the model is not confident of (CLI and chat alike), before the best passages. */
export const NO_CONFIDENT_ANSWER = 'No confident answer in this text; the passages that match the question best:';

export interface AskResult {
  /** Empty when the model was not confident enough (`confident: false`): then the citations are the passages that match best. */
  answer: string;
  /** Whether the answer's confidence reached the threshold calibrated on real questions (main/assistant/qa.ts). */
  confident: boolean;
  /** The model's confidence in its answer, 0–1 (geometric mean of its answer tokens' probabilities). */
  confidence: number;
  citations: Citation[];
  /** Where the answer was read from: the best-ranked passages read again in full, or the whole compressed text. */
  answeredFrom: 'passages' | 'whole';
  /** For each VCC layer, the blocks it read closely (the citations are the best of these, widened to sentences). */
  evidence: Array<{ layer: number; blocks: EvidenceBlock[] }>;
  cached: boolean;
  model: string;
  documentTokens: number;
  /** For a collection, documentTokens and the ranges here count over its documents joined in order; `collection` has each document's. */
  read: { startToken: number; endToken: number; startChar: number; endChar: number; whole: boolean; note?: string };
  chatId: string;
  /** Set when the question was asked of a collection: what was read of each document. */
  collection?: CollectionRead;
}

/** A document made ready for fast questions: its local-layer states are in the engine-state store. */
export interface PrepareResult {
  documentId: string;
  model: string;
  /** Segments of the document's tokens, and how many of them were stored already. */
  segments: number;
  alreadyStored: number;
  ms: number;
}

export interface SummaryResult {
  summary: string;
  kind: 'extractive' | 'abstractive';
  sections: Array<{ index: number; title: string; summary: string }>;
  citations: Citation[];
  cached: boolean;
  model: string;
}

/** Each document's own summary (the per-document summary, cached as it is), in the collection's order. */
export interface CollectionSummaryResult {
  collection: { id: string; name: string };
  documents: Array<{ documentId: string; title: string; summary: SummaryResult }>;
  /** Every document's summary came from the cache. */
  cached: boolean;
  model: string;
}

export interface ModelInfo {
  id: string;
  name: string;
  dir: string;
  bundled: boolean;
  active: boolean;
  summaries: 'extractive' | 'abstractive';
  /** passages: answers are read again from the passages VCC ranks highest; whole: from the whole compressed document. */
  answers: 'passages' | 'whole';
  precision: Precision;
  parameters: number;
}

/** A T5 model found in the user's Hugging Face cache (offline; `models.import` with its path imports it). */
export interface CachedModel {
  repoId: string;
  /** The snapshot folder. */
  path: string;
  /** What an import copies. */
  sizeBytes: number;
}

export interface ErrorBody {
  /** Stable code to switch on: `invalid-request`, `unknown-method`, `forbidden`, `unsupported`, `no-model`, `document-not-found`, … */
  code: string;
  /** Written for people. */
  message: string;
  /** The file concerned, when there is one. */
  file?: string;
  /** For `invalid-request`: what is wrong with which field. */
  issues?: Array<{ path: string; message: string }>;
}

export type JobEvent =
  | { type: 'queued'; jobId: string; kind: JobKind; position: number; documentId?: string }
  | { type: 'progress'; jobId: string; stage: JobStage; fraction?: number; detail?: string; tokensPerSecond?: number }
  | { type: 'token'; jobId: string; text: string }
  | { type: 'done'; jobId: string; result: AskResult | SummaryResult | CollectionSummaryResult | PrepareResult }
  | { type: 'error'; jobId: string; error: ErrorBody }
  | { type: 'cancelled'; jobId: string };

export interface JobInfo {
  jobId: string;
  kind: JobKind;
  documentId?: string;
  state: 'queued' | 'running';
  stage?: JobStage;
}

// ---------------------------------------------------------------------------------------------
// Data the API returns

export interface DocumentFileInfo {
  path: string;
  version: number;
  addedAt: number;
}

export interface DocumentInfo {
  id: string;
  type: DocumentType;
  title: string;
  author: string | null;
  pageKind: PageKind;
  pageCount: number;
  sectionCount: number;
  charCount: number;
  byteSize: number;
  addedAt: number;
  warnings: string[];
  files: DocumentFileInfo[];
  /** Tokens for the active model, once counted (at ingest, or by the first question); null when unknown. */
  tokens: TokenCount | null;
}

export interface DocumentDetail {
  info: DocumentInfo;
  /** The readable text; citations, sections and pages are ranges into it. */
  text: string;
  sections: DocumentSection[];
  pages: DocumentPage[];
  /** Token count for the active model, when known. */
  tokens: TokenCount | null;
  /** Whether `document.file` can serve the source file (it is still on disk, unchanged). */
  fileAvailable: boolean;
}

export interface AddedDocument {
  status: 'added' | 'new-version' | 'existing';
  document: DocumentInfo;
  path: string;
}

export interface SearchHit {
  docId: string;
  title: string;
  page: number;
  label: string | null;
  start: number;
  end: number;
  snippet: string;
}

export interface ChatInfo {
  id: string;
  documentId: string | null;
  /** The collection the chat's questions were asked of, when they were. */
  collectionId?: string;
  title: string;
  createdAt: number;
  updatedAt: number;
}

/** A named set of documents; a document may be in several. */
export interface CollectionInfo {
  id: string;
  name: string;
  /** Its documents' ids, in the order they were put in. */
  documentIds: string[];
  createdAt: number;
  updatedAt: number;
}

export interface ChatMessage {
  id: number;
  chatId: string;
  role: 'user' | 'assistant' | 'system';
  content: string;
  /** Whatever the assistant attached (citations, model, read range…); null for user messages. */
  meta: unknown;
  createdAt: number;
}

/** The source file's bytes (for the PDF reader). Over HTTP this call answers with the raw bytes instead of JSON. */
export interface DocumentFile {
  name: string;
  mimeType: string;
  bytes: Uint8Array;
}

export interface AppInfo {
  version: string;
  /** `electron`: the desktop app; `browser`: served by `longread serve`. */
  mode: 'electron' | 'browser';
  platform: string;
  dataHome: string;
  /** Where the library database was moved aside on open (it was damaged), when that happened. */
  notice?: string;
}

export interface Markdown {
  fileName: string;
  markdown: string;
}

// ---------------------------------------------------------------------------------------------
// Requests: one schema per method

const summaryResultSchema = z.object({
  summary: z.string().max(5_000_000),
  kind: z.enum(['extractive', 'abstractive']),
  sections: z.array(z.object({ index: z.number().int().min(0), title: z.string().max(10_000), summary: z.string().max(5_000_000) })).max(100_000),
  citations: z
    .array(
      z.object({
        documentId: z.string(),
        start: z.number().int().min(0),
        end: z.number().int().min(0),
        quote: z.string().max(1_000_000),
        page: z.number().int().optional(),
        section: z.object({ index: z.number().int(), title: z.string() }).optional(),
        score: z.number(),
      }),
    )
    .max(100_000),
  cached: z.boolean(),
  model: z.string(),
});

const empty = z.strictObject({});

export const requestSchemas = {
  'app.info': empty,

  'library.list': empty,
  /** Adds files by absolute path (desktop: dropped/opened files; browser mode: paths on the server's machine). */
  'library.add': z.strictObject({ paths: z.array(absolutePathSchema).min(1).max(1000), password: pdfPasswordSchema.optional() }),
  /** Browser mode: adds a file from its bytes (base64). Also accepted over HTTP as a raw body, see wire.md. */
  'library.upload': z.strictObject({ name: fileNameSchema, data: z.base64().max(700 * 1024 * 1024), password: pdfPasswordSchema.optional() }),
  /** Desktop only: shows the system's open dialog and adds the chosen files (empty when cancelled). */
  'library.pick': empty,
  'library.remove': z.strictObject({ id: documentIdSchema }),
  /** Stops adding the file at `path` (as the ingest-progress events name it); what was read is dropped. */
  'library.cancelAdd': z.strictObject({ path: absolutePathSchema }),
  'library.search': z.strictObject({
    query: z.string().min(1).max(1000),
    documentId: documentIdSchema.optional(),
    limit: z.number().int().min(1).max(500).optional(),
  }),

  'document.get': z.strictObject({ id: documentIdSchema }),
  'document.file': z.strictObject({ id: documentIdSchema }),

  /** The chats about a document, or about a collection, or all of them. */
  'chats.list': z.strictObject({ documentId: documentIdSchema.optional(), collectionId: collectionIdSchema.optional() }),
  'chats.create': z.strictObject({ documentId: documentIdSchema.nullable(), title: z.string().max(500).optional() }),
  'chats.messages': z.strictObject({ chatId: chatIdSchema }),
  'chats.remove': z.strictObject({ chatId: chatIdSchema }),

  'collections.list': z.strictObject({ documentId: documentIdSchema.optional() }),
  'collections.create': z.strictObject({ name: collectionNameSchema }),
  'collections.rename': z.strictObject({ collectionId: collectionIdSchema, name: collectionNameSchema }),
  /** Deletes the collection; its documents stay in the library. */
  'collections.remove': z.strictObject({ collectionId: collectionIdSchema }),
  'collections.addDocuments': z.strictObject({ collectionId: collectionIdSchema, documentIds: z.array(documentIdSchema).min(1).max(10_000) }),
  'collections.removeDocuments': z.strictObject({ collectionId: collectionIdSchema, documentIds: z.array(documentIdSchema).min(1).max(10_000) }),

  /** Starts a job and answers with its id at once; its progress, text and result come as events. */
  'assistant.ask': z.strictObject({
    documentId: documentIdSchema,
    question: z.string().trim().min(1, 'the question is empty').max(20_000),
    chatId: chatIdSchema.optional(),
    sections: z.strictObject({ from: z.number().int().min(0), to: z.number().int().min(0) }).refine((s) => s.from <= s.to, 'sections.from must not be after sections.to').optional(),
    modelId: modelIdSchema.optional(),
  }),
  'assistant.summarize': z.strictObject({
    documentId: documentIdSchema,
    section: z.number().int().min(0).optional(),
    length: z.enum(['short', 'detailed']),
    regenerate: z.boolean().optional(),
    modelId: modelIdSchema.optional(),
  }),
  /** A question asked of every document in a collection; its citations name their documents. */
  'assistant.askCollection': z.strictObject({
    collectionId: collectionIdSchema,
    question: z.string().trim().min(1, 'the question is empty').max(20_000),
    chatId: chatIdSchema.optional(),
    modelId: modelIdSchema.optional(),
  }),
  /** Each document's summary in a collection (a CollectionSummaryResult). */
  'assistant.summarizeCollection': z.strictObject({
    collectionId: collectionIdSchema,
    length: z.enum(['short', 'detailed']),
    regenerate: z.boolean().optional(),
    modelId: modelIdSchema.optional(),
  }),
  'assistant.cancel': z.strictObject({ jobId: jobIdSchema }),
  'assistant.jobs': empty,
  /**
   * Runs the question-independent part of reading a document once (VCC's local layers) and keeps
   * it, so questions about it skip that work. A job at low priority: a question or summary asked
   * meanwhile goes first, and the preparation continues after it.
   */
  'assistant.prepare': z.strictObject({ documentId: documentIdSchema, modelId: modelIdSchema.optional() }),
  /** Which of these documents are ready for fast questions with the active model, and the store's use. */
  'assistant.readiness': z.strictObject({ documentIds: z.array(documentIdSchema).max(100_000) }),

  'settings.get': empty,
  /** Changes some settings; answers with all of them. */
  'settings.set': settingsSchema.partial().strict(),

  'models.list': empty,
  /** The T5 models in the Hugging Face cache (HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). */
  'models.cached': empty,
  /** Imports a Hugging Face T5 folder (absolute path) into the data home. */
  'models.import': z.strictObject({ dir: absolutePathSchema, precision: z.enum(PRECISIONS).optional() }),
  /** Desktop only: shows a folder dialog, then imports the chosen folder (null when cancelled). */
  'models.pick': empty,
  'models.use': z.strictObject({ id: modelIdSchema }),
  'models.remove': z.strictObject({ id: modelIdSchema }),
  'models.setPrecision': z.strictObject({ id: modelIdSchema, precision: z.enum(PRECISIONS) }),

  'export.chat': z.strictObject({ chatId: chatIdSchema }),
  'export.summary': z.strictObject({ documentId: documentIdSchema, section: z.number().int().min(0).optional(), summary: summaryResultSchema }),
  /** Desktop only: a save dialog for Markdown from `export.*` (browser mode downloads it instead). */
  'export.save': z.strictObject({ fileName: fileNameSchema, content: z.string().max(50_000_000) }),
} as const;

export type ApiMethod = keyof typeof requestSchemas;
export const API_METHODS = Object.keys(requestSchemas) as ApiMethod[];

/** What the caller sends (before defaults/transforms). */
export type ApiRequests = { [M in ApiMethod]: z.input<(typeof requestSchemas)[M]> };
/** What a handler receives after validation. */
export type ApiParsedRequests = { [M in ApiMethod]: z.output<(typeof requestSchemas)[M]> };

export interface ApiResponses {
  'app.info': AppInfo;
  'library.list': { documents: DocumentInfo[] };
  'library.add': { added: AddedDocument[] };
  'library.upload': AddedDocument;
  'library.pick': { added: AddedDocument[] };
  'library.remove': { removed: DocumentInfo };
  'library.cancelAdd': { cancelled: boolean };
  'library.search': { hits: SearchHit[] };
  'document.get': DocumentDetail;
  'document.file': DocumentFile;
  'chats.list': { chats: ChatInfo[] };
  'chats.create': ChatInfo;
  'chats.messages': { chat: ChatInfo; messages: ChatMessage[] };
  'chats.remove': { removed: boolean };
  /** All collections, or those holding `documentId`. */
  'collections.list': { collections: CollectionInfo[] };
  'collections.create': CollectionInfo;
  'collections.rename': CollectionInfo;
  'collections.remove': { removed: CollectionInfo };
  'collections.addDocuments': CollectionInfo;
  'collections.removeDocuments': CollectionInfo;
  'assistant.ask': { jobId: string };
  'assistant.summarize': { jobId: string };
  'assistant.askCollection': { jobId: string };
  'assistant.summarizeCollection': { jobId: string };
  'assistant.cancel': { cancelled: boolean };
  'assistant.jobs': { jobs: JobInfo[] };
  'assistant.prepare': { jobId: string };
  'assistant.readiness': { ready: string[]; storeBytes: number; capBytes: number };
  'settings.get': Settings;
  'settings.set': Settings;
  'models.list': { models: ModelInfo[] };
  'models.cached': { models: CachedModel[] };
  'models.import': { model: ModelInfo };
  'models.pick': { model: ModelInfo | null };
  'models.use': { models: ModelInfo[] };
  'models.remove': { models: ModelInfo[] };
  'models.setPrecision': { models: ModelInfo[] };
  'export.chat': Markdown;
  'export.summary': Markdown;
  'export.save': { path: string | null };
}

export type ApiResult<M extends ApiMethod = ApiMethod> = { ok: true; value: ApiResponses[M] } | { ok: false; error: ErrorBody };

// ---------------------------------------------------------------------------------------------
// Events (main → renderer)

export type AppEvent =
  /** The library changed (a file was added or removed, maybe from another window or the OS). */
  | { type: 'library-changed' }
  /** The OS asked to open these documents (file opened with the app, dropped on the window): show the first. */
  | { type: 'open-document'; documentId: string }
  /** Adding a file from the OS/drop failed. */
  | { type: 'add-failed'; error: ErrorBody }
  /** `ocr`: pages without a text layer being read by OCR, `etaSeconds` the estimated time the rest takes. */
  | { type: 'ingest-progress'; path: string; phase: IngestPhase; done: number; total: number; etaSeconds?: number }
  | { type: 'settings-changed'; settings: Settings }
  | { type: 'models-changed' }
  | { type: 'model-import-progress'; dir: string; done: number; total: number }
  /** A menu item for the renderer (settings, find…), from the app menu. */
  | { type: 'menu'; command: MenuCommand };

export type MenuCommand = 'open-settings' | 'add-document' | 'find' | 'export' | 'focus-question' | 'toggle-reader';

export type ApiEvent = JobEvent | AppEvent;

/** `window.longread` in the desktop app (the preload exposes exactly this). */
export interface LongreadBridge {
  invoke<M extends ApiMethod>(method: M, payload: ApiRequests[M]): Promise<ApiResult<M>>;
  /** Subscribes to events; returns the unsubscribe function. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /** The absolute path of a dropped/picked `File` (Electron's webUtils); '' when it has none. */
  pathForFile(file: File): string;
  readonly platform: string;
}

// ---------------------------------------------------------------------------------------------
// Helpers for clients

/** Thrown by `unwrap` on a failed call; carries the wire error. */
export class ApiError extends Error {
  readonly code: string;
  readonly file?: string;
  readonly issues?: ErrorBody['issues'];
  constructor(body: ErrorBody) {
    super(body.message);
    this.name = 'ApiError';
    this.code = body.code;
    this.file = body.file;
    this.issues = body.issues;
  }
}

export function unwrap<M extends ApiMethod>(result: ApiResult<M>): ApiResponses[M] {
  if (result.ok) return result.value;
  throw new ApiError(result.error);
}

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(requestSchemas, name);
}

/** Methods that only the desktop app can serve (they show system dialogs). */
export const DESKTOP_ONLY_METHODS: readonly ApiMethod[] = ['library.pick', 'models.pick', 'export.save'];

export { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from './ipc-channels';

/** "about 40 s left", "about 3 min left": an estimate as the UI and the CLI show it. */
export function describeTimeLeft(seconds: number): string {
  return seconds >= 90 ? `about ${Math.round(seconds / 60)} min left` : `about ${Math.round(seconds)} s left`;
}
