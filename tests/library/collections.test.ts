import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { ApiEvent, ApiResult } from '../../common/api';
import { LongreadError } from '../../common/errors';
import { AppApi } from '../../main/api/api';
import { Library } from '../../main/library/library';
import { RecordingAssistant, writeBook } from '../app/helpers';
import { repoRoot, tempDir } from './helpers/corpus';

function throwsCode(fn: () => unknown, code: string, message?: RegExp) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof LongreadError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

test('collections: create, rename, delete; a document in several; removing a document or a collection leaves the rest', async () => {
  const { dir, cleanup } = tempDir();
  const lib = Library.open({ home: dir });
  try {
    const a = (await lib.add(writeBook(dir, 'a.txt', 'Alpha.'))).document.id;
    const b = (await lib.add(writeBook(dir, 'b.txt', 'Beta.'))).document.id;
    const sea = lib.collections.create('  Sea   stories ');
    assert.equal(sea.name, 'Sea stories');
    const fav = lib.collections.create('Favourites');
    throwsCode(() => lib.collections.create('sea STORIES'), 'collection-exists', /already a collection named "sea STORIES"/);
    throwsCode(() => lib.collections.create('   '), 'invalid-argument');
    throwsCode(() => lib.collections.create('x'.repeat(201)), 'invalid-argument', /at most 200/);

    assert.deepEqual(lib.collections.addDocuments(sea.id, [a, b]).documentIds, [a, b]);
    assert.deepEqual(lib.collections.addDocuments(sea.id, [a]).documentIds, [a, b], 'adding again changes nothing');
    assert.deepEqual(lib.collections.addDocuments(fav.id, [b]).documentIds, [b]);
    assert.deepEqual(lib.collections.of(b).map((c) => c.name), ['Favourites', 'Sea stories'], 'one document in two collections');
    throwsCode(() => lib.collections.addDocuments(fav.id, [a, 'f'.repeat(64)]), 'document-not-found');
    assert.deepEqual(lib.collections.get(fav.id)!.documentIds, [b], 'a refused add adds nothing');
    throwsCode(() => lib.collections.addDocuments(999, [a]), 'collection-not-found');

    assert.equal(lib.collections.rename(fav.id, 'Best').name, 'Best');
    throwsCode(() => lib.collections.rename(fav.id, 'sea stories'), 'collection-exists');
    assert.equal(lib.collections.rename(sea.id, 'SEA STORIES').name, 'SEA STORIES', 'a collection may change its own case');
    assert.equal(lib.collections.resolve('best').id, fav.id);
    assert.equal(lib.collections.resolve(String(sea.id)).id, sea.id);
    throwsCode(() => lib.collections.resolve('nothing'), 'collection-not-found');

    assert.deepEqual(lib.collections.removeDocuments(sea.id, [a]).documentIds, [b]);
    assert.ok(lib.documents.get(a), 'taken out of a collection, still in the library');

    lib.remove(b);
    assert.deepEqual(lib.collections.list().map((c) => [c.name, c.documentIds]), [['Best', []], ['SEA STORIES', []]], 'a removed document leaves its collections');

    lib.collections.addDocuments(fav.id, [a]);
    assert.deepEqual(lib.collections.remove(fav.id).documentIds, [a]);
    assert.deepEqual(lib.collections.list().map((c) => c.name), ['SEA STORIES']);
    assert.ok(lib.documents.get(a), 'a deleted collection leaves its documents');
    throwsCode(() => lib.collections.remove(fav.id), 'collection-not-found');
  } finally {
    lib.close();
    cleanup();
  }
});

test('longread library collection create|add|remove|rename|delete|list, typed errors with exit 1', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const lib = Library.open({ home: dir });
    const a = (await lib.add(writeBook(dir, 'a.txt', 'Alpha.'))).document.id;
    const b = (await lib.add(writeBook(dir, 'b.txt', 'Beta.'))).document.id;
    lib.close();
    const cli = (...args: string[]) => {
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'library', 'collection', ...args], {
        cwd: repoRoot,
        env: { ...process.env, LONGREAD_HOME: dir, LONGREAD_MODEL: path.join(dir, 'no-model') },
        encoding: 'utf8',
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
    };
    const created = cli('create', 'Voyages', '--json');
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.json().collection.name, 'Voyages');
    assert.equal(cli('create', 'Shelf').code, 0);
    assert.deepEqual(cli('add', 'voyages', a.slice(0, 8), b, '--json').json().collection.documents, [a, b]);
    assert.deepEqual(cli('add', 'Shelf', a, '--json').json().collection.documents, [a]);
    assert.deepEqual(cli('remove', 'Voyages', a, '--json').json().collection.documents, [b]);
    const listed = cli('list', '--json').json().collections;
    assert.deepEqual(listed.map((c: { name: string; documents: string[] }) => [c.name, c.documents]), [['Shelf', [a]], ['Voyages', [b]]]);
    assert.match(cli('list').stdout, /Voyages \(1 document\)\n\s+[0-9a-f]{12}\s+b\n/);

    const dup = cli('create', 'shelf', '--json');
    assert.equal(dup.code, 1);
    assert.equal(dup.json().error.code, 'collection-exists');
    const missing = cli('add', 'Nowhere', a, '--json');
    assert.equal(missing.code, 1);
    assert.equal(missing.json().error.code, 'collection-not-found');
    const badDoc = cli('add', 'Shelf', 'abcdef0123', '--json');
    assert.equal(badDoc.code, 1);
    assert.equal(badDoc.json().error.code, 'document-not-found');

    assert.equal(cli('rename', 'Shelf', 'Desk', '--json').json().collection.name, 'Desk');
    assert.equal(cli('delete', 'Desk', '--json').json().deleted.name, 'Desk');
    assert.deepEqual(cli('list', '--json').json().collections.map((c: { name: string }) => c.name), ['Voyages']);
  } finally {
    cleanup();
  }
});

test('the API: collections.* validated (zod) and typed errors; changes tell the renderer', async () => {
  const { dir, cleanup } = tempDir();
  const api = AppApi.open({ home: dir, mode: 'browser', openAssistant: async () => new RecordingAssistant() });
  const events: ApiEvent[] = [];
  api.onEvent((e) => events.push(e));
  const value = (r: ApiResult) => {
    assert.equal(r.ok, true, JSON.stringify(r));
    return (r as Extract<ApiResult, { ok: true }>).value as any;
  };
  const failed = (r: ApiResult) => {
    assert.equal(r.ok, false, JSON.stringify(r));
    return (r as Extract<ApiResult, { ok: false }>).error;
  };
  try {
    const [a, b] = value(await api.call('library.add', { paths: [writeBook(dir, 'a.txt', 'Alpha.'), writeBook(dir, 'b.txt', 'Beta.')] })).added.map((x: any) => x.document.id);
    const before = events.filter((e) => e.type === 'library-changed').length;
    const c = value(await api.call('collections.create', { name: ' Reading list ' }));
    assert.equal(c.name, 'Reading list');
    assert.match(c.id, /^[1-9][0-9]*$/);
    assert.ok(events.filter((e) => e.type === 'library-changed').length > before);
    const other = value(await api.call('collections.create', { name: 'Work' }));
    assert.deepEqual(value(await api.call('collections.addDocuments', { collectionId: c.id, documentIds: [a, b] })).documentIds, [a, b]);
    value(await api.call('collections.addDocuments', { collectionId: other.id, documentIds: [b] }));
    assert.deepEqual(value(await api.call('collections.list', { documentId: b })).collections.map((x: any) => x.name), ['Reading list', 'Work']);
    assert.deepEqual(value(await api.call('collections.list', { documentId: a })).collections.map((x: any) => x.name), ['Reading list']);
    assert.deepEqual(value(await api.call('collections.removeDocuments', { collectionId: c.id, documentIds: [a] })).documentIds, [b]);
    assert.equal(value(await api.call('collections.rename', { collectionId: other.id, name: 'Office' })).name, 'Office');

    assert.equal(failed(await api.call('collections.create', { name: 'reading LIST' })).code, 'collection-exists');
    assert.equal(failed(await api.call('collections.create', { name: '   ' })).code, 'invalid-request');
    assert.equal(failed(await api.call('collections.create', { name: 'x'.repeat(201) })).code, 'invalid-request');
    assert.equal(failed(await api.call('collections.create', { name: 'ok', extra: 1 } as any)).code, 'invalid-request');
    assert.equal(failed(await api.call('collections.rename', { collectionId: '0', name: 'x' })).code, 'invalid-request');
    assert.equal(failed(await api.call('collections.addDocuments', { collectionId: c.id, documentIds: ['not-an-id'] })).code, 'invalid-request');
    assert.equal(failed(await api.call('collections.addDocuments', { collectionId: c.id, documentIds: ['e'.repeat(64)] })).code, 'document-not-found');
    assert.equal(failed(await api.call('collections.addDocuments', { collectionId: c.id, documentIds: [] })).code, 'invalid-request');
    assert.equal(failed(await api.call('collections.remove', { collectionId: '9999' })).code, 'collection-not-found');

    assert.deepEqual(value(await api.call('collections.remove', { collectionId: c.id })).removed.documentIds, [b]);
    assert.deepEqual(value(await api.call('collections.list', {})).collections.map((x: any) => [x.name, x.documentIds]), [['Office', [b]]]);
    assert.equal(value(await api.call('library.list', {})).documents.length, 2, 'documents stay in the library');
  } finally {
    await api.close();
    cleanup();
  }
});

test('the API: assistant.askCollection|summarizeCollection validated (zod), typed errors for an unknown or empty collection; chats.list by collection', async () => {
  const { dir, cleanup } = tempDir();
  const assistant = new RecordingAssistant();
  const api = AppApi.open({ home: dir, mode: 'browser', openAssistant: async () => assistant });
  const value = (r: ApiResult) => {
    assert.equal(r.ok, true, JSON.stringify(r));
    return (r as Extract<ApiResult, { ok: true }>).value as any;
  };
  const failed = (r: ApiResult) => {
    assert.equal(r.ok, false, JSON.stringify(r));
    return (r as Extract<ApiResult, { ok: false }>).error;
  };
  try {
    const [a] = value(await api.call('library.add', { paths: [writeBook(dir, 'a.txt', 'Alpha.')] })).added.map((x: any) => x.document.id);
    const empty = value(await api.call('collections.create', { name: 'Empty' }));
    const shelf = value(await api.call('collections.create', { name: 'Shelf' }));
    value(await api.call('collections.addDocuments', { collectionId: shelf.id, documentIds: [a] }));

    assert.equal(failed(await api.call('assistant.askCollection', { collectionId: empty.id, question: 'Who?' })).code, 'collection-empty');
    assert.equal(failed(await api.call('assistant.askCollection', { collectionId: '999', question: 'Who?' })).code, 'collection-not-found');
    assert.equal(failed(await api.call('assistant.summarizeCollection', { collectionId: empty.id, length: 'short' })).code, 'collection-empty');
    assert.equal(failed(await api.call('assistant.askCollection', { collectionId: shelf.id, question: '   ' })).code, 'invalid-request');
    assert.equal(failed(await api.call('assistant.askCollection', { collectionId: 'x', question: 'Who?' })).code, 'invalid-request');
    assert.equal(failed(await api.call('assistant.askCollection', { collectionId: shelf.id, question: 'Who?', documentId: a } as any)).code, 'invalid-request');
    assert.equal(failed(await api.call('assistant.summarizeCollection', { collectionId: shelf.id, length: 'long' } as any)).code, 'invalid-request');
    assert.equal(failed(await api.call('assistant.askCollection', { collectionId: shelf.id, question: 'Who?', chatId: '77' })).code, 'chat-not-found');
    assert.equal(assistant.askedCollections.length, 0, 'nothing refused reached the assistant');

    assert.match(value(await api.call('assistant.askCollection', { collectionId: shelf.id, question: 'Who?' })).jobId, /^job-/);
    assert.match(value(await api.call('assistant.summarizeCollection', { collectionId: shelf.id, length: 'detailed' })).jobId, /^job-/);
    assert.deepEqual(assistant.askedCollections, [{ collectionId: shelf.id, question: 'Who?' }]);
    assert.deepEqual(assistant.summarizedCollections, [{ collectionId: shelf.id, length: 'detailed' }]);

    // a chat about the collection is listed by it, not by a document
    const chat = api.library.chats.create(null, 'Shelf questions', Number(shelf.id));
    api.library.chats.create(a, 'About a');
    assert.deepEqual(value(await api.call('chats.list', { collectionId: shelf.id })).chats.map((c: any) => [c.id, c.collectionId]), [[String(chat.id), shelf.id]]);
    assert.equal(value(await api.call('chats.list', { documentId: a })).chats.length, 1);
    assert.equal(failed(await api.call('chats.list', { documentId: a, collectionId: shelf.id })).code, 'invalid-argument');
    // deleting the collection keeps its chats (they no longer name it)
    value(await api.call('collections.remove', { collectionId: shelf.id }));
    assert.equal(api.library.chats.list().find((c) => c.id === chat.id)!.collectionId, null);
  } finally {
    await api.close();
    cleanup();
  }
});
