import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ApiResult } from '../../common/api';
import { LongreadError } from '../../common/errors';
import { AppApi } from '../../main/api/api';
import { ingestFile } from '../../main/ingest/index';
import { Library } from '../../main/library/library';
import { MIGRATIONS } from '../../main/library/migrations';
import { LIBRARY_FILE } from '../../main/library/paths';
import { repoRoot, tempDir } from './helpers/corpus';
import { sampleDocx } from './helpers/docx-writer';
import { readZipEntries, writeZip } from './helpers/zip-writer';
import { RecordingAssistant } from '../app/helpers';

async function rejectsWith(file: string, code: string, message: RegExp): Promise<void> {
  await assert.rejects(ingestFile(file), (e: unknown) => {
    assert.ok(e instanceof LongreadError, String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.file, file);
    assert.match(e.message, message);
    return true;
  });
}


test('Word: headings become sections, lists keep their bullets and numbers, a table row is one line, core properties give title and author', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'harbour.docx');
    writeFileSync(file, await sampleDocx());
    const d = await ingestFile(file);
    assert.equal(d.type, 'docx');
    assert.equal(d.title, 'Harbour Notes');
    assert.equal(d.author, 'Ada Quill');
    assert.deepEqual(d.warnings, []);
    assert.deepEqual(
      d.sections.map((s) => [s.title, s.level]),
      [['The Lighthouse', 1], ['Supplies', 2], ['The Storm', 1]],
      'the Title paragraph is not a chapter',
    );
    const [lighthouse, supplies, storm] = d.sections.map((s) => d.text.slice(s.start, s.end));
    assert.equal(lighthouse, 'The Lighthouse\n\nThe keeper climbed the tower every evening at dusk. The lamp never failed him.\n\nSupplies\n\n• oil for the lamp\n\n• bread and salted fish');
    assert.equal(supplies, 'Supplies\n\n• oil for the lamp\n\n• bread and salted fish');
    assert.equal(
      storm,
      'The Storm\n\nA storm came in from the west and the boats ran for the harbour.\n\n1. close the shutters\n\n2. light the lamp\n\nBoat | Crew\n\nMary Rose | four\n\nBy morning every boat was safe in the harbour.',
    );
    assert.ok(d.text.startsWith('Harbour Notes\n\nThe Lighthouse'), 'the title stays in the text');
    assert.equal(d.pageKind, 'virtual');
    assert.equal(d.pages.at(-1)!.end, d.text.length);

    // without a title in the core properties, the Title-styled paragraph names it
    const untitled = path.join(dir, 'untitled.docx');
    writeFileSync(untitled, await sampleDocx({ coreTitle: false }));
    assert.equal((await ingestFile(untitled)).title, 'Harbour Notes');

    // pictures are not unpacked; the reader says they were left out
    const pictured = path.join(dir, 'pictured.docx');
    writeFileSync(pictured, await sampleDocx({ picture: true }));
    const p = await ingestFile(pictured);
    assert.deepEqual(p.warnings, ['The document has 1 picture; only its text is read.']);
    assert.equal(p.text, d.text);

    // a .docx under another name is still recognized by its contents
    const renamed = path.join(dir, 'harbour');
    writeFileSync(renamed, await sampleDocx());
    assert.equal((await ingestFile(renamed)).type, 'docx');
  } finally {
    cleanup();
  }
});

test('Word: damaged, hostile, encrypted and old-format files get typed errors naming the file', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const good = await sampleDocx();

    const notZip = path.join(dir, 'notes.docx');
    writeFileSync(notZip, Buffer.from('this was never a Word document, just text with a .docx name\n'));
    await rejectsWith(notZip, 'docx-corrupt', /^notes\.docx: this Word document is damaged or incomplete \(it is not a ZIP archive, which every \.docx is\)/);

    const truncated = path.join(dir, 'truncated.docx');
    writeFileSync(truncated, good.subarray(0, good.length - 60));
    await rejectsWith(truncated, 'docx-corrupt', /^truncated\.docx: this Word document is damaged or incomplete/);

    const entries = await readZipEntries(good);
    assert.ok(entries.some((e) => e.name === 'word/document.xml'));
    const noBody = path.join(dir, 'nobody.docx');
    writeFileSync(noBody, writeZip(entries.filter((e) => e.name !== 'word/document.xml')));
    await rejectsWith(noBody, 'docx-corrupt', /^nobody\.docx: .*word\/document\.xml is missing/);

    const badXml = path.join(dir, 'badxml.docx');
    writeFileSync(badXml, writeZip(entries.map((e) => (e.name === 'word/document.xml' ? { ...e, data: '<w:document><w:body><w:p>' } : e))));
    await rejectsWith(badXml, 'docx-corrupt', /^badxml\.docx: this Word document is damaged or incomplete/);

    const bomb = path.join(dir, 'bomb.docx');
    writeFileSync(bomb, writeZip(entries.map((e) => (e.name === 'word/document.xml' ? { ...e, data: Buffer.alloc(80 * 1024 * 1024, 0x20) } : e))));
    await rejectsWith(bomb, 'docx-corrupt', /^bomb\.docx: this Word document was rejected because .*word\/document\.xml/);

    // What Office writes for a password-protected .docx: an OLE compound file holding
    // EncryptionInfo and EncryptedPackage streams.
    const ole = Buffer.alloc(4096);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(ole, 0);
    Buffer.from('EncryptionInfo', 'utf16le').copy(ole, 1024);
    Buffer.from('EncryptedPackage', 'utf16le').copy(ole, 1152);
    const encrypted = path.join(dir, 'secret.docx');
    writeFileSync(encrypted, ole);
    await rejectsWith(encrypted, 'docx-encrypted', /^secret\.docx: this Word document is protected with a password/);

    const oldWord = Buffer.alloc(4096);
    Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]).copy(oldWord, 0);
    Buffer.from('WordDocument', 'utf16le').copy(oldWord, 1024);
    const renamedDoc = path.join(dir, 'renamed.docx');
    writeFileSync(renamedDoc, oldWord);
    await rejectsWith(renamedDoc, 'docx-corrupt', /^renamed\.docx: this is an older Word \(\.doc\) or other Office file/);
    const legacy = path.join(dir, 'legacy.doc');
    writeFileSync(legacy, oldWord);
    await rejectsWith(legacy, 'unsupported-type', /^legacy\.doc: this is an older Word \(\.doc\) file; .* save it as \.docx/);
  } finally {
    cleanup();
  }
});

test('A library made before Word documents (schema 1) is migrated with its documents, sections, chats and caches intact, then takes a .docx', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = new Database(path.join(dir, LIBRARY_FILE));
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.pragma('foreign_keys = ON');
    db.prepare("INSERT INTO documents VALUES ('h1', 'text', 'Old Book', NULL, 'Once upon a time.', 17, 'virtual', 1, 17, '[]', 1)").run();
    db.prepare("INSERT INTO document_files (path, doc_hash, version, byte_size, mtime_ms, added_at) VALUES ('/books/old.txt', 'h1', 1, 17, 1, 1)").run();
    db.prepare("INSERT INTO sections VALUES ('h1', 0, 'Start', 1, 0, 17, 1)").run();
    db.prepare("INSERT INTO pages (id, doc_hash, number, label, start, end) VALUES (7, 'h1', 1, NULL, 0, 17)").run();
    db.prepare("INSERT INTO pages_fts (rowid, text) VALUES (7, 'Once upon a time.')").run();
    db.prepare("INSERT INTO chats VALUES (1, 'h1', 'A chat', 1, 1)").run();
    db.prepare("INSERT INTO messages (chat_id, role, content, created_at) VALUES (1, 'user', 'When?', 1)").run();
    db.prepare("INSERT INTO answer_cache VALUES ('k', 'h1', 'm', '{}', 'when?', '{}', 1, 1)").run();
    db.close();

    const lib = Library.open({ home: dir });
    try {
      assert.equal(lib.recovered, null);
      assert.equal(lib.db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      assert.equal(lib.db.pragma('foreign_keys', { simple: true }), 1, 'foreign keys are back on after migrating');
      const count = (sql: string) => (lib.db.prepare(sql).pluck().get() as number);
      assert.equal(count("SELECT count(*) FROM documents WHERE hash = 'h1' AND title = 'Old Book'"), 1);
      assert.equal(count("SELECT count(*) FROM document_files WHERE doc_hash = 'h1'"), 1);
      assert.equal(count("SELECT count(*) FROM sections WHERE doc_hash = 'h1'"), 1);
      assert.equal(count("SELECT count(*) FROM chats WHERE doc_hash = 'h1'"), 1, 'the chat still refers to its book');
      assert.equal(count('SELECT count(*) FROM messages'), 1);
      assert.equal(count("SELECT count(*) FROM answer_cache WHERE doc_hash = 'h1'"), 1);
      assert.deepEqual(lib.documents.search('upon').map((h) => h.docId), ['h1']);

      const file = path.join(dir, 'harbour.docx');
      writeFileSync(file, await sampleDocx());
      const added = await lib.add(file);
      assert.equal(added.document.type, 'docx');
      // deleting the old book still cascades (the rebuilt table is the one referred to)
      lib.db.prepare("DELETE FROM documents WHERE hash = 'h1'").run();
      assert.equal(count("SELECT count(*) FROM sections WHERE doc_hash = 'h1'"), 0);
      assert.equal(count("SELECT count(*) FROM chats WHERE doc_hash IS NULL"), 1, 'the chat outlives its book');
    } finally {
      lib.close();
    }
  } finally {
    cleanup();
  }
});

test('longread library add takes a .docx and library search finds its sentences', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'harbour.docx');
    writeFileSync(file, await sampleDocx());
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'library', ...args], {
        cwd: repoRoot,
        env: { ...process.env, LONGREAD_HOME: dir, LONGREAD_MODEL: path.join(dir, 'no-model') },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const added = cli('add', file, '--json');
    assert.equal(added.type, 'docx');
    assert.equal(added.title, 'Harbour Notes');
    assert.equal(added.author, 'Ada Quill');
    assert.deepEqual(added.sections, [
      { title: 'The Lighthouse', level: 1, page: 1 },
      { title: 'Supplies', level: 2, page: 1 },
      { title: 'The Storm', level: 1, page: 1 },
    ]);
    const { hits } = cli('search', 'boats', 'harbour', '--json');
    assert.equal(hits.length, 1);
    assert.equal(hits[0].docId, added.id);
    assert.equal(hits[0].page, 1);
    assert.deepEqual(cli('search', 'Mary', 'Rose', '--json').hits.map((h: { docId: string }) => h.docId), [added.id], 'table cells are searchable');
  } finally {
    cleanup();
  }
});

test('the app takes a .docx by path (on the ingest worker) and by upload; the reader gets its text, chapters and pages', async () => {
  const { dir, cleanup } = tempDir();
  const api = AppApi.open({ home: dir, mode: 'browser', openAssistant: async () => new RecordingAssistant() });
  const value = (r: ApiResult) => {
    assert.equal(r.ok, true, JSON.stringify(r));
    return (r as Extract<ApiResult, { ok: true }>).value as any;
  };
  try {
    const file = path.join(dir, 'harbour.docx');
    const bytes = await sampleDocx();
    writeFileSync(file, bytes);
    const added = value(await api.call('library.add', { paths: [file] })).added;
    assert.equal(added[0].document.type, 'docx');
    const id = added[0].document.id;
    const detail = value(await api.call('document.get', { id }));
    assert.deepEqual(detail.sections.map((s: { title: string }) => s.title), ['The Lighthouse', 'Supplies', 'The Storm']);
    assert.ok(detail.text.includes('Mary Rose | four'));
    assert.equal(detail.pages.length, 1);
    const original = value(await api.call('document.file', { id }));
    assert.equal(original.mimeType, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');

    const other = await sampleDocx({ coreTitle: false, picture: true });
    const uploaded = value(await api.call('library.upload', { name: 'notes.docx', data: other.toString('base64') }));
    assert.equal(uploaded.document.type, 'docx');
    assert.deepEqual(uploaded.document.warnings, ['The document has 1 picture; only its text is read.']);
  } finally {
    await api.close();
    cleanup();
  }
});
