import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { WebSocket } from 'ws';
import type { ApiEvent } from '../../common/api';
import { AppApi } from '../../main/api/api';
import { startServer, type RunningServer } from '../../main/server/server';
import { RecordingAssistant, tempHome, writeBook } from './helpers';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json(): any;
}

/** A raw HTTP request, so Host and Origin can be set as a hostile page or a rebinding DNS name would. */
function send(server: RunningServer, options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method: options.method ?? 'GET', path: options.path, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, json: () => JSON.parse(body.toString('utf8')) });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function call(server: RunningServer, method: string, payload: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send(server, {
    method: 'POST',
    path: `/api/${method}`,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}`, ...headers },
    body: JSON.stringify(payload),
  });
}

let home: { dir: string; cleanup: () => void };
let server: RunningServer;
let api: AppApi;
let rendererDir: string;

before(async () => {
  home = tempHome();
  rendererDir = path.join(home.dir, 'dist');
  mkdirSync(path.join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><html><head><title>Longread</title><script type="module" src="./assets/app.js"></script></head><body></body></html>');
  writeFileSync(path.join(rendererDir, 'assets', 'app.js'), 'console.log("app")');
  writeFileSync(path.join(home.dir, 'secret.txt'), 'outside the renderer');
  api = AppApi.open({ home: path.join(home.dir, 'home'), mode: 'browser', openAssistant: async () => new RecordingAssistant() });
  server = await startServer({ api, rendererDir });
});

after(async () => {
  await server.close();
  await api.close();
  home.cleanup();
});

test('listens on 127.0.0.1 only and prints a URL with a fresh random token', async () => {
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);
  assert.ok(server.url.endsWith(server.token));
  const other = await startServer({ api, rendererDir });
  try {
    assert.notEqual(other.token, server.token);
    assert.notEqual(other.port, server.port);
  } finally {
    await other.close();
  }
});

test('the page carries the token only when its address does (the renderer then drops it from the address bar); a wrong token is refused; every page response has the strict CSP', async () => {
  const denied = await send(server, { path: '/?token=wrong' });
  assert.equal(denied.status, 401);
  assert.ok(!denied.body.toString().includes(server.token));
  // a reload, after the renderer dropped ?token= from the address: the page, without the token (the tab has it)
  const reload = await send(server, { path: '/' });
  assert.equal(reload.status, 200);
  assert.ok(!reload.body.toString().includes(server.token));
  assert.ok(!reload.body.toString().includes('longread-token'));
  assert.ok(reload.body.toString().includes('<meta name="longread-mode" content="browser">'));

  const page = await send(server, { path: `/?token=${server.token}` });
  assert.equal(page.status, 200);
  assert.match(String(page.headers['content-type']), /^text\/html/);
  const html = page.body.toString();
  assert.ok(html.includes(`<meta name="longread-token" content="${server.token}">`));
  assert.ok(html.includes('<meta name="longread-mode" content="browser">'));

  for (const reply of [page, denied, reload, await send(server, { path: '/assets/app.js' })]) {
    const csp = String(reply.headers['content-security-policy']);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.ok(!directives.get('script-src')!.includes("'unsafe-inline'") && !directives.get('script-src')!.includes("'unsafe-eval'"));
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'", `ws://127.0.0.1:${server.port}`, `ws://localhost:${server.port}`]);
    assert.ok(!/https?:\/\/(?!127\.0\.0\.1|localhost)/.test(csp), 'no remote origin anywhere');
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
    assert.equal(reply.headers['x-frame-options'], 'DENY');
  }
  const js = await send(server, { path: '/assets/app.js' });
  assert.equal(js.status, 200);
  assert.match(String(js.headers['content-type']), /^text\/javascript/);
});

test('files outside the built renderer are never served', async () => {
  for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/.hidden', '/assets/%00app.js', '/nope.js']) {
    const r = await send(server, { path: p });
    assert.equal(r.status, 404, p);
    assert.ok(!r.body.toString().includes('outside the renderer'), p);
  }
});

test('API calls without the token, with a wrong token, from another origin or host are refused', async () => {
  const ok = await call(server, 'library.list', {});
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json(), { ok: true, value: { documents: [] } });

  const noToken = await send(server, { method: 'POST', path: '/api/library.list', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(noToken.status, 401);
  assert.equal(noToken.json().error.code, 'unauthorized');
  assert.equal((await call(server, 'library.list', {}, { authorization: 'Bearer nope' })).status, 401);
  assert.equal((await call(server, 'library.list', {}, { authorization: `Bearer ${server.token}x` })).status, 401);
  // calls need the header: the token in the query counts only where no header can be sent (document.file, the WebSocket)
  assert.equal((await send(server, { method: 'POST', path: `/api/library.list?token=${server.token}`, headers: { 'content-type': 'application/json' }, body: '{}' })).status, 401);
  assert.equal((await send(server, { method: 'POST', path: `/api/document.file?token=${server.token}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'd'.repeat(64) }) })).status, 401);
  assert.equal((await call(server, 'library.list', {}, { authorization: '', 'x-longread-token': server.token })).status, 200);

  // another page in the browser, even one that somehow knew the token
  const evil = await call(server, 'library.list', {}, { origin: 'http://evil.example' });
  assert.equal(evil.status, 403);
  assert.equal(evil.json().error.code, 'forbidden');
  assert.equal((await call(server, 'library.list', {}, { origin: 'http://127.0.0.1:1' })).status, 403, 'another local port is another origin');
  assert.equal((await call(server, 'library.list', {}, { origin: 'null' })).status, 403);
  assert.equal((await call(server, 'library.list', {}, { origin: server.origin })).status, 200);
  // DNS rebinding: right address, foreign host name
  assert.equal((await call(server, 'library.list', {}, { host: `evil.example:${server.port}` })).status, 403);
  assert.equal((await send(server, { path: `/?token=${server.token}`, headers: { host: 'evil.example' } })).status, 403);
  assert.equal((await call(server, 'library.list', {}, { host: `localhost:${server.port}` })).status, 200);
});

test('malformed calls get typed errors with fitting HTTP statuses', async () => {
  const badJson = await send(server, { method: 'POST', path: '/api/library.list', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` }, body: '{oops' });
  assert.equal(badJson.status, 400);
  assert.equal(badJson.json().error.code, 'invalid-json');

  const invalid = await call(server, 'document.get', { id: 'xyz' });
  assert.equal(invalid.status, 400);
  assert.equal(invalid.json().error.code, 'invalid-request');
  assert.equal(invalid.json().error.issues[0].path, 'id');

  assert.equal((await call(server, 'no.such', {})).status, 404);
  assert.equal((await call(server, 'document.get', { id: 'd'.repeat(64) })).json().error.code, 'document-not-found');
  const desktopOnly = await call(server, 'library.pick', {});
  assert.equal(desktopOnly.status, 501);
  assert.equal(desktopOnly.json().error.code, 'unsupported');
  assert.equal((await send(server, { method: 'GET', path: '/api/library.list', headers: { authorization: `Bearer ${server.token}` } })).status, 405);
  assert.equal((await send(server, { method: 'POST', path: '/api/library.list', headers: { 'content-type': 'text/plain', authorization: `Bearer ${server.token}` }, body: '{}' })).status, 415);
  const big = await send(server, { method: 'POST', path: '/api/library.search', headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}` }, body: JSON.stringify({ query: 'x'.repeat(2 * 1024 * 1024) }) });
  assert.equal(big.status, 413);
  assert.equal(big.json().error.code, 'too-large');
});

test('events reach a WebSocket that has the token; sockets without it or from other origins are refused', async () => {
  const wsUrl = `ws://127.0.0.1:${server.port}/api/events`;
  const refused = (url: string, headers: Record<string, string> = {}) =>
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
      ws.on('open', () => reject(new Error(`opened ${url}`)));
      ws.on('error', () => {});
    });
  assert.equal(await refused(wsUrl), 401);
  assert.equal(await refused(`${wsUrl}?token=wrong`), 401);
  assert.equal(await refused(`${wsUrl}?token=${server.token}`, { origin: 'http://evil.example' }), 403);

  const ws = new WebSocket(`${wsUrl}?token=${server.token}`, { headers: { origin: server.origin } });
  const events: ApiEvent[] = [];
  ws.on('message', (data) => events.push(JSON.parse(String(data))));
  await new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('error', reject);
  });
  try {
    const bytes = readFileSync(writeBook(home.dir, 'upload-source.txt'));
    const upload = await send(server, {
      method: 'POST',
      path: '/api/library.upload',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${server.token}`, 'x-longread-filename': encodeURIComponent('Über die See.txt') },
      body: bytes,
    });
    assert.equal(upload.status, 200, upload.body.toString());
    const added = upload.json().value;
    assert.equal(added.status, 'added');
    assert.equal(path.basename(added.path), 'Über die See.txt');
    for (let i = 0; i < 100 && !events.some((e) => e.type === 'library-changed'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(events.some((e) => e.type === 'ingest-progress'));
    assert.ok(events.some((e) => e.type === 'library-changed'));

    // the reader's URL: raw bytes, sandboxed so the document can never run at this origin
    const file = await send(server, { path: `/api/document.file?id=${added.document.id}&token=${server.token}` });
    assert.equal(file.status, 200);
    assert.deepEqual(file.body, bytes);
    assert.match(String(file.headers['content-type']), /^text\/plain/);
    assert.equal(file.headers['content-security-policy'], "sandbox; default-src 'none'");
    assert.equal(file.headers['content-disposition'], `inline; filename*=UTF-8''${encodeURIComponent('Über die See.txt')}`);
    assert.equal((await send(server, { path: `/api/document.file?id=${added.document.id}` })).status, 401);
    const missing = await send(server, { path: `/api/document.file?id=${'e'.repeat(64)}&token=${server.token}` });
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error.code, 'document-not-found');
  } finally {
    ws.close();
  }
});

test('without a built renderer the page says how to build it', async () => {
  const bare = await startServer({ api, rendererDir: path.join(home.dir, 'not-built') });
  try {
    const r = await send(bare, { path: `/?token=${bare.token}` });
    assert.equal(r.status, 503);
    assert.match(r.body.toString(), /npm run build:renderer/);
  } finally {
    await bare.close();
  }
});

/** Writes raw bytes to the server and collects what comes back until it closes the connection (or `ms` pass). */
function rawExchange(port: number, bytes: string, ms = 5000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, ms);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

test('a malformed % in an API address is a 400 with a typed error, not a 500 with a logged stack', async () => {
  const logged: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    for (const bad of ['/api/%E0%A4%A', '/api/library.%', '/api/%']) {
      const r = await call(server, bad.slice('/api/'.length), {});
      assert.equal(r.status, 400, bad);
      assert.equal(r.json().error.code, 'invalid-request', bad);
    }
    const get = await send(server, { path: `/api/%E0%A4%A?token=${server.token}` });
    assert.equal(get.status, 401, 'the token rule comes first; still no 500');
    // anywhere else in an address: the page's files, the document file's query, the WebSocket
    for (const bad of ['/%E0%A4%A', '/assets/%E0%A4%A.js', '/%', `/index.html?token=%E0%A4%A`]) {
      const r = await send(server, { path: bad });
      assert.ok(r.status === 404 || r.status === 401, `${bad}: ${r.status}`);
    }
    const file = await send(server, { path: `/api/document.file?id=%E0%A4%A&token=${server.token}` });
    assert.equal(file.status, 400, file.body.toString());
    assert.equal(file.json().error.code, 'invalid-request');
    const socket = await rawExchange(
      server.port,
      `GET /api/%E0%A4%A?token=${server.token} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      3000,
    );
    assert.match(socket.text, /^HTTP\/1\.1 404 Not Found\r\n/, socket.text.slice(0, 100));
  } finally {
    console.error = original;
  }
  assert.deepEqual(logged, [], 'nothing was logged as a server failure');
});

test('an unexpected failure inside the server is a 500 with a typed internal error: no stack and no folder path reach the client', async () => {
  const failing = AppApi.open({ home: path.join(home.dir, 'failing-home'), mode: 'browser', openAssistant: async () => new RecordingAssistant() });
  const broken = await startServer({ api: failing, rendererDir });
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    // the uploads folder cannot be made (a file is in its place): mkdir fails with an error naming the folder
    writeFileSync(path.join(home.dir, 'failing-home', 'uploads'), 'not a folder');
    const r = await send(broken, {
      method: 'POST',
      path: '/api/library.upload',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${broken.token}`, 'x-longread-filename': 'book.txt' },
      body: 'CHAPTER 1. A book\n\nWith some words in it.\n',
    });
    assert.equal(r.status, 500, r.body.toString());
    const { error } = r.json();
    assert.equal(error.code, 'internal');
    assert.match(error.message, /^Something went wrong inside Longread: /);
    assert.ok(!error.message.includes(home.dir) && !error.message.includes('\n'), error.message);
    assert.equal(logged.length, 1, 'the whole error went to the log');
  } finally {
    console.error = original;
    await broken.close();
    await failing.close();
  }
});

test('uploads: one limit (the file limit); bodies go to a temp file; a rejected upload leaves nothing behind', async () => {
  const { MAX_UPLOAD_BYTES } = await import('../../main/api/library-handlers');
  const { DEFAULT_MAX_FILE_BYTES } = await import('../../main/ingest/index');
  assert.equal(MAX_UPLOAD_BYTES, DEFAULT_MAX_FILE_BYTES, 'no upload is received only to be refused by the reader');
  // a declared body above the limit is refused at once, before any byte of it
  const over = await rawExchange(
    server.port,
    `POST /api/library.upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/octet-stream\r\nX-Longread-Filename: big.pdf\r\nContent-Length: ${DEFAULT_MAX_FILE_BYTES + 1}\r\nConnection: close\r\n\r\n`,
    3000,
  );
  assert.match(over.text, /^HTTP\/1\.1 413/, over.text.slice(0, 200));
  assert.match(over.text, /"too-large"/);

  const uploads = path.join(home.dir, 'home', 'uploads');
  const filesUnder = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).filter((f) => statSync(path.join(dir, f)).isFile()) : []);
  const before = filesUnder(uploads);
  const rejected = await send(server, {
    method: 'POST',
    path: '/api/library.upload',
    headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${server.token}`, 'x-longread-filename': 'photo.txt' },
    body: Buffer.from([0, 1, 2, 3, 0, 0, 255, 254, 0, 7, 0, 0]),
  });
  assert.equal(rejected.status, 422, rejected.body.toString());
  assert.equal(rejected.json().error.code, 'unsupported-type');
  assert.deepEqual(filesUnder(uploads), before, 'the rejected upload was deleted');

  const bytes = Buffer.from('CHAPTER 1. Kept\n\nAn uploaded book that is removed again, with enough words to be a document.\n');
  const kept = await send(server, {
    method: 'POST',
    path: '/api/library.upload',
    headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${server.token}`, 'x-longread-filename': 'kept.txt' },
    body: bytes,
  });
  assert.equal(kept.status, 200, kept.body.toString());
  const added = kept.json().value;
  assert.deepEqual(readFileSync(added.path), bytes);
  assert.ok(added.path.startsWith(uploads + path.sep));
  if (process.platform !== 'win32') assert.equal(statSync(added.path).mode & 0o777, 0o600, 'uploads are the owner’s only');
  assert.equal((await call(server, 'library.remove', { id: added.document.id })).status, 200);
  assert.equal(existsSync(added.path), false, 'removing the document deletes its uploaded file');
  assert.deepEqual(filesUnder(uploads), before);
});

test('timeouts: a stalled request is dropped; a slow answer and a quiet WebSocket are not', async () => {
  let openDelay = 0;
  const slowApi = AppApi.open({
    home: path.join(home.dir, 'slow-home'),
    mode: 'browser',
    openAssistant: async () => {
      await new Promise((r) => setTimeout(r, openDelay));
      return new RecordingAssistant();
    },
  });
  const quick = await startServer({ api: slowApi, rendererDir, timeouts: { requestMs: 400, headersMs: 300, checkEveryMs: 50 } });
  try {
    // headers never finished / a body that never comes: the connection is closed
    const stalledHeaders = await rawExchange(quick.port, `POST /api/library.list HTTP/1.1\r\nHost: 127.0.0.1:${quick.port}\r\n`, 3000);
    assert.equal(stalledHeaders.closed, true, 'a request whose headers never end is dropped');
    const stalledBody = await rawExchange(
      quick.port,
      `POST /api/library.list HTTP/1.1\r\nHost: 127.0.0.1:${quick.port}\r\nAuthorization: Bearer ${quick.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`,
      3000,
    );
    assert.equal(stalledBody.closed, true, 'a body that never arrives is dropped');
    assert.match(stalledBody.text, /^HTTP\/1\.1 408|^$/);

    // a WebSocket that stays quiet longer than the request timeout still gets its events
    const ws = new WebSocket(`ws://127.0.0.1:${quick.port}/api/events?token=${quick.token}`);
    const events: ApiEvent[] = [];
    ws.on('message', (data) => events.push(JSON.parse(String(data))));
    await new Promise((resolve, reject) => {
      ws.on('open', resolve);
      ws.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 900));
    assert.equal(ws.readyState, WebSocket.OPEN, 'the socket outlived the request timeout');

    // an answer that takes longer than the request timeout (an engine starting) still arrives
    openDelay = 900;
    const slow = await call(quick, 'library.list', {});
    assert.equal(slow.status, 200);
    slowApi.emit({ type: 'library-changed' });
    for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(events, [{ type: 'library-changed' }]);
    ws.close();
  } finally {
    await quick.close();
    await slowApi.close();
  }
});

test('uploads being received are bounded: a third at once is refused as busy, and an interrupted one frees its slot and leaves no file', async () => {
  const incoming = path.join(home.dir, 'home', 'uploads', '.incoming');
  const head = (length: number) =>
    `POST /api/library.upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/octet-stream\r\nX-Longread-Filename: slow.txt\r\nContent-Length: ${length}\r\n\r\n`;
  const slow = [connect(server.port, '127.0.0.1'), connect(server.port, '127.0.0.1')];
  for (const s of slow) {
    s.on('error', () => {});
    s.write(head(100_000) + 'CHAPTER 1. Slow\n\n');
  }
  for (let i = 0; i < 200 && (!existsSync(incoming) || readdirSync(incoming).length < 2); i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(readdirSync(incoming).length, 2, 'both are being received into temp files');
  const third = await send(server, {
    method: 'POST',
    path: '/api/library.upload',
    headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${server.token}`, 'x-longread-filename': 'third.txt' },
    body: 'CHAPTER 1. Third\n\nA third upload while two are still arriving.\n',
  });
  assert.equal(third.status, 503);
  assert.equal(third.json().error.code, 'busy');
  for (const s of slow) s.destroy();
  for (let i = 0; i < 200 && readdirSync(incoming).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(readdirSync(incoming), [], 'interrupted uploads leave no temp file');
  const after = await send(server, {
    method: 'POST',
    path: '/api/library.upload',
    headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${server.token}`, 'x-longread-filename': 'after.txt' },
    body: 'CHAPTER 1. After\n\nAn upload once the interrupted ones are gone, with a few words.\n',
  });
  assert.equal(after.status, 200, after.body.toString());
});
