import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { API_METHODS, DEFAULT_SETTINGS, type ApiEvent, type ApiResult } from '../../common/api';
import { AppApi } from '../../main/api/api';
import type { AssistantOpenOptions } from '../../main/api/assistant-host';
import { httpStatusOf } from '../../main/api/errors';
import { DEFAULT_LIMITS, Gate, MAX_CONCURRENT_IMPORTS, MAX_CONCURRENT_INGESTS, MAX_PENDING_JOBS, MAX_WAITING_INGESTS } from '../../main/api/limits';
import { SETTINGS_FILE } from '../../main/api/settings';
import { corpus, needs } from '../library/helpers/corpus';
import { procAvailable, readerProcesses, until } from '../helpers/engine-processes';
import { RecordingAssistant, tempHome, writeBook } from './helpers';

const DOC = 'a'.repeat(64);

function openApi(home: string, assistant = new RecordingAssistant(), extra: Partial<Parameters<typeof AppApi.open>[0]> = {}) {
  const opened: AssistantOpenOptions[] = [];
  const api = AppApi.open({
    home,
    mode: 'browser',
    openAssistant: async (o) => {
      opened.push(o);
      return assistant;
    },
    ...extra,
  });
  const events: ApiEvent[] = [];
  api.onEvent((e) => events.push(e));
  return { api, assistant, events, opened };
}

function failed(r: ApiResult): { code: string; message: string; issues?: Array<{ path: string; message: string }> } {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r).slice(0, 300)}`);
  return (r as Extract<ApiResult, { ok: false }>).error;
}

function value<T = any>(r: ApiResult): T {
  assert.equal(r.ok, true, `expected success, got ${JSON.stringify(r)}`);
  return (r as Extract<ApiResult, { ok: true }>).value as T;
}

test('malformed requests are refused with typed errors naming the field', async () => {
  const { dir, cleanup } = tempHome();
  const { api, opened } = openApi(dir);
  try {
    assert.equal(failed(await api.call('library.drop', {})).code, 'unknown-method');
    assert.equal(failed(await api.call(42, {})).code, 'unknown-method');
    assert.equal(failed(await api.call('__proto__', {})).code, 'unknown-method');
    assert.equal(failed(await api.call('toString', {})).code, 'unknown-method');

    const cases: Array<[string, unknown, string]> = [
      ['document.get', { id: 'not-hex' }, 'id'],
      ['document.get', {}, 'id'],
      ['document.get', null, 'id'],
      ['library.add', { paths: ['relative/book.txt'] }, 'paths.0'],
      ['library.add', { paths: [] }, 'paths'],
      ['library.add', { paths: '/abs/book.txt' }, 'paths'],
      ['library.upload', { name: '../../etc/passwd', data: 'aGVsbG8=' }, 'name'],
      ['library.upload', { name: 'a.txt', data: 'not base64!' }, 'data'],
      ['assistant.ask', { documentId: DOC, question: '   ' }, 'question'],
      ['assistant.ask', { documentId: DOC, question: 'q', chatId: 'abc' }, 'chatId'],
      ['assistant.ask', { documentId: DOC, question: 'q', sections: { from: 3, to: 1 } }, 'sections'],
      ['assistant.ask', { documentId: DOC, question: 'q', extra: true }, ''],
      ['assistant.summarize', { documentId: DOC, length: 'medium' }, 'length'],
      ['settings.set', { theme: 'purple' }, 'theme'],
      ['settings.set', { threads: -1 }, 'threads'],
      ['settings.set', { provider: 'tpu' }, 'provider'],
      ['models.import', { dir: 'models/x' }, 'dir'],
      ['chats.messages', { chatId: 7 }, 'chatId'],
      ['app.info', { anything: 1 }, ''],
    ];
    for (const [method, payload, field] of cases) {
      const error = failed(await api.call(method, payload));
      assert.equal(error.code, 'invalid-request', `${method} ${JSON.stringify(payload)}`);
      assert.ok(error.issues && error.issues.length > 0, `${method}: issues listed`);
      assert.ok(error.issues.some((i) => i.path === field), `${method}: an issue for "${field}" in ${JSON.stringify(error.issues)}`);
      assert.match(error.message, new RegExp(`^Invalid request for ${method.replace('.', '\\.')}`));
    }
    // none of these reached the assistant
    assert.equal(opened.length, 0);
  } finally {
    await api.close();
    cleanup();
  }
});

test('every API method has a handler', async () => {
  const { dir, cleanup } = tempHome();
  const { api } = openApi(dir);
  try {
    for (const method of API_METHODS) {
      const r = await api.call(method, {});
      if (!r.ok) assert.notEqual(r.error.code, 'unknown-method', method);
      if (!r.ok) assert.notEqual(r.error.code, 'internal', `${method}: ${r.error.message}`);
    }
  } finally {
    await api.close();
    cleanup();
  }
});

test('library: add by path, list, get, file bytes, search, remove; events tell the renderer', async () => {
  const { dir, cleanup } = tempHome();
  const { api, events } = openApi(dir);
  try {
    const book = writeBook(dir);
    const added = value(await api.call('library.add', { paths: [book] })).added;
    assert.equal(added.length, 1);
    assert.equal(added[0].status, 'added');
    // the stand-in's active model has no folder: the document is added all the same, its token count unknown
    assert.equal(added[0].document.tokens, null);
    const id = added[0].document.id;
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.ok(events.some((e) => e.type === 'ingest-progress' && e.path === book));
    assert.ok(events.some((e) => e.type === 'library-changed'));

    const docs = value(await api.call('library.list', {})).documents;
    assert.deepEqual(docs.map((d: any) => d.id), [id]);
    assert.equal(docs[0].title, 'The Test Voyage');

    const detail = value(await api.call('document.get', { id }));
    assert.equal(detail.info.id, id);
    assert.ok(detail.text.includes('Paragraph 12 of chapter 2'));
    assert.deepEqual(detail.sections.map((s: any) => s.title).slice(0, 3), ['CHAPTER 1. Loomings', 'CHAPTER 2. The Carpet-Bag', 'CHAPTER 3. The Spouter-Inn']);
    assert.ok(detail.pages.length >= 1);
    assert.equal(detail.fileAvailable, true);
    for (const s of detail.sections) assert.ok(detail.text.slice(s.start, s.end).startsWith('CHAPTER'));

    const file = value(await api.call('document.file', { id }));
    assert.equal(file.name, 'The Test Voyage.txt');
    assert.match(file.mimeType, /^text\/plain/);
    assert.deepEqual(Buffer.from(file.bytes), readFileSync(book));

    const hits = value(await api.call('library.search', { query: 'Carpet-Bag sea', documentId: id })).hits;
    assert.ok(hits.length > 0 && hits.every((h: any) => h.docId === id));

    // adding the same bytes again reads nothing
    assert.equal(value(await api.call('library.add', { paths: [book] })).added[0].status, 'existing');

    // the file changes on disk: the reader is not shown other bytes as this document
    appendFileSync(book, 'one more line\n');
    assert.equal(value(await api.call('document.get', { id })).fileAvailable, false);
    const missing = failed(await api.call('document.file', { id }));
    assert.equal(missing.code, 'document-file-missing');

    const removed = value(await api.call('library.remove', { id })).removed;
    assert.equal(removed.id, id);
    assert.deepEqual(value(await api.call('library.list', {})).documents, []);
    assert.equal(failed(await api.call('document.get', { id })).code, 'document-not-found');
    assert.equal(failed(await api.call('library.remove', { id })).code, 'document-not-found');
  } finally {
    await api.close();
    cleanup();
  }
});

test('library: a file that cannot be read gives its ingest error with the file named', async () => {
  const { dir, cleanup } = tempHome();
  const { api } = openApi(dir);
  try {
    const gone = path.join(dir, 'nope.pdf');
    const error = failed(await api.call('library.add', { paths: [gone] }));
    assert.equal(error.code, 'file-not-found');
    assert.equal((error as any).file, gone);
    const binary = path.join(dir, 'photo.txt');
    writeFileSync(binary, Buffer.from([0, 1, 2, 3, 0, 0, 255, 254, 0, 7]));
    assert.equal(failed(await api.call('library.add', { paths: [binary] })).code, 'unsupported-type');
  } finally {
    await api.close();
    cleanup();
  }
});

test('library: uploads (browser mode) are kept in the data home and served back', async () => {
  const { dir, cleanup } = tempHome();
  const { api } = openApi(dir);
  try {
    const bytes = readFileSync(writeBook(dir, 'source.txt'));
    const up = value(await api.call('library.upload', { name: 'Voyage.txt', data: bytes.toString('base64') }));
    assert.equal(up.status, 'added');
    assert.ok(up.path.startsWith(path.join(dir, 'uploads')));
    assert.deepEqual(Buffer.from(value(await api.call('document.file', { id: up.document.id })).bytes), bytes);
    // the raw-bytes form gives the same document
    const raw = value(await api.upload('Voyage again.txt', bytes));
    assert.equal(raw.document.id, up.document.id);
    assert.equal(raw.status, 'existing');
    assert.equal(failed(await api.upload('a/b.txt', bytes)).code, 'invalid-request');
    assert.equal(failed(await api.upload('empty.txt', new Uint8Array())).code, 'document-empty');
  } finally {
    await api.close();
    cleanup();
  }
});

test('library.add through the API refuses what is no document: no extension, another extension, hidden folders', async () => {
  const { dir, cleanup } = tempHome();
  const { api } = openApi(dir);
  try {
    const secret = 'PRIVATE KEY material that must never be read into the library through the API, with words.\n'.repeat(3);
    mkdirSync(path.join(dir, '.ssh'));
    const idRsa = path.join(dir, '.ssh', 'id_rsa');
    const hiddenTxt = path.join(dir, '.ssh', 'notes.txt');
    const extensionless = path.join(dir, 'credentials');
    const otherExt = path.join(dir, 'key.pem');
    const dotFile = path.join(dir, '.env.txt');
    for (const f of [idRsa, hiddenTxt, extensionless, otherExt, dotFile]) writeFileSync(f, secret);
    for (const f of [idRsa, hiddenTxt, extensionless, otherExt, dotFile]) {
      const error = failed(await api.call('library.add', { paths: [f] }));
      assert.equal(error.code, 'path-refused', f);
      assert.equal((error as { file?: string }).file, f);
      assert.ok(error.message.includes(f));
    }
    // one refused path refuses the call before anything is read
    assert.equal(failed(await api.call('library.add', { paths: [writeBook(dir), idRsa] })).code, 'path-refused');
    assert.deepEqual(value(await api.call('library.list', {})).documents, [], 'nothing was read, not even the good file');
    // the library itself (the command line) still takes a plain-text file without an extension
    assert.equal((await api.library.add(extensionless)).status, 'added');
  } finally {
    await api.close();
    cleanup();
  }
});

test('uploads: a rejected one leaves no file; removing a document deletes its uploaded file', async () => {
  const { dir, cleanup } = tempHome();
  const { api } = openApi(dir);
  const uploads = path.join(dir, 'uploads');
  const files = () => (existsSync(uploads) ? readdirSync(uploads, { recursive: true }).map(String).filter((f) => statSync(path.join(uploads, f)).isFile()) : []);
  try {
    assert.equal(failed(await api.upload('photo.txt', Buffer.from([0, 1, 2, 3, 0, 0, 255, 254, 0, 7]))).code, 'unsupported-type');
    assert.equal(failed(await api.call('library.upload', { name: 'photo.epub', data: Buffer.from('PK\u0003\u0004 not really').toString('base64') })).code !== undefined, true);
    assert.deepEqual(files(), [], 'rejected uploads are deleted');
    const bytes = readFileSync(writeBook(dir, 'source.txt'));
    const a = value(await api.upload('Voyage.txt', bytes));
    const b = value(await api.upload('Voyage again.txt', bytes));
    assert.equal(b.status, 'existing');
    assert.deepEqual(files().sort(), [path.join(a.document.id, 'Voyage again.txt'), path.join(a.document.id, 'Voyage.txt')]);
    value(await api.call('library.remove', { id: a.document.id }));
    assert.deepEqual(files(), [], 'both names of the removed document are gone');
    assert.ok(!existsSync(path.join(uploads, a.document.id)), 'and their folder');
  } finally {
    await api.close();
    cleanup();
  }
});

test('bounded work: jobs beyond the cap and files beyond the ingest queue are refused as busy', async () => {
  const { dir, cleanup } = tempHome();
  /** Jobs that stay queued until the test ends them. */
  class WaitingAssistant extends RecordingAssistant {
    readonly ends: Array<() => void> = [];
    override ask(req: Parameters<RecordingAssistant['ask']>[0], onEvent: Parameters<RecordingAssistant['ask']>[1]) {
      const { jobId } = super.ask(req, () => {});
      onEvent({ type: 'queued', jobId, kind: 'ask', position: this.ends.length });
      return { jobId, result: new Promise<never>((_, reject) => this.ends.push(() => reject(new Error('ended')))) };
    }
  }
  const assistant = new WaitingAssistant();
  const limits = { pendingJobs: 4, concurrentIngests: 1, waitingIngests: 2, concurrentImports: 1 };
  const { api } = openApi(dir, assistant, { limits });
  assert.deepEqual(DEFAULT_LIMITS, { pendingJobs: MAX_PENDING_JOBS, concurrentIngests: MAX_CONCURRENT_INGESTS, waitingIngests: MAX_WAITING_INGESTS, concurrentImports: MAX_CONCURRENT_IMPORTS });
  assert.ok(MAX_PENDING_JOBS >= 4 && MAX_CONCURRENT_INGESTS >= 1 && MAX_WAITING_INGESTS >= 2, 'the app allows at least what the test does');
  try {
    const id = value(await api.call('library.add', { paths: [writeBook(dir)] })).added[0].document.id;
    const asks = await Promise.all(Array.from({ length: limits.pendingJobs + 3 }, (_, i) => api.call('assistant.ask', { documentId: id, question: `Question ${i}?` })));
    assert.equal(asks.filter((r) => r.ok).length, limits.pendingJobs);
    const busy = asks.filter((r) => !r.ok).map((r) => failed(r));
    assert.equal(busy.length, 3);
    for (const e of busy) assert.equal(e.code, 'busy');
    assert.equal(httpStatusOf('busy'), 503);
    assert.equal(assistant.asked.length, limits.pendingJobs, 'refused calls started no job');
    // a job that ends frees its slot
    assistant.ends.shift()!();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal((await api.call('assistant.ask', { documentId: id, question: 'One more?' })).ok, true);

    // files being read: concurrentIngests at once, waitingIngests waiting, the rest busy
    const books = Array.from({ length: limits.concurrentIngests + limits.waitingIngests + 2 }, (_, i) => writeBook(dir, `Book ${i}.txt`, `Book number ${i}.`));
    const adds = await Promise.all(books.map((b) => api.call('library.add', { paths: [b] })));
    assert.equal(adds.filter((r) => r.ok).length, limits.concurrentIngests + limits.waitingIngests);
    const refused = adds.filter((r) => !r.ok).map((r) => failed(r));
    assert.deepEqual(refused.map((e) => e.code), ['busy', 'busy']);
    assert.match(refused[0]!.message, /busy/);
    // and afterwards every slot is free again
    assert.equal((await Promise.all(books.slice(-2).map((b) => api.call('library.add', { paths: [b] })))).filter((r) => r.ok).length, 2);
  } finally {
    for (const end of assistant.ends) end();
    await api.close();
    cleanup();
  }
});

test('bounded work: a model import while another runs is refused as busy (each copies and loads a whole model); its slot is freed when it ends', async () => {
  const { dir, cleanup } = tempHome();
  const assistant = new RecordingAssistant();
  const imported = assistant.models.import;
  let finish: () => void = () => {};
  assistant.models.import = async (...args: Parameters<typeof imported>) => {
    await new Promise<void>((resolve) => (finish = resolve));
    return imported(...args);
  };
  const { api } = openApi(dir, assistant);
  try {
    const first = api.call('models.import', { dir: '/models/one' });
    await new Promise((r) => setTimeout(r, 10));
    const second = failed(await api.call('models.import', { dir: '/models/two' }));
    assert.equal(second.code, 'busy');
    assert.match(second.message, /model imports/);
    finish();
    assert.equal(value(await first).model.dir, '/models/one');
    const third = api.call('models.import', { dir: '/models/three' });
    await new Promise((r) => setTimeout(r, 10));
    finish();
    assert.equal(value(await third).model.dir, '/models/three');
  } finally {
    await api.close();
    cleanup();
  }
});

test('a Gate hands slots over in order, and a cancelled wait leaves the queue', async () => {
  const gate = new Gate(1, 2, 'things');
  const first = gate.tryEnter();
  assert.throws(() => gate.tryEnter(), (e: unknown) => (e as { code?: string }).code === 'busy');
  const order: string[] = [];
  const controller = new AbortController();
  const second = gate.enter().then((release) => (order.push('second'), release));
  const cancelled = gate.enter(controller.signal);
  await assert.rejects(gate.enter(), (e: unknown) => (e as { code?: string }).code === 'busy', 'two waiting already');
  controller.abort();
  await assert.rejects(cancelled, (e: unknown) => (e as { code?: string }).code === 'cancelled');
  const third = gate.enter().then((release) => (order.push('third'), release));
  first();
  first(); // a second release does nothing
  (await second)();
  (await third)();
  assert.deepEqual(order, ['second', 'third']);
  assert.equal(gate.held, 0);
});

test('files opened from the OS go to the library and the first is shown; failures become events', async () => {
  const { dir, cleanup } = tempHome();
  const { api, events } = openApi(dir);
  try {
    const book = writeBook(dir);
    await api.openFiles([path.join(dir, 'missing.txt'), book]);
    const failedEvent = events.find((e) => e.type === 'add-failed');
    assert.ok(failedEvent && failedEvent.type === 'add-failed' && failedEvent.error.code === 'file-not-found');
    const open = events.find((e) => e.type === 'open-document');
    const [doc] = value(await api.call('library.list', {})).documents;
    assert.ok(open && open.type === 'open-document' && open.documentId === doc.id);
  } finally {
    await api.close();
    cleanup();
  }
});

test('chats: create, list, messages, export as Markdown with citations', async () => {
  const { dir, cleanup } = tempHome();
  const { api } = openApi(dir);
  try {
    const id = value(await api.call('library.add', { paths: [writeBook(dir)] })).added[0].document.id;
    const chat = value(await api.call('chats.create', { documentId: id }));
    assert.match(chat.id, /^\d+$/);
    assert.equal(chat.title, 'Questions about The Test Voyage');
    assert.equal(failed(await api.call('chats.create', { documentId: 'b'.repeat(64) })).code, 'document-not-found');

    api.library.chats.addMessage(Number(chat.id), 'user', 'Who tells the story?');
    api.library.chats.addMessage(Number(chat.id), 'assistant', 'Ishmael.', {
      citations: [{ documentId: id, start: 10, end: 40, quote: 'Call me *Ishmael*.\nSome years ago', page: 3, section: { index: 0, title: 'Loomings' }, score: 0.9 }],
    });
    const { messages } = value(await api.call('chats.messages', { chatId: chat.id }));
    assert.deepEqual(messages.map((m: any) => [m.role, m.content]), [['user', 'Who tells the story?'], ['assistant', 'Ishmael.']]);
    assert.deepEqual(value(await api.call('chats.list', { documentId: id })).chats.map((c: any) => c.id), [chat.id]);

    const md = value(await api.call('export.chat', { chatId: chat.id }));
    assert.equal(md.fileName, 'The Test Voyage - chat.md');
    assert.match(md.markdown, /^# Questions about The Test Voyage\n/);
    assert.match(md.markdown, /\*\*You:\*\* Who tells the story\?/);
    assert.match(md.markdown, /\*\*Longread:\*\* Ishmael\./);
    assert.match(md.markdown, /> Call me \*Ishmael\*\.\n> Some years ago\n> — p\. 3, Loomings, characters 10–40/);

    assert.equal(failed(await api.call('chats.messages', { chatId: '999' })).code, 'chat-not-found');
    assert.equal(value(await api.call('chats.remove', { chatId: chat.id })).removed, true);
    assert.equal(value(await api.call('chats.remove', { chatId: chat.id })).removed, false);
  } finally {
    await api.close();
    cleanup();
  }
});

test('export.summary formats the summary, its sections and sources; desktop-only calls are refused in browser mode', async () => {
  const { dir, cleanup } = tempHome();
  const { api } = openApi(dir);
  try {
    const id = value(await api.call('library.add', { paths: [writeBook(dir)] })).added[0].document.id;
    const summary = {
      summary: 'A voyage begins.',
      kind: 'abstractive',
      sections: [{ index: 1, title: 'The Carpet-Bag', summary: 'He packs.' }],
      citations: [{ documentId: id, start: 0, end: 5, quote: 'The T', page: 1, score: 1 }],
      cached: false,
      model: 'tiny',
    };
    const md = value(await api.call('export.summary', { documentId: id, section: 1, summary }));
    assert.equal(md.fileName, 'The Test Voyage — CHAPTER 2. The Carpet-Bag - summary.md');
    assert.match(md.markdown, /^# Summary: The Test Voyage — CHAPTER 2\. The Carpet-Bag\n\n_Abstractive summary by tiny\._\n\nA voyage begins\.\n\n## The Carpet-Bag\n\nHe packs\.\n\n## Sources\n\n> The T\n> — p\. 1, characters 0–5\n$/);
    for (const method of ['library.pick', 'models.pick'] as const) assert.equal(failed(await api.call(method, {})).code, 'unsupported');
    assert.equal(failed(await api.call('export.save', { fileName: md.fileName, content: md.markdown })).code, 'unsupported');
  } finally {
    await api.close();
    cleanup();
  }
});

test('assistant calls start jobs whose events reach every listener; bad references are refused before any job', async () => {
  const { dir, cleanup } = tempHome();
  const { api, assistant, events, opened } = openApi(dir);
  try {
    const id = value(await api.call('library.add', { paths: [writeBook(dir)] })).added[0].document.id;
    assert.equal(failed(await api.call('assistant.ask', { documentId: 'c'.repeat(64), question: 'Who?' })).code, 'document-not-found');
    assert.equal(failed(await api.call('assistant.ask', { documentId: id, question: 'Who?', chatId: '77' })).code, 'chat-not-found');
    assert.deepEqual(assistant.asked, [], 'no job was started for refused calls');

    const { jobId } = value(await api.call('assistant.ask', { documentId: id, question: 'Who tells the story?' }));
    await new Promise((r) => setTimeout(r, 10));
    const mine = events.filter((e) => 'jobId' in e && e.jobId === jobId).map((e) => e.type);
    assert.deepEqual(mine, ['queued', 'token', 'done']);
    assert.deepEqual(assistant.asked, [{ documentId: id, question: 'Who tells the story?' }]);

    const s = value(await api.call('assistant.summarize', { documentId: id, length: 'short' }));
    await new Promise((r) => setTimeout(r, 10));
    const err = events.find((e) => e.type === 'error' && e.jobId === s.jobId);
    assert.ok(err && err.type === 'error' && err.error.code === 'no-model');

    assert.deepEqual(value(await api.call('assistant.cancel', { jobId })), { cancelled: true });
    assert.deepEqual(value(await api.call('assistant.jobs', {})).jobs, [{ jobId: 'job-9', kind: 'ask', state: 'running', documentId: 'x', stage: 'encoding' }]);
    assert.equal(opened.length, 1, 'one engine for all jobs');
    assert.equal(opened[0]!.library, api.library);
  } finally {
    await api.close();
    cleanup();
  }
});

test('settings persist in the data home; engine settings reopen the assistant; a damaged file falls back to defaults', async () => {
  const { dir, cleanup } = tempHome();
  const first = openApi(dir);
  try {
    assert.deepEqual(value(await first.api.call('settings.get', {})), DEFAULT_SETTINGS);
    await first.api.call('models.list', {});
    assert.equal(first.opened.length, 1);
    const s = value(await first.api.call('settings.set', { theme: 'dark', threads: 3, compression: 'fast' }));
    assert.deepEqual(s, { ...DEFAULT_SETTINGS, theme: 'dark', threads: 3, compression: 'fast' });
    assert.ok(first.events.some((e) => e.type === 'settings-changed' && e.settings.theme === 'dark'));
    if (process.platform !== 'win32') assert.equal(statSync(path.join(dir, SETTINGS_FILE)).mode & 0o777, 0o600, 'the settings are the owner’s only');
    assert.equal(first.assistant.closed, 1, 'threads changed: the engine is reopened');
    await first.api.call('models.list', {});
    assert.equal(first.opened.at(-1)!.threads, 3);
    assert.equal(first.opened.at(-1)!.compression, 'fast');
    await first.api.call('settings.set', { theme: 'light' });
    await first.api.call('settings.set', { theme: 'dark' });
    await first.api.call('models.list', {});
    assert.equal(first.assistant.closed, 1, 'the theme does not touch the engine');

    const models = value(await first.api.call('models.use', { id: 'other' })).models;
    assert.deepEqual(models.filter((m: any) => m.active).map((m: any) => m.id), ['other']);
    assert.equal(failed(await first.api.call('models.use', { id: 'ghost' })).code, 'model-not-found');
    assert.equal(failed(await first.api.call('settings.set', { model: 'ghost' })).code, 'model-not-found');
    assert.equal(value(await first.api.call('settings.get', {})).model, 'other');

    const eventsBefore = first.events.filter((e) => e.type === 'models-changed').length;
    const precise = value(await first.api.call('models.setPrecision', { id: 'other', precision: 'int8' })).models;
    assert.deepEqual(precise.map((m: any) => [m.id, m.precision]), [['tiny', 'fp32'], ['other', 'int8']]);
    assert.equal(first.events.filter((e) => e.type === 'models-changed').length, eventsBefore + 1);
    assert.equal(failed(await first.api.call('models.setPrecision', { id: 'other', precision: 'int4' } as never)).code, 'invalid-request');
    assert.equal(failed(await first.api.call('models.setPrecision', { id: 'ghost', precision: 'fp32' })).code, 'model-not-found');

    const imported = value(await first.api.call('models.import', { dir: '/tmp/some-model' })).model;
    assert.equal(imported.dir, '/tmp/some-model');
    assert.deepEqual(first.events.filter((e) => e.type === 'model-import-progress').map((e: any) => e.done), [1, 2]);
  } finally {
    await first.api.close();
  }
  const saved = JSON.parse(readFileSync(path.join(dir, SETTINGS_FILE), 'utf8'));
  assert.equal(saved.theme, 'dark');
  assert.equal(saved.model, 'other');

  const second = openApi(dir);
  try {
    assert.deepEqual(value(await second.api.call('settings.get', {})), { ...DEFAULT_SETTINGS, theme: 'dark', threads: 3, compression: 'fast', model: 'other' });
    await second.api.call('models.list', {});
    assert.equal(second.assistant.active, 'other', 'the saved model is made active when the engine opens');
  } finally {
    await second.api.close();
  }

  writeFileSync(path.join(dir, SETTINGS_FILE), JSON.stringify({ theme: 'neon', threads: 2 }));
  const third = openApi(dir);
  try {
    assert.deepEqual(value(await third.api.call('settings.get', {})), { ...DEFAULT_SETTINGS, threads: 2 });
    assert.match(value(await third.api.call('app.info', {})).notice, /invalid values for theme/);
  } finally {
    await third.api.close();
  }
  writeFileSync(path.join(dir, SETTINGS_FILE), '{ not json');
  const fourth = openApi(dir);
  try {
    assert.deepEqual(value(await fourth.api.call('settings.get', {})), DEFAULT_SETTINGS);
  } finally {
    await fourth.api.close();
    cleanup();
  }
});

test('an assistant that fails to open gives its error, and a later call tries again', async () => {
  const { dir, cleanup } = tempHome();
  let attempts = 0;
  const assistant = new RecordingAssistant();
  const api = AppApi.open({
    home: dir,
    mode: 'electron',
    openAssistant: async () => {
      attempts++;
      if (attempts === 1) throw new (await import('../../common/errors')).LongreadError('no-model', 'No model is installed.');
      return assistant;
    },
  });
  try {
    assert.equal(failed(await api.call('models.list', {})).code, 'no-model');
    assert.equal(value(await api.call('models.list', {})).models.length, 2);
    assert.equal(attempts, 2);
    assert.equal(value(await api.call('app.info', {})).mode, 'electron');
  } finally {
    await api.close();
    cleanup();
  }
});

test('library.cancelAdd stops a file being added: the call ends cancelled and nothing is stored', needs('pdf/tracemonkey.pdf'), async () => {
  const { dir, cleanup } = tempHome();
  const { api, events } = openApi(dir);
  try {
    const file = corpus('pdf/tracemonkey.pdf');
    const cancels: Array<Promise<ApiResult>> = [];
    api.onEvent((e) => {
      if (e.type === 'ingest-progress' && e.phase === 'read' && e.done === 1 && cancels.length === 0) cancels.push(api.call('library.cancelAdd', { path: file }));
    });
    const result = await api.call('library.add', { paths: [file] });
    assert.equal(failed(result).code, 'cancelled');
    assert.equal(cancels.length, 1);
    assert.deepEqual(value(await cancels[0]!), { cancelled: true });
    // cancelled means stopped: the reader process that was parsing is gone, not parsing on
    if (procAvailable) await until(() => readerProcesses().length === 0, 'the reader process has ended');
    assert.ok(!events.some((e) => e.type === 'ingest-progress' && e.phase === 'store'), 'nothing was written');
    assert.deepEqual(value(await api.call('library.list', {})).documents, []);
    // nothing is being added any more: a late cancel finds nothing to stop
    assert.deepEqual(value(await api.call('library.cancelAdd', { path: file })), { cancelled: false });
    assert.equal(value(await api.call('library.add', { paths: [file] })).added[0].status, 'added');
  } finally {
    await api.close();
    cleanup();
  }
});
