import type { AddedDocument, ApiEvent, ApiMethod, ApiRequests, ApiResult, Markdown } from '../../../../common/api';

/** Where the reader gets a PDF's bytes from: a URL pdf.js fetches itself, or the bytes. */
export type PdfSource = { url: string; headers?: Record<string, string> } | { data: Uint8Array };

/**
 * One interface over the two ways the renderer reaches the main side: Electron IPC
 * (`window.longread`) and browser mode (HTTP + WebSocket, `main/server/wire.md`).
 */
export interface Transport {
  readonly mode: 'electron' | 'browser';
  invoke<M extends ApiMethod>(method: M, payload: ApiRequests[M]): Promise<ApiResult<M>>;
  /** Every event from the main side; returns the unsubscribe function. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
  /** Resolves once events flow (browser mode: the WebSocket is open), so no job event is missed. */
  eventsReady(): Promise<void>;
  /** Adds files the user picked or dropped (desktop: by path; browser: uploads their bytes). */
  /** Adds each file; `password` opens protected PDFs. Results come in the order of `files`. */
  addFiles(files: File[], password?: string): Promise<Array<{ file: string; result: ApiResult<'library.upload'> | ApiResult<'library.add'> }>>;
  pdfSource(documentId: string): Promise<PdfSource>;
  /** Saves Markdown: a save dialog on the desktop (the chosen path, null when cancelled), a download in the browser. */
  saveMarkdown(md: Markdown): Promise<string | null>;
}

export type { AddedDocument };
