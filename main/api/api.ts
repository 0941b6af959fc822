import { readFileSync, rmSync } from 'node:fs';
import { fileNameSchema, pdfPasswordSchema, requestSchemas, isApiMethod, type AddedDocument, type ApiEvent, type ApiMethod, type ApiResult, type AppInfo } from '../../common/api';
import { LongreadError } from '../../common/errors';
import { Library } from '../library/library';
import { dataHome } from '../library/paths';
import { assistantHandlers } from './assistant-handlers';
import { AssistantHost, type OpenAssistant } from './assistant-host';
import { chatHandlers } from './chat-handlers';
import { collectionHandlers } from './collection-handlers';
import { InvalidRequestError, issuesOf, toErrorBody } from './errors';
import { addPaths, addReceivedUpload, addUpload, incomingFile, libraryHandlers } from './library-handlers';
import { DEFAULT_LIMITS, Gate, type Limits } from './limits';
import { SettingsStore, stateCacheBytes } from './settings';
import type { ApiContext, DesktopHost, Handler, Handlers } from './types';

export interface AppApiOptions {
  /** The data folder; default `dataHome()`. */
  home?: string;
  mode: 'electron' | 'browser';
  openAssistant: OpenAssistant;
  /** The bundled models folder, when the host knows where it is (the packaged app). */
  modelDir?: string;
  desktop?: DesktopHost | null;
  /** Default: the version in package.json. */
  version?: string;
  /** Bounds on work (default: the constants in limits.ts); tests make them small. */
  limits?: Partial<Limits>;
}

/**
 * The one dispatcher behind both transports (Electron IPC and the local server): validates
 * each request against its schema, runs its handler and answers with an `ApiResult`, never
 * throwing. Events (jobs, library changes…) go to every listener.
 */
export class AppApi {
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private readonly handlers: Handlers;
  private readonly context: ApiContext;

  private constructor(
    readonly library: Library,
    readonly settings: SettingsStore,
    readonly assistant: AssistantHost,
    options: AppApiOptions & { home: string },
  ) {
    this.context = {
      library,
      home: options.home,
      mode: options.mode,
      version: options.version ?? appVersion(),
      settings,
      assistant,
      desktop: options.desktop ?? null,
      adding: new Map(),
      gates: gatesFor({ ...DEFAULT_LIMITS, ...options.limits }),
      preparing: new Map(),
      emit: (event) => this.emit(event),
    };
    this.handlers = {
      'app.info': () => this.info(),
      ...libraryHandlers(this.context),
      ...chatHandlers(this.context),
      ...collectionHandlers(this.context),
      ...assistantHandlers(this.context),
    };
  }

  static open(options: AppApiOptions): AppApi {
    const home = options.home ?? dataHome();
    const settings = new SettingsStore(home);
    const library = Library.open({ home, engineStateCapBytes: stateCacheBytes(settings.get()) });
    const assistant = new AssistantHost(options.openAssistant, { library, home, modelDir: options.modelDir }, settings);
    return new AppApi(library, settings, assistant, { ...options, home });
  }

  /** Runs one call. `method` and `payload` come from outside and are checked here. */
  async call(method: unknown, payload: unknown): Promise<ApiResult> {
    try {
      if (!isApiMethod(method)) {
        throw new LongreadError('unknown-method', `There is no API method ${typeof method === 'string' ? `“${method.slice(0, 100)}”` : 'of that kind'}.`);
      }
      const parsed = requestSchemas[method].safeParse(payload ?? {});
      if (!parsed.success) throw new InvalidRequestError(method, issuesOf(parsed.error));
      const handler = this.handlers[method] as Handler<ApiMethod>;
      const value = await handler(parsed.data as never);
      return { ok: true, value } as ApiResult;
    } catch (e) {
      const error = toErrorBody(e);
      if (error.code === 'internal') console.error(`longread: ${String(method)} failed:`, e);
      return { ok: false, error };
    }
  }

  /** `library.upload` with raw bytes instead of base64. */
  async upload(name: unknown, bytes: Uint8Array, password?: unknown): Promise<ApiResult<'library.upload'>> {
    return this.uploadWith(name, password, (n, pw) => addUpload(this.context, n, bytes, pw));
  }

  /** A fresh temp file to receive an upload into (then `uploadReceived`); the server streams the body there. */
  incomingFile(): string {
    return incomingFile(this.context);
  }

  /** `library.upload` of a body received into `incomingFile()` (the local server's raw-body form); the temp file is consumed either way. */
  async uploadReceived(name: unknown, received: { file: string; hash: string; size: number }, password?: unknown): Promise<ApiResult<'library.upload'>> {
    return this.uploadWith(name, password, (n, pw) => addReceivedUpload(this.context, n, received, pw), () => rmSync(received.file, { force: true }));
  }

  private async uploadWith(name: unknown, password: unknown, add: (name: string, password?: string) => Promise<AddedDocument>, refused?: () => void): Promise<ApiResult<'library.upload'>> {
    try {
      const parsed = fileNameSchema.safeParse(name);
      const pw = pdfPasswordSchema.optional().safeParse(password);
      if (!parsed.success || !pw.success) {
        refused?.();
        if (!parsed.success) throw new InvalidRequestError('library.upload', issuesOf(parsed.error).map((i) => ({ ...i, path: 'name' })));
        throw new InvalidRequestError('library.upload', issuesOf(pw.error!).map((i) => ({ ...i, path: 'password' })));
      }
      return { ok: true, value: await add(parsed.data, pw.data) };
    } catch (e) {
      const error = toErrorBody(e);
      if (error.code === 'internal') console.error('longread: library.upload failed:', e);
      return { ok: false, error };
    }
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ApiEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (e) {
        console.error('longread: an event listener failed:', e);
      }
    }
  }

  /**
   * Files the OS asked the app to open (command line, `open-file`, dropped on the window):
   * added one by one; the first added is shown; failures become `add-failed` events.
   */
  async openFiles(paths: string[]): Promise<void> {
    let shown = false;
    for (const file of paths) {
      try {
        const [added] = await addPaths(this.context, [file]);
        if (added && !shown) {
          shown = true;
          this.emit({ type: 'open-document', documentId: added.document.id });
        }
      } catch (e) {
        this.emit({ type: 'add-failed', error: toErrorBody(e) });
      }
    }
  }

  info(): AppInfo {
    const notice = [this.library.recovered?.message, this.settings.notice].filter((n): n is string => !!n).join(' ');
    return { version: this.context.version, mode: this.context.mode, platform: process.platform, dataHome: this.context.home, ...(notice ? { notice } : {}) };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.assistant.close();
    this.library.close();
  }
}

function gatesFor(limits: Limits): ApiContext['gates'] {
  return {
    jobs: new Gate(limits.pendingJobs, 0, 'questions and summaries'),
    ingests: new Gate(limits.concurrentIngests, limits.waitingIngests, 'files being added'),
    imports: new Gate(limits.concurrentImports, 0, 'model imports'),
  };
}

let version: string | null = null;
function appVersion(): string {
  if (version === null) {
    try {
      version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      version = '0.0.0';
    }
  }
  return version;
}
