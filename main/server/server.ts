import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiResult, ErrorBody } from '../../common/api';
import { AppApi } from '../api/api';
import type { OpenAssistant } from '../api/assistant-host';
import { LongreadError } from '../../common/errors';
import { httpStatusOf, toErrorBody } from '../api/errors';
import { MAX_UPLOAD_BYTES } from '../api/library-handlers';
import { Gate } from '../api/limits';
import { PRIVATE_FILE_MODE } from '../../common/file-modes';
import { contentSecurityPolicy, DOCUMENT_FILE_CSP, SECURITY_HEADERS } from './csp';
import { hostAllowed, newToken, originAllowed, presentedToken, tokenMatches } from './guard';
import { contentTypeOf, injectMeta, readStatic, resolveStatic } from './static-files';

// The wire format is described in wire.md next to this file.

export const DEFAULT_RENDERER_DIR = fileURLToPath(new URL('../../renderer/dist', import.meta.url));
const JSON_LIMIT = 1024 * 1024;
/** The JSON form of an upload carries the file as base64. */
const UPLOAD_JSON_LIMIT = Math.ceil((MAX_UPLOAD_BYTES * 4) / 3) + 1024;
/** Uploads being received at once (each is written to disk as it comes). */
const MAX_CONCURRENT_UPLOADS = 2;

/**
 * How long a client may take to send a whole request (the body of a 512 MiB upload included:
 * a slow disk in the browser's machine, not the loopback, is the bound) and its headers. The
 * answer may take as long as the work does (a large PDF, an engine start); the WebSocket, once
 * upgraded, is no request any more and has no timeout.
 */
export const DEFAULT_TIMEOUTS = { requestMs: 10 * 60_000, headersMs: 30_000, keepAliveMs: 5_000, checkEveryMs: 30_000 };

export interface ServerOptions {
  /** Serve this API (the caller closes it); otherwise one is opened on `home` and closed with the server. */
  api?: AppApi;
  home?: string;
  openAssistant?: OpenAssistant;
  modelDir?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** The built renderer; default `renderer/dist`. */
  rendererDir?: string;
  /** Default DEFAULT_TIMEOUTS; tests shorten them. */
  timeouts?: Partial<typeof DEFAULT_TIMEOUTS>;
}

export interface RunningServer {
  /** The address to open, with the token: `http://127.0.0.1:PORT/?token=…`. */
  url: string;
  origin: string;
  port: number;
  token: string;
  api: AppApi;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
}

/** Starts the local server on 127.0.0.1: the renderer, the API over HTTP, events over WebSocket. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const ownsApi = !options.api;
  const api = options.api ?? AppApi.open({ home: options.home, mode: 'browser', openAssistant: await resolveOpenAssistant(options.openAssistant), modelDir: options.modelDir });
  const rendererDir = options.rendererDir ?? DEFAULT_RENDERER_DIR;
  const token = newToken();
  let port = 0;

  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const uploads = new Gate(MAX_CONCURRENT_UPLOADS, 0, 'uploads being received');

  const server = createServer({ connectionsCheckingInterval: timeouts.checkEveryMs, requestTimeout: timeouts.requestMs, headersTimeout: timeouts.headersMs, keepAliveTimeout: timeouts.keepAliveMs }, (req, res) => {
    handle(req, res).catch((e) => {
      // an unexpected error is logged whole here; the client gets its first line without folder paths
      const body: ErrorBody = e instanceof HttpError ? e.body : toErrorBody(e);
      if (!(e instanceof HttpError || e instanceof LongreadError)) console.error('longread serve:', e);
      if (!req.complete) req.resume(); // refused before its body was read: drain it so the answer arrives
      if (!res.headersSent) sendJson(res, e instanceof HttpError ? e.status : httpStatusOf(body.code), { ok: false, error: body });
      else res.destroy();
    });
  });
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 1024 });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    guard(req, url, false);
    if (url.pathname === '/api/events') throw new HttpError(426, { code: 'invalid-request', message: 'Connect to /api/events with a WebSocket.' });
    if (url.pathname.startsWith('/api/')) return handleApi(req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, { code: 'invalid-request', message: 'Only GET is allowed here.' });
    return handlePage(req, res, url);
  }

  /**
   * Host and Origin checks for everything; the token for the API and the events (`page` is
   * checked in handlePage). `?token=` counts only where no header can be sent: the WebSocket
   * and the document file's GET (a URL handed to pdf.js or an <a>); calls must use a header, so
   * the token does not end up in logs, history or a Referer.
   */
  function guard(req: IncomingMessage, url: URL, requireToken: boolean): void {
    if (!hostAllowed(req.headers.host, port)) throw new HttpError(403, { code: 'forbidden', message: 'This server answers only to 127.0.0.1 and localhost.' });
    if (!originAllowed(req.headers.origin, port)) throw new HttpError(403, { code: 'forbidden', message: 'Requests from other sites are refused.' });
    const queryAllowed = requireToken || (url.pathname === '/api/document.file' && (req.method === 'GET' || req.method === 'HEAD'));
    if ((requireToken || url.pathname.startsWith('/api/')) && !tokenMatches(presentedToken(req.headers, url, queryAllowed), token)) {
      throw new HttpError(401, { code: 'unauthorized', message: 'Missing or wrong token: open the address `longread serve` printed.' });
    }
  }

  async function handlePage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const file = await resolveStatic(rendererDir, url.pathname);
    const isIndex = url.pathname === '/' || url.pathname === '/index.html';
    const headers = pageHeaders(port);
    // The page itself holds no data; the token in its address is handed to the renderer, which
    // drops it from the address bar and keeps it in the tab for reloads (no token: a page
    // without one, which asks for the printed address unless the tab has it). A wrong token is
    // refused outright: an address from another launch.
    const presented = url.searchParams.get('token');
    const withToken = presented !== null && tokenMatches(presented, token);
    if (isIndex && presented !== null && !withToken) {
      return sendHtml(res, 401, headers, '<!doctype html><title>Longread</title><p>Open the address that <code>longread serve</code> printed (it carries this launch’s token).</p>');
    }
    if (!file) {
      if (isIndex) return sendHtml(res, 503, headers, `<!doctype html><title>Longread</title><p>The interface is not built: run <code>npm run build:renderer</code> (or <code>npm run web</code>).</p>`);
      return sendHtml(res, 404, headers, '<!doctype html><title>Not found</title><p>Not found.</p>');
    }
    let body = await readStatic(file);
    if (path.basename(file) === 'index.html') body = Buffer.from(injectMeta(body.toString('utf8'), withToken ? token : null));
    res.writeHead(200, { ...headers, 'Content-Type': contentTypeOf(file), 'Content-Length': body.length, 'Cache-Control': isIndex ? 'no-store' : 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let method: string;
    try {
      method = decodeURIComponent(url.pathname.slice('/api/'.length));
    } catch {
      throw new HttpError(400, { code: 'invalid-request', message: 'The method name in the address is not valid percent-encoding.' });
    }
    if (method === 'document.file' && (req.method === 'GET' || req.method === 'HEAD')) {
      return sendFileResult(res, await api.call(method, { id: url.searchParams.get('id') ?? undefined }));
    }
    if (req.method !== 'POST') throw new HttpError(405, { code: 'invalid-request', message: 'API calls are POST requests (document.file may be a GET).' });
    const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (method === 'library.upload' && type === 'application/octet-stream') {
      const name = decodeHeader(req.headers['x-longread-filename']);
      const password = decodeHeader(req.headers['x-longread-password']);
      // the slot covers the receiving; reading the file waits for an ingest slot like any add
      const release = uploads.tryEnter();
      let received: { file: string; hash: string; size: number };
      try {
        received = await receiveFile(req, api.incomingFile(), MAX_UPLOAD_BYTES);
      } finally {
        release();
      }
      return sendResult(res, await api.uploadReceived(name, received, password));
    }
    if (type !== 'application/json') throw new HttpError(415, { code: 'invalid-request', message: 'Send the payload as application/json.' });
    if (method === 'library.upload') {
      const release = uploads.tryEnter(); // the JSON form is held in memory while it arrives
      try {
        return sendResult(res, await callWith(method, await readBody(req, UPLOAD_JSON_LIMIT)));
      } finally {
        release();
      }
    }
    const result = await callWith(method, await readBody(req, JSON_LIMIT));
    if (method === 'document.file') return sendFileResult(res, result);
    return sendResult(res, result);
  }

  async function callWith(method: string, raw: Buffer): Promise<ApiResult> {
    let payload: unknown;
    try {
      payload = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, { code: 'invalid-json', message: 'The request body is not valid JSON.' });
    }
    return api.call(method, payload);
  }

  server.on('upgrade', (req, socket, head) => {
    try {
      const url = requestUrl(req);
      if (url.pathname !== '/api/events') throw new HttpError(404, { code: 'not-found', message: 'No such endpoint.' });
      guard(req, url, true);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 400;
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const unsubscribe = api.onEvent((event) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      });
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
      ws.on('message', () => {}); // the client sends nothing; ignore it
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    token,
    api,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (ownsApi) await api.close();
    },
  };
}

function pageHeaders(port: number): Record<string, string> {
  return { ...SECURITY_HEADERS, 'Content-Security-Policy': contentSecurityPolicy([`ws://127.0.0.1:${port}`, `ws://localhost:${port}`]) };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(body);
}

function sendResult(res: ServerResponse, result: ApiResult): void {
  sendJson(res, result.ok ? 200 : httpStatusOf(result.error.code), result);
}

/** `document.file` answers with the raw bytes, sandboxed so an HTML document can never run at this origin. */
function sendFileResult(res: ServerResponse, result: ApiResult): void {
  if (!result.ok) return sendResult(res, result);
  const file = result.value as { name: string; mimeType: string; bytes: Uint8Array };
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Security-Policy': DOCUMENT_FILE_CSP,
    'Content-Type': file.mimeType,
    'Content-Length': file.bytes.length,
    'Content-Disposition': `inline; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    'Cache-Control': 'no-store',
  });
  res.end(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
}

function sendHtml(res: ServerResponse, status: number, headers: Record<string, string>, html: string): void {
  const body = Buffer.from(html);
  res.writeHead(status, { ...headers, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(body);
}

/** The request's address; one that cannot be parsed is a 400, not a failure of the server. */
function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(req.url ?? '/', 'http://127.0.0.1');
  } catch {
    throw new HttpError(400, { code: 'invalid-request', message: 'The request address cannot be parsed.' });
  }
}

function decodeHeader(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function tooLargeError(limit: number): HttpError {
  return new HttpError(413, { code: 'too-large', message: `The request is larger than ${Math.round(limit / 1024 / 1024)} MiB.` });
}

/**
 * Streams a request body into `file` (owner-only), hashing it on the way: an upload never sits
 * whole in memory. Over `limit`, or when the client goes away, the file is deleted and the
 * request refused; the rest of a too-large body is drained so the 413 reaches the client.
 */
/** A body whose declared length is over `limit`: drained unread (so the refusal reaches the client). */
function declaredOverLimit(req: IncomingMessage, limit: number): boolean {
  const declared = Number(req.headers['content-length']);
  if (!(Number.isFinite(declared) && declared > limit)) return false;
  req.resume();
  return true;
}

function receiveFile(req: IncomingMessage, file: string, limit: number): Promise<{ file: string; hash: string; size: number }> {
  return new Promise((resolve, reject) => {
    if (declaredOverLimit(req, limit)) {
      reject(tooLargeError(limit));
      return;
    }
    const out = createWriteStream(file, { mode: PRIVATE_FILE_MODE });
    const hash = createHash('sha256');
    let size = 0;
    let failed = false;
    const fail = (e: unknown) => {
      if (failed) return;
      failed = true;
      req.unpipe(out);
      out.destroy();
      void rm(file, { force: true }).finally(() => reject(e));
    };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        req.resume(); // keep draining (the loopback is fast) so the 413 answer reaches the client
        fail(tooLargeError(limit));
        return;
      }
      hash.update(chunk);
    });
    const interrupted = () => fail(new HttpError(400, { code: 'invalid-request', message: 'The upload was interrupted.' }));
    req.on('aborted', interrupted);
    req.on('error', interrupted);
    out.on('error', fail);
    out.on('finish', () => {
      if (!failed) resolve({ file, hash: hash.digest('hex'), size });
    });
    req.pipe(out);
  });
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (declaredOverLimit(req, limit)) {
      reject(tooLargeError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // keep draining (the loopback is fast) so the 413 answer reaches the client
        chunks.length = 0;
        reject(tooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => reject(new HttpError(400, { code: 'invalid-request', message: 'The request was interrupted.' })));
  });
}

async function resolveOpenAssistant(open: OpenAssistant | undefined): Promise<OpenAssistant> {
  if (open) return open;
  const { openAssistant } = await import('../api/open-assistant');
  return openAssistant;
}
