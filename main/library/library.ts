import { readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import type { CountingModel, IngestedDocument, IngestProgress, TokenCount, TokenCounter } from '../../common/document';
import { CancelledError, throwIfAborted } from '../../common/errors';
import { ingestSource, loadSource, type IngestOptions } from '../ingest/index';
import { tokenCounterOrNull } from '../ingest/token-counter';
import { countTokensInProcess, ingestSourceInProcess } from '../ingest/ingest-process';
import type { OcrProgress } from '../ingest/types';
import { AnswerCache, SummaryCache } from './caches';
import { ChatStore } from './chats';
import { CollectionStore } from './collections';
import { openDatabase, type Db, type RecoveryNotice } from './database';
import { DocumentStore, type DocumentSummary } from './documents';
import { DEFAULT_ENGINE_STATE_CAP, EngineStateStore, SWEEP_MIN_AGE_MS } from './engine-state';
import { dataHome, ENGINE_STATE_DIR, INCOMING_DIR, LIBRARY_FILE, UPLOADS_DIR } from './paths';

export interface LibraryOptions {
  /** The data folder; default: `dataHome()` (LONGREAD_HOME or the platform convention). */
  home?: string;
  engineStateCapBytes?: number;
  /** Run the full integrity check instead of the quick one. */
  fullCheck?: boolean;
}

export interface AddOptions extends Omit<IngestOptions, 'onProgress'> {
  onProgress?: (progress: IngestProgress) => void;
  /** Parse in a reader process of its own (ingest-process.ts): this event loop stays free, a stuck or crashed parse is stopped safely. A stored document's tokens for a new `countWith` model are counted there too. */
  inOwnProcess?: boolean;
}

export interface AddResult {
  /** `added`: new document; `new-version`: the path held other contents before; `existing`: already in the library (nothing was read). */
  status: 'added' | 'new-version' | 'existing';
  version: number;
  path: string;
  document: DocumentSummary;
  tokens: TokenCount | null;
}

/** The user's library: documents and everything the assistant keeps about them. */
export class Library {
  readonly documents: DocumentStore;
  readonly chats: ChatStore;
  readonly collections: CollectionStore;
  readonly answers: AnswerCache;
  readonly summaries: SummaryCache;
  readonly engineState: EngineStateStore;

  private constructor(
    readonly db: Db,
    readonly home: string,
    /** Set when a damaged database was moved aside on open; tell the user. */
    readonly recovered: RecoveryNotice | null,
    engineStateCap: number,
  ) {
    this.documents = new DocumentStore(db);
    this.chats = new ChatStore(db);
    this.collections = new CollectionStore(db);
    this.answers = new AnswerCache(db);
    this.summaries = new SummaryCache(db);
    this.engineState = new EngineStateStore(db, path.join(home, ENGINE_STATE_DIR), engineStateCap);
  }

  static open(options: LibraryOptions = {}): Library {
    const home = options.home ?? dataHome();
    const { db, recovered } = openDatabase(path.join(home, LIBRARY_FILE), { fullCheck: options.fullCheck });
    const library = new Library(db, home, recovered, options.engineStateCapBytes ?? DEFAULT_ENGINE_STATE_CAP);
    library.engineState.sweep();
    library.sweepIncoming();
    return library;
  }

  /** Where uploaded files are kept (browser mode): the library owns them, so they go when their document goes. */
  get uploadsDir(): string {
    return path.join(this.home, UPLOADS_DIR);
  }

  /** Uploads still being received are written here first. */
  get incomingDir(): string {
    return path.join(this.uploadsDir, INCOMING_DIR);
  }

  /** Deletes an uploaded file that no document records (a rejected or cancelled upload), and its folder when empty. */
  deleteUpload(file: string): void {
    if (!this.isUpload(file) || this.documents.isRecordedPath(file)) return;
    rmSync(file, { force: true });
    try {
      rmdirSync(path.dirname(file)); // only when empty
    } catch {
      // other files (another name for the same bytes) still in it
    }
  }

  private isUpload(file: string): boolean {
    const rel = path.relative(this.uploadsDir, file);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  }

  /** Deletes what an interrupted upload left in the incoming folder (not recent files: another process may be receiving one). */
  private sweepIncoming(now = Date.now()): void {
    let names: string[];
    try {
      names = readdirSync(this.incomingDir);
    } catch {
      return;
    }
    for (const name of names) {
      const file = path.join(this.incomingDir, name);
      try {
        if (now - statSync(file).mtimeMs >= SWEEP_MIN_AGE_MS) rmSync(file, { force: true });
      } catch {
        // gone already
      }
    }
  }

  /**
   * Adds a file. Same bytes as a stored document: nothing is parsed, the path is just
   * recorded. Otherwise the file is read (async, cancellable) and stored in one transaction.
   */
  async add(file: string, options: AddOptions = {}): Promise<AddResult> {
    const absolute = path.resolve(file);
    const source = await loadSource(absolute, options.maxBytes);
    const stored = { path: absolute, size: source.size, mtimeMs: source.mtimeMs };
    const { tokenCounter = null, countWith = null, inOwnProcess, ...rest } = options;
    const modelId = tokenCounter?.modelId ?? countWith?.modelId ?? null;
    if (this.documents.has(source.hash)) {
      const version = this.documents.recordFile(source.hash, stored);
      // a document stored before this model was known is counted now
      const missing = modelId !== null && !this.documents.tokenCount(source.hash, modelId);
      if (missing && !tokenCounter && countWith && inOwnProcess) await this.countInProcess(source.hash, countWith, absolute, options);
      const counter = tokenCounter ?? (missing && !inOwnProcess ? await tokenCounterOrNull(countWith) : null);
      return this.result('existing', version, absolute, source.hash, counter, modelId);
    }
    const isNewVersion = this.documents.latestVersion(absolute) > 0;
    const readOptions = {
      ...rest,
      onProgress: (done: number, total: number, ocr?: OcrProgress) => options.onProgress?.({ phase: ocr?.phase ?? 'read', done, total, ...(ocr?.etaSeconds !== undefined ? { etaSeconds: ocr.etaSeconds } : {}) }),
    };
    // In a worker the tokens are counted there with the model's folder; a counter object stays on this thread.
    const doc: IngestedDocument = inOwnProcess
      ? await ingestSourceInProcess(source, { ...readOptions, countWith: tokenCounter ? null : countWith })
      : await ingestSource(source, { ...readOptions, tokenCounter, countWith });
    throwIfAborted(options.signal, 'Adding the document');
    const version = this.documents.insert(doc, stored, (done, total) => options.onProgress?.({ phase: 'store', done, total }));
    return this.result(isNewVersion ? 'new-version' : 'added', version, absolute, doc.id, tokenCounter, modelId);
  }

  /**
   * Counts a stored document's tokens in a reader process (a book's count holds a thread for
   * seconds) and stores the count. A reader that fails or runs out of time leaves it unknown, as a
   * tokenizer that cannot be loaded does; a cancel is passed on.
   */
  private async countInProcess(id: string, countWith: CountingModel, file: string, options: AddOptions): Promise<void> {
    const text = this.documents.text(id);
    if (text === null) return;
    let tokens: TokenCount | null;
    try {
      tokens = await countTokensInProcess(text, countWith, file, { signal: options.signal, timeoutMs: options.timeoutMs });
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      tokens = null;
    }
    if (tokens && this.documents.has(id)) this.documents.putTokenCount(id, tokens);
  }

  /** Removes a document (id or unambiguous prefix) with its pages, index, caches and uploaded files; chats are kept. */
  remove(idOrPrefix: string): DocumentSummary {
    const id = this.documents.resolveId(idOrPrefix);
    const summary = this.documents.get(id)!;
    const files = this.documents.remove(id);
    this.engineState.deleteFiles(files);
    for (const f of summary.files) this.deleteUpload(f.path);
    return summary;
  }

  list(): DocumentSummary[] {
    return this.documents.list();
  }

  close(): void {
    this.db.close();
  }

  private result(status: AddResult['status'], version: number, file: string, id: string, counter: TokenCounter | null, modelId: string | null): AddResult {
    return {
      status,
      version,
      path: file,
      document: this.documents.get(id)!,
      tokens: counter ? this.documents.ensureTokenCount(id, counter) : modelId ? this.documents.tokenCount(id, modelId) : null,
    };
  }
}
