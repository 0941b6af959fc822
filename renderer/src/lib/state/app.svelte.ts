import { DEFAULT_SETTINGS, type ApiEvent, type ErrorBody, type Citation, type CollectionInfo, type DocumentDetail, type DocumentInfo, type MenuCommand, type Settings } from '../../../../common/api';
import type { IngestPhase } from '../../../../common/document';
import { Api } from '../api/index';
import { Jobs } from './jobs.svelte';
import { toasts } from './toasts.svelte';

const PASSWORD_CODES = new Set(['pdf-password-required', 'pdf-wrong-password']);

export interface PasswordPrompt {
  file: File;
  /** The last password given was wrong. */
  wrong: boolean;
  /** The refusal, shown as a toast if the user gives up. */
  error: ErrorBody;
}

export interface IngestView {
  path: string;
  name: string;
  phase: 'upload' | IngestPhase;
  done: number;
  total: number;
  /** OCR: the estimated seconds left. */
  etaSeconds?: number;
}

/** Where the reader should go: a page and/or a character range of the document's text to highlight. */
export interface ReaderTarget {
  documentId: string;
  page?: number;
  range?: { start: number; end: number };
  quote?: string;
  /** Bumped on every jump, so jumping to the same place again scrolls again. */
  seq: number;
}

export type PanelTab = 'chat' | 'summary';

const baseName = (p: string) => p.split(/[\\/]/).pop() ?? p;

/** The state the whole window shares: the library, the open document, jobs, settings. */
export class AppState {
  documents = $state<DocumentInfo[]>([]);
  libraryLoaded = $state(false);
  selectedId = $state<string | null>(null);
  collections = $state<CollectionInfo[]>([]);
  /** The collection the chat panel asks (its citations open their own documents), or null: the chat is the open document's. */
  selectedCollectionId = $state<string | null>(null);
  detail = $state<DocumentDetail | null>(null);
  detailLoading = $state(false);
  ingests = $state<IngestView[]>([]);
  /** Token counts for the active model, learned when a document is opened (null: no model yet). */
  /** Protected PDFs waiting for their password; the dialog asks for the first. */
  passwordPrompts = $state<PasswordPrompt[]>([]);
  tokenCounts = $state<Record<string, number | null>>({});
  target = $state<ReaderTarget | null>(null);
  settings = $state<Settings>({ ...DEFAULT_SETTINGS });
  tab = $state<PanelTab>('chat');
  readerVisible = $state(true);
  settingsOpen = $state(false);
  /** Documents ready for fast questions with the active model (their local-layer states are stored). */
  ready = $state<Set<string>>(new Set());
  /** Disk the prepared states use, and may use (Settings → stateCacheGiB). */
  preparedStore = $state<{ storeBytes: number; capBytes: number } | null>(null);
  /** Components that act on menu commands (focus the question box, export, find…). */
  private readonly commandListeners = new Set<(name: MenuCommand) => void>();
  readonly jobs = new Jobs();
  private seq = 0;

  constructor(readonly api: Api) {}

  get selected(): DocumentInfo | null {
    return this.documents.find((d) => d.id === this.selectedId) ?? null;
  }

  get selectedCollection(): CollectionInfo | null {
    return this.collections.find((c) => c.id === this.selectedCollectionId) ?? null;
  }

  async start(): Promise<void> {
    this.api.onEvent((e) => this.onEvent(e));
    const [info] = await Promise.allSettled([this.api.call('app.info', {}), this.refreshLibrary(), this.loadSettings()]);
    if (info.status === 'fulfilled' && info.value.notice) toasts.info('Library', info.value.notice);
    else if (info.status === 'rejected') toasts.error('Longread could not start', info.reason);
  }

  async refreshLibrary(): Promise<void> {
    try {
      const { documents } = await this.api.call('library.list', {});
      this.documents = documents.sort((a, b) => b.addedAt - a.addedAt);
      if (this.selectedId && !documents.some((d) => d.id === this.selectedId)) this.select(null);
      void this.refreshReadiness();
    } catch (e) {
      toasts.error('Could not list the library', e);
    } finally {
      this.libraryLoaded = true;
    }
    await this.refreshCollections();
  }

  async refreshCollections(): Promise<void> {
    try {
      this.collections = (await this.api.call('collections.list', {})).collections;
      if (this.selectedCollectionId && !this.selectedCollection) this.selectedCollectionId = null;
    } catch (e) {
      toasts.error('Could not list the collections', e);
    }
  }

  /** Opens a document from the library list: the chat panel is then that document's. */
  openDocument(id: string): void {
    this.selectedCollectionId = null;
    this.select(id);
  }

  /** Asks a collection in the chat panel; the reader keeps the open document (or opens the collection's first). */
  selectCollection(id: string | null): void {
    this.selectedCollectionId = id;
    const c = this.selectedCollection;
    if (c && c.documentIds.length > 0 && !(this.selectedId && c.documentIds.includes(this.selectedId))) this.select(c.documentIds[0]!);
  }

  /** Runs a collection change; the list is refreshed by the library-changed event, and here too so the caller sees it at once. */
  async changeCollections<T>(what: string, change: () => Promise<T>): Promise<T | null> {
    try {
      const r = await change();
      await this.refreshCollections();
      return r;
    } catch (e) {
      toasts.error(what, e);
      return null;
    }
  }

  /** Which documents are ready for fast questions, and the prepared states' disk use. */
  async refreshReadiness(): Promise<void> {
    try {
      const r = await this.api.call('assistant.readiness', { documentIds: this.documents.map((d) => d.id) });
      this.ready = new Set(r.ready);
      this.preparedStore = { storeBytes: r.storeBytes, capBytes: r.capBytes };
    } catch {
      // not known (the assistant could not open): nothing is shown as ready
    }
  }

  /** Prepares a document for fast questions (a background job: questions go first). */
  async prepare(doc: DocumentInfo): Promise<void> {
    try {
      const { jobId } = await this.api.call('assistant.prepare', { documentId: doc.id });
      this.trackPreparation(jobId, doc.id);
    } catch (e) {
      toasts.error('Could not prepare the document', e);
    }
  }

  private trackPreparation(jobId: string, documentId: string): void {
    const title = this.documents.find((d) => d.id === documentId)?.title ?? 'a document';
    this.jobs.track(jobId, 'prepare', `Preparing ${title} for fast questions`, documentId, {
      onDone: () => void this.refreshReadiness(),
      onError: (e) => toasts.show('error', 'Could not prepare the document', e.message, e.code),
    });
  }

  async loadSettings(): Promise<void> {
    try {
      this.settings = await this.api.call('settings.get', {});
    } catch (e) {
      toasts.error('Could not read the settings', e);
    }
  }

  async setSettings(update: Partial<Settings>): Promise<void> {
    try {
      this.settings = await this.api.call('settings.set', update);
    } catch (e) {
      toasts.error('Could not change the settings', e);
    }
  }

  select(id: string | null): void {
    if (id === this.selectedId) return;
    this.selectedId = id;
    this.detail = null;
    this.target = null;
    if (id) void this.loadDetail(id);
  }

  async loadDetail(id: string): Promise<void> {
    this.detailLoading = true;
    try {
      const detail = await this.api.call('document.get', { id });
      this.tokenCounts[id] = detail.tokens?.count ?? null;
      if (this.selectedId === id) this.detail = detail;
    } catch (e) {
      toasts.error('Could not open the document', e);
    } finally {
      if (this.selectedId === id) this.detailLoading = false;
    }
  }

  /** Opens the reader at a citation: its page, with the passage highlighted. */
  showCitation(c: Citation): void {
    if (c.documentId !== this.selectedId) this.select(c.documentId);
    this.readerVisible = true;
    this.target = { documentId: c.documentId, page: c.page, range: { start: c.start, end: c.end }, quote: c.quote, seq: ++this.seq };
  }

  goTo(documentId: string, page?: number, range?: { start: number; end: number }): void {
    this.readerVisible = true;
    this.target = { documentId, page, range, seq: ++this.seq };
  }

  async addFiles(files: File[], password?: string): Promise<void> {
    if (files.length === 0) return;
    const uploads: IngestView[] = files.map((f) => ({ path: `upload:${f.name}`, name: f.name, phase: 'upload', done: 0, total: f.size }));
    this.ingests = [...this.ingests, ...uploads];
    try {
      const results = await this.api.transport.addFiles(files, password);
      let first: string | null = null;
      for (const [i, { file, result }] of results.entries()) {
        if (!result.ok) {
          if (PASSWORD_CODES.has(result.error.code) && files[i]) {
            // ask for the password (again, when it was wrong) instead of giving up
            this.passwordPrompts = [...this.passwordPrompts, { file: files[i], wrong: result.error.code === 'pdf-wrong-password', error: result.error }];
            continue;
          }
          if (result.error.code === 'cancelled') toasts.info('Not added', `Adding ${file} was cancelled.`);
          else toasts.show('error', `Could not add ${file}`, result.error.message, result.error.code);
          continue;
        }
        const added = 'added' in result.value ? result.value.added : [result.value];
        for (const a of added) {
          first ??= a.document.id;
          if (a.status === 'existing') toasts.info('Already in the library', `${a.document.title} was already there.`);
        }
      }
      await this.refreshLibrary();
      if (first) this.select(first);
    } finally {
      const names = new Set(files.map((f) => f.name));
      this.ingests = this.ingests.filter((i) => !names.has(i.name));
    }
  }

  /** The password dialog's answer for the first waiting PDF: try again with it, or (null) give up. */
  answerPassword(password: string | null): void {
    const [prompt, ...rest] = this.passwordPrompts;
    if (!prompt) return;
    this.passwordPrompts = rest;
    if (password === null) toasts.show('error', `Could not add ${prompt.file.name}`, prompt.error.message, prompt.error.code);
    else void this.addFiles([prompt.file], password);
  }

  /** Desktop: the system's open dialog. */
  async pickFiles(): Promise<void> {
    try {
      const { added } = await this.api.call('library.pick', {});
      await this.refreshLibrary();
      if (added[0]) this.select(added[0].document.id);
    } catch (e) {
      toasts.error('Could not add the files', e);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      const { removed } = await this.api.call('library.remove', { id });
      if (this.selectedId === id) this.select(null);
      await this.refreshLibrary();
      toasts.info('Removed', `${removed.title} is no longer in the library.`);
    } catch (e) {
      toasts.error('Could not remove the document', e);
    }
  }

  runCommand(name: MenuCommand): void {
    if (name === 'open-settings') this.settingsOpen = true;
    else if (name === 'toggle-reader') this.readerVisible = !this.readerVisible;
    else for (const l of this.commandListeners) l(name);
  }

  /** Calls `listener` for each menu command from now on; returns the unsubscribe function (for onMount). */
  onCommand(listener: (name: MenuCommand) => void): () => void {
    this.commandListeners.add(listener);
    return () => this.commandListeners.delete(listener);
  }

  private onEvent(e: ApiEvent): void {
    switch (e.type) {
      case 'queued':
        // preparations the app starts by itself after an add: tracked like the ones asked for
        if (e.kind === 'prepare' && e.documentId && !this.jobs.isTracked(e.jobId)) this.trackPreparation(e.jobId, e.documentId);
        this.jobs.handle(e);
        break;
      case 'progress':
      case 'token':
      case 'done':
      case 'error':
      case 'cancelled':
        this.jobs.handle(e);
        break;
      case 'library-changed':
        void this.refreshLibrary();
        break;
      case 'open-document':
        void this.refreshLibrary().then(() => this.select(e.documentId));
        break;
      case 'add-failed':
        toasts.show('error', 'Could not add the file', e.error.message, e.error.code);
        break;
      case 'ingest-progress': {
        const name = baseName(e.path);
        const view: IngestView = { path: e.path, name, phase: e.phase, done: e.done, total: e.total, ...(e.etaSeconds !== undefined ? { etaSeconds: e.etaSeconds } : {}) };
        const finished = e.phase === 'store' && e.total > 0 && e.done >= e.total;
        const others = this.ingests.filter((i) => i.path !== e.path && i.path !== `upload:${name}`);
        this.ingests = finished ? others : [...others, view];
        break;
      }
      case 'settings-changed':
        this.settings = e.settings;
        break;
      case 'models-changed':
      case 'model-import-progress':
        break;
      case 'menu':
        this.runCommand(e.command);
        break;
    }
  }
}
