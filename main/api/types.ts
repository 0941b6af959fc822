import type { ApiEvent, ApiMethod, ApiParsedRequests, ApiResponses } from '../../common/api';
import type { Library } from '../library/library';
import type { AssistantHost } from './assistant-host';
import type { Gate } from './limits';
import type { SettingsStore } from './settings';

/** System dialogs only the desktop app has; browser mode answers these methods with `unsupported`. */
export interface DesktopHost {
  /** Absolute paths of the chosen documents; empty when cancelled. */
  pickDocuments(): Promise<string[]>;
  /** The chosen model folder, or null when cancelled. */
  pickModelFolder(): Promise<string | null>;
  /** Saves `content` where the user chooses; the path, or null when cancelled. */
  saveFile(fileName: string, content: string): Promise<string | null>;
}

export interface ApiContext {
  library: Library;
  home: string;
  mode: 'electron' | 'browser';
  version: string;
  settings: SettingsStore;
  assistant: AssistantHost;
  desktop: DesktopHost | null;
  /** Files being added, by path: their cancel switches. */
  adding: Map<string, AbortController>;
  /** Documents being prepared for fast questions: their job ids. */
  preparing: Map<string, string>;
  /** Bounds on work callers can start: pending jobs, files being read, model imports. */
  gates: { jobs: Gate; ingests: Gate; imports: Gate };
  emit(event: ApiEvent): void;
}

export type Handler<M extends ApiMethod> = (request: ApiParsedRequests[M]) => Promise<ApiResponses[M]> | ApiResponses[M];
export type Handlers<K extends ApiMethod = ApiMethod> = { [M in K]: Handler<M> };
