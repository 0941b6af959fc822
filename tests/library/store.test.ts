import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TokenCounter } from '../../common/document';
import { LongreadError } from '../../common/errors';
import { MIGRATIONS } from '../../main/library/migrations';
import { Library } from '../../main/library/library';
import { LIBRARY_APPLICATION_ID } from '../../main/library/database';
import { SWEEP_MIN_AGE_MS } from '../../main/library/engine-state';
import { dataHome } from '../../main/library/paths';
import { corpus, needs, tempDir } from './helpers/corpus';

/** A real tokenizer for the interface: counts words and punctuation marks. */
const wordCounter = (modelId: string): TokenCounter & { calls: number } => {
  const c = { modelId, calls: 0, count: (text: string) => (c.calls++, (text.match(/\w+|[^\w\s]/g) ?? []).length) };
  return c;
};

test('opening creates a migrated WAL database with foreign keys on', () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    assert.equal(lib.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(lib.db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(lib.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    assert.equal(lib.recovered, null);
    lib.close();
    // Opening again runs no migration twice.
    const again = Library.open({ home: dir });
    assert.equal(again.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    again.close();
  } finally {
    cleanup();
  }
});

test('a damaged database is moved aside, never deleted, and the user is told', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'library.db');
    const junk = Buffer.from('this is not a database, but somebody’s data all the same\n'.repeat(200));
    writeFileSync(file, junk);
    const lib = Library.open({ home: dir });
    assert.ok(lib.recovered);
    assert.match(lib.recovered.message, /damaged .* moved to .*library\.db\.corrupt-/);
    assert.deepEqual(readFileSync(lib.recovered.movedTo!), junk, 'the old file is kept byte for byte');
    assert.equal(lib.list().length, 0);
    lib.close();
    assert.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1);
  } finally {
    cleanup();
  }
});

test('a database whose pages are damaged fails the integrity check and is moved aside', needs('books/pg84.txt'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    await lib.add(corpus('books/pg84.txt'));
    lib.db.pragma('wal_checkpoint(TRUNCATE)');
    lib.close();
    const file = path.join(dir, 'library.db');
    const bytes = readFileSync(file);
    // Scribble over the middle of the file (b-tree pages), leaving the header intact.
    bytes.fill(0x41, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 8192);
    writeFileSync(file, bytes);
    const reopened = Library.open({ home: dir, fullCheck: true });
    assert.ok(reopened.recovered, 'damage detected');
    assert.ok(existsSync(reopened.recovered.movedTo!));
    assert.equal(reopened.list().length, 0);
    reopened.close();
  } finally {
    cleanup();
  }
});

test('re-adding the same file parses nothing; a changed file under the same path is a new version', needs('books/pg64317.txt', 'books/pg84.txt'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const file = path.join(dir, 'book.txt');
    copyFileSync(corpus('books/pg64317.txt'), file);
    const first = await lib.add(file);
    assert.equal(first.status, 'added');
    assert.equal(first.version, 1);

    let progressCalls = 0;
    const again = await lib.add(file, { onProgress: () => progressCalls++ });
    assert.equal(again.status, 'existing');
    assert.equal(again.document.id, first.document.id);
    assert.equal(progressCalls, 0, 'nothing was parsed or stored');

    copyFileSync(corpus('books/pg84.txt'), file);
    const changed = await lib.add(file);
    assert.equal(changed.status, 'new-version');
    assert.equal(changed.version, 2);
    assert.notEqual(changed.document.id, first.document.id);
    assert.deepEqual(lib.list().map((d) => d.files.map((f) => [path.basename(f.path), f.version])), [[['book.txt', 2]], [['book.txt', 1]]]);

    // The same bytes at another path are the same document, text stored once.
    const elsewhere = path.join(dir, 'copy.txt');
    copyFileSync(corpus('books/pg84.txt'), elsewhere);
    const copy = await lib.add(elsewhere);
    assert.equal(copy.status, 'existing');
    assert.equal((lib.db.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n, 2);
    assert.equal(lib.documents.get(copy.document.id)!.files.length, 2);
    lib.close();
  } finally {
    cleanup();
  }
});

test('stored pages, sections and full-text search agree with the document', needs('books/alice.epub'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const { document } = await lib.add(corpus('books/alice.epub'));
    const text = lib.documents.text(document.id)!;
    const pages = lib.documents.pages(document.id);
    assert.equal(pages.length, document.pageCount);
    assert.equal(lib.documents.sections(document.id)[1]!.title, 'Down The Rabbit-Hole');
    const hits = lib.documents.search('Cheshire cat grin');
    assert.ok(hits.length > 0);
    for (const h of hits) {
      const pageText = text.slice(h.start, h.end).toLowerCase();
      for (const w of ['cheshire', 'cat', 'grin']) assert.ok(pageText.includes(w), `page ${h.page} has "${w}"`);
    }
    assert.match(hits[0]!.snippet, /Cheshire/i);
    assert.deepEqual(lib.documents.search('"; DROP TABLE pages; --'), [], 'queries are words, never FTS syntax');
    lib.close();
  } finally {
    cleanup();
  }
});

test('remove deletes a document with its pages, index and caches but keeps chats', needs('books/alice.epub'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const { document } = await lib.add(corpus('books/alice.epub'));
    const ctx = { docId: document.id, modelId: 'm', settings: { beams: 1 } };
    lib.answers.put(ctx, 'Who is late?', { text: 'The White Rabbit' });
    lib.summaries.put(ctx, { text: 'A girl falls down a hole.' });
    lib.engineState.put({ docId: document.id, modelId: 'm', kind: 'encoder' }, Buffer.alloc(1000, 7));
    const chat = lib.chats.create(document.id, 'About Alice');
    lib.chats.addMessage(chat.id, 'user', 'Who is late?');
    assert.throws(() => lib.remove('zzzz'), (e: LongreadError) => e.code === 'document-not-found');
    const removed = lib.remove(document.id.slice(0, 8));
    assert.equal(removed.id, document.id);
    const count = (t: string) => (lib.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    for (const t of ['documents', 'document_files', 'sections', 'pages', 'answer_cache', 'summary_cache', 'engine_state_files']) assert.equal(count(t), 0, t);
    assert.deepEqual(lib.documents.search('Alice'), []);
    assert.deepEqual(readdirSync(lib.engineState.dir), [], 'engine-state file deleted');
    assert.equal(lib.chats.list()[0]!.docId, null, 'the chat stays, detached');
    assert.equal(lib.chats.messages(chat.id).length, 1);
    assert.deepEqual(lib.db.pragma('foreign_key_check'), []);
    lib.close();
  } finally {
    cleanup();
  }
});

test('token counts are stored per model and recounted for a new model', needs('books/pg64317.txt'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const a = wordCounter('model-a');
    const first = await lib.add(corpus('books/pg64317.txt'), { tokenCounter: a });
    assert.ok(first.tokens && first.tokens.modelId === 'model-a' && first.tokens.count > 50_000);
    assert.equal(a.calls, 1);
    await lib.add(corpus('books/pg64317.txt'), { tokenCounter: a });
    assert.equal(a.calls, 1, 'the stored count is reused');
    const b = { modelId: 'model-b', count: (t: string) => t.length };
    const other = await lib.add(corpus('books/pg64317.txt'), { tokenCounter: b });
    assert.deepEqual(other.tokens, { modelId: 'model-b', count: lib.documents.text(first.document.id)!.length });
    assert.equal(lib.documents.tokenCount(first.document.id, 'model-a')!.count, first.tokens.count);
    lib.close();
  } finally {
    cleanup();
  }
});

test('answer and summary caches key on document, model, settings and the normalized question', () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const docId = 'a'.repeat(64);
    lib.db.prepare("INSERT INTO documents (hash, type, title, text, char_count, page_kind, page_count, byte_size, added_at) VALUES (?, 'text', 't', 'x', 1, 'virtual', 1, 1, 0)").run(docId);
    const ctx = { docId, modelId: 'flan-t5-base', settings: { attention: 'vcc', beams: 2 } };
    lib.answers.put(ctx, 'Who is the captain?', { text: 'Ahab' });
    assert.deepEqual(lib.answers.get({ ...ctx, settings: { beams: 2, attention: 'vcc' } }, '  who is the CAPTAIN ? '), { text: 'Ahab' });
    assert.equal(lib.answers.get({ ...ctx, modelId: 'flan-t5-large' }, 'Who is the captain?'), null);
    assert.equal(lib.answers.get({ ...ctx, settings: { attention: 'dense', beams: 2 } }, 'Who is the captain?'), null);
    assert.equal(lib.answers.get(ctx, 'Who is the mate?'), null);
    lib.summaries.put(ctx, { text: 'A whale hunt.' });
    lib.summaries.put(ctx, { text: 'Chapter one.' }, 'section:1');
    assert.deepEqual(lib.summaries.get(ctx), { text: 'A whale hunt.' });
    assert.deepEqual(lib.summaries.get(ctx, 'section:1'), { text: 'Chapter one.' });
    assert.equal(lib.summaries.get({ ...ctx, modelId: 'other' }), null);
    assert.throws(() => lib.answers.put({ ...ctx, docId: 'b'.repeat(64) }, 'q', {}), /FOREIGN KEY/);
    lib.close();
  } finally {
    cleanup();
  }
});

test('engine-state files: checksummed, LRU-evicted under the cap, missing or damaged files are misses', () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir, engineStateCapBytes: 3000 });
    const es = lib.engineState;
    const key = (kind: string) => ({ docId: null, modelId: 'm', kind });
    es.put(key('a'), Buffer.alloc(1000, 1));
    es.put(key('b'), Buffer.alloc(1000, 2));
    es.put(key('c'), Buffer.alloc(1000, 3));
    assert.deepEqual(es.get(key('a')), Buffer.alloc(1000, 1)); // a is now the most recently used
    es.put(key('d'), Buffer.alloc(1000, 4)); // over the cap: b, the least recently used, goes
    assert.equal(es.get(key('b')), null);
    assert.ok(es.get(key('a')) && es.get(key('c')) && es.get(key('d')));
    assert.equal(es.totalBytes(), 3000);
    assert.equal(readdirSync(es.dir).length, 3);

    // Damage a file: the checksum catches it, the entry and file are dropped.
    const files = readdirSync(es.dir);
    const damaged = files.find((f) => readFileSync(path.join(es.dir, f))[0] === 3)!;
    const bytes = readFileSync(path.join(es.dir, damaged));
    bytes[500] = 99;
    writeFileSync(path.join(es.dir, damaged), bytes);
    assert.equal(es.get(key('c')), null);
    assert.ok(!existsSync(path.join(es.dir, damaged)));

    // The whole folder is safe to delete: entries become misses, nothing breaks.
    for (const f of readdirSync(es.dir)) writeFileSync(path.join(es.dir, f), '');
    lib.close();
    const reopened = Library.open({ home: dir, engineStateCapBytes: 3000 });
    const stray = path.join(reopened.engineState.dir, 'stray.tmp');
    const inFlight = path.join(reopened.engineState.dir, '.tmp-0123456789abcdef');
    writeFileSync(stray, 'left by a crash');
    const longAgo = (Date.now() - SWEEP_MIN_AGE_MS - 60_000) / 1000;
    utimesSync(stray, longAgo, longAgo);
    writeFileSync(inFlight, 'another process is writing this one right now');
    reopened.engineState.sweep();
    assert.ok(!existsSync(stray), 'old unindexed files are swept');
    assert.ok(existsSync(inFlight), 'a recent one may be another process’s write in flight: kept');
    reopened.engineState.sweep(Date.now() + SWEEP_MIN_AGE_MS + 1000);
    assert.ok(!existsSync(inFlight), 'once old, it goes too');
    assert.equal(reopened.engineState.get(key('a')), null, 'emptied file fails its checksum');
    reopened.close();
  } finally {
    cleanup();
  }
});

test('chats keep their messages in order with metadata', () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const chat = lib.chats.create(null, 'General');
    lib.chats.addMessage(chat.id, 'user', 'Hello?');
    lib.chats.addMessage(chat.id, 'assistant', 'Hi.', { citations: [{ page: 3, start: 10, end: 20 }] });
    const messages = lib.chats.messages(chat.id);
    assert.deepEqual(messages.map((m) => [m.role, m.content, m.meta]), [
      ['user', 'Hello?', null],
      ['assistant', 'Hi.', { citations: [{ page: 3, start: 10, end: 20 }] }],
    ]);
    assert.throws(() => lib.chats.addMessage(chat.id, 'robot' as 'user', 'x'), /CHECK constraint/);
    assert.ok(lib.chats.remove(chat.id));
    assert.deepEqual(lib.chats.messages(chat.id), []);
    lib.close();
  } finally {
    cleanup();
  }
});

test('a question and its answer are stored in one transaction with their new chat: all of it or nothing', () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const first = lib.chats.addExchange(null, { docId: null, title: 'Who?' }, [
      { role: 'user', content: 'Who tells the story?' },
      { role: 'assistant', content: 'Ishmael.', meta: { citations: [] } },
    ]);
    assert.deepEqual(lib.chats.list().map((c) => c.title), ['Who?']);
    assert.deepEqual(lib.chats.messages(first.chatId).map((m) => [m.role, m.content, m.meta]), [
      ['user', 'Who tells the story?', null],
      ['assistant', 'Ishmael.', { citations: [] }],
    ]);
    // the answer cannot be stored: neither the new chat nor the question is left behind
    assert.throws(() => lib.chats.addExchange(null, { docId: null, title: 'Half' }, [{ role: 'user', content: 'Stored?' }, { role: 'robot' as 'assistant', content: 'x' }]), /CHECK constraint/);
    assert.deepEqual(lib.chats.list().map((c) => c.title), ['Who?'], 'no chat without its messages');
    // into an existing chat: the question does not stay without its answer
    assert.throws(() => lib.chats.addExchange(first.chatId, { docId: null, title: 'unused' }, [{ role: 'user', content: 'Again?' }, { role: 'robot' as 'assistant', content: 'x' }]));
    assert.equal(lib.chats.messages(first.chatId).length, 2);
    lib.close();
  } finally {
    cleanup();
  }
});

test('the data home is the owner’s only: folder 0700, database, WAL and shared memory 0600', { skip: process.platform === 'win32' ? 'POSIX modes' : false }, () => {
  const { dir, cleanup } = tempDir();
  const mode = (f: string) => statSync(f).mode & 0o777;
  try {
    const home = path.join(dir, 'new', 'longread');
    const lib = Library.open({ home });
    lib.chats.create(null, 'private'); // a write: the WAL and shared memory exist now
    assert.equal(mode(home), 0o700);
    for (const f of ['library.db', 'library.db-wal', 'library.db-shm']) assert.equal(mode(path.join(home, f)), 0o600, f);
    assert.equal(mode(lib.engineState.dir), 0o700);
    lib.engineState.put({ docId: null, modelId: 'm', kind: 'k' }, Buffer.alloc(10, 1));
    for (const f of readdirSync(lib.engineState.dir)) assert.equal(mode(path.join(lib.engineState.dir, f)), 0o600, f);
    lib.close();

    // a library made before: its folder and files are tightened on open
    const old = path.join(dir, 'old');
    mkdirSync(old, { mode: 0o755 });
    chmodSync(old, 0o755);
    const before = Library.open({ home: old });
    before.close();
    chmodSync(old, 0o755);
    chmodSync(path.join(old, 'library.db'), 0o644);
    const reopened = Library.open({ home: old });
    reopened.chats.create(null, 'x');
    assert.equal(mode(old), 0o700);
    for (const f of ['library.db', 'library.db-wal', 'library.db-shm']) assert.equal(mode(path.join(old, f)), 0o600, f);
    reopened.close();

    // a LONGREAD_HOME folder the user made first, with no library in it yet: tightened when the library opens it
    const made = path.join(dir, 'made-first');
    mkdirSync(made);
    chmodSync(made, 0o755);
    writeFileSync(path.join(made, 'notes.txt'), 'mine');
    const fresh = Library.open({ home: made });
    assert.equal(mode(made), 0o700);
    fresh.close();
  } finally {
    cleanup();
  }
});

test('a SQLite database of another program at the library’s path is refused and left untouched', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'library.db');
    const foreign = new Database(file);
    foreign.exec("CREATE TABLE contacts (name TEXT, phone TEXT); INSERT INTO contacts VALUES ('Ann', '555')");
    foreign.close();
    const bytes = readFileSync(file);
    assert.throws(
      () => Library.open({ home: dir }),
      (e: unknown) => e instanceof LongreadError && e.code === 'library-foreign' && e.file === file && /not a Longread library/.test(e.message),
    );
    assert.deepEqual(readFileSync(file), bytes, 'not migrated into, not moved aside');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('library.db')), ['library.db']);

    // another program's id, even with a Longread-looking schema, is refused too
    const other = path.join(dir, 'other');
    const lib = Library.open({ home: other });
    lib.db.pragma('application_id = 12345');
    lib.close();
    assert.throws(() => Library.open({ home: other }), (e: unknown) => e instanceof LongreadError && e.code === 'library-foreign');

    // a library made before the id was written is recognized by its tables and gets the id
    const early = path.join(dir, 'early');
    const earlyLib = Library.open({ home: early });
    earlyLib.chats.create(null, 'kept');
    earlyLib.db.pragma('application_id = 0');
    earlyLib.close();
    const opened = Library.open({ home: early });
    assert.equal(opened.db.pragma('application_id', { simple: true }), LIBRARY_APPLICATION_ID);
    assert.deepEqual(opened.chats.list().map((c) => c.title), ['kept']);
    assert.equal(opened.recovered, null);
    opened.close();
  } finally {
    cleanup();
  }
});

/** Overwrites bytes of one b-tree page of a closed, checkpointed database: the page of `name` (a table or index). */
function damagePage(file: string, name: string, at: number, length: number): void {
  const db = new Database(file, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const root = (db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').get(name) as { rootpage: number }).rootpage;
  db.close();
  const bytes = readFileSync(file);
  bytes.fill(0x41, (root - 1) * pageSize + at, (root - 1) * pageSize + at + length);
  writeFileSync(file, bytes);
}

test('a damaged index is repaired in place (indexes and full-text rebuilt from the tables), not moved aside', needs('books/pg84.txt'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const { document } = await lib.add(corpus('books/pg84.txt'));
    const hits = lib.documents.search('Frankenstein monster');
    assert.ok(hits.length > 0);
    lib.db.pragma('wal_checkpoint(TRUNCATE)');
    lib.close();
    const file = path.join(dir, 'library.db');
    damagePage(file, 'document_files_doc', 8, 100);
    const check = new Database(file);
    assert.notEqual(check.pragma('quick_check', { simple: true }), 'ok', 'the damage is real');
    check.close();

    const reopened = Library.open({ home: dir });
    assert.ok(reopened.recovered, 'the user is told');
    assert.equal(reopened.recovered.movedTo, null, 'repaired, not moved');
    assert.match(reopened.recovered.message, /rebuilt/);
    assert.equal(reopened.db.pragma('quick_check', { simple: true }), 'ok');
    assert.deepEqual(reopened.list().map((d) => d.id), [document.id], 'the library is all there');
    assert.deepEqual(reopened.documents.search('Frankenstein monster'), hits, 'the rebuilt full-text index finds the same pages');
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.corrupt-')), []);
    reopened.close();
  } finally {
    cleanup();
  }
});

test('a damaged library that another process still has open is not moved aside under it', needs('books/pg84.txt'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    await lib.add(corpus('books/pg84.txt'));
    lib.db.pragma('wal_checkpoint(TRUNCATE)');
    lib.close();
    const file = path.join(dir, 'library.db');
    damagePage(file, 'pages_fts_data', 8, 200); // beyond the repair: the full-text tree itself
    const holder = spawn(process.execPath, ['-e', `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))}); const d = new D(${JSON.stringify(file)}); d.prepare('SELECT count(*) FROM documents').get(); process.stdout.write('open'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.once('data', () => resolve());
        holder.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
      });
      assert.throws(
        () => Library.open({ home: dir }),
        (e: unknown) => e instanceof LongreadError && e.code === 'library-unavailable' && /still has it open/.test(e.message),
      );
      assert.ok(existsSync(file), 'still where it was');
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.corrupt-')), []);
    } finally {
      holder.kill();
      await new Promise((r) => holder.once('exit', r));
    }
    // once nobody holds it, it is moved aside as before
    const reopened = Library.open({ home: dir });
    assert.ok(reopened.recovered?.movedTo && existsSync(reopened.recovered.movedTo));
    reopened.close();
  } finally {
    cleanup();
  }
});

test('the data folder follows the platform convention and LONGREAD_HOME overrides it', () => {
  assert.equal(dataHome({ LONGREAD_HOME: '/x/lr' }, 'linux', '/home/u'), '/x/lr');
  assert.equal(dataHome({}, 'linux', '/home/u'), '/home/u/.local/share/longread');
  assert.equal(dataHome({ XDG_DATA_HOME: '/data' }, 'linux', '/home/u'), '/data/longread');
  assert.equal(dataHome({ XDG_DATA_HOME: 'relative' }, 'linux', '/home/u'), '/home/u/.local/share/longread');
  assert.equal(dataHome({}, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/Longread');
  assert.equal(dataHome({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Roaming\\Longread');
});

test('a stored document loads back exactly as it was read; Japanese text is searchable', needs('pdf/nested_outline.pdf', 'pdf/vertical.pdf'), async () => {
  const { ingestFile } = await import('../../main/ingest/index');
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const counter = { modelId: 'chars', count: (t: string) => t.length };
    const read = await ingestFile(corpus('pdf/nested_outline.pdf'), { tokenCounter: counter });
    const { document } = await lib.add(corpus('pdf/nested_outline.pdf'), { tokenCounter: counter });
    assert.deepEqual(lib.documents.load(document.id, 'chars'), read);
    assert.equal(lib.documents.load('f'.repeat(64)), null);

    const { document: jp } = await lib.add(corpus('pdf/vertical.pdf'));
    const hits = lib.documents.search('日本語');
    assert.deepEqual(hits.map((h) => [h.docId, h.page]), [[jp.id, 1]]);
    assert.match(hits[0]!.snippet, /日本語/);
    assert.deepEqual(lib.documents.search('日本語', { docId: document.id }), []);
    lib.close();
  } finally {
    cleanup();
  }
});
