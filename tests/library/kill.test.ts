import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Library } from '../../main/library/library';
import { corpus, needs, repoRoot, tempDir } from './helpers/corpus';

test('a child killed in the middle of storing a large book leaves the library as it was', needs('books/pg2701.txt', 'books/pg84.txt'), async () => {
  const { dir: home, cleanup } = tempDir();
  try {
    // Something already in the library, which must survive untouched.
    const before = Library.open({ home });
    const kept = await before.add(corpus('books/pg84.txt'));
    const keptPages = before.documents.pages(kept.document.id).length;
    before.close();

    const child = spawn(process.execPath, ['--import', 'tsx', path.join('tests', 'library', 'helpers', 'ingest-child.ts'), corpus('books/pg2701.txt'), '2', '100'], {
      cwd: repoRoot,
      env: { ...process.env, LONGREAD_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    let killedAt = '';
    let seenDuringWrite: number | null = null;
    await new Promise<void>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (d: Buffer) => {
        buffer += d.toString();
        const m = [...buffer.matchAll(/stored (\d+)\/(\d+)\n/g)].pop();
        if (m && Number(m[1]) === 100 && !killedAt) {
          killedAt = m[0].trim();
          // While the child sits inside its transaction, another connection sees nothing of it.
          const peek = new Database(path.join(home, 'library.db'), { readonly: true });
          seenDuringWrite = (peek.prepare('SELECT count(*) AS n FROM documents').get() as { n: number }).n;
          peek.close();
          child.kill('SIGKILL');
          resolve();
        }
        if (buffer.includes('committed')) reject(new Error('the child finished before it could be killed'));
      });
      child.on('exit', () => (killedAt ? resolve() : reject(new Error(`child exited early: ${stderr}`))));
    });
    assert.equal(await exited, 'SIGKILL');
    assert.match(killedAt, /^stored 100\/6\d\d$/, 'killed while writing the pages of Moby-Dick');
    assert.equal(seenDuringWrite, 1, 'the half-written book was never visible to other readers');
    assert.ok(existsSync(path.join(home, 'library.db-wal')), 'the kill left a write-ahead log behind');

    const after = Library.open({ home, fullCheck: true });
    try {
      assert.equal(after.recovered, null, 'the database opened cleanly, nothing was moved aside');
      const docs = after.list();
      assert.deepEqual(docs.map((d) => d.id), [kept.document.id]);
      const count = (sql: string) => (after.db.prepare(sql).get() as { n: number }).n;
      assert.equal(count('SELECT count(*) AS n FROM pages'), keptPages);
      assert.equal(count('SELECT count(*) AS n FROM document_files'), 1);
      assert.equal(count("SELECT count(*) AS n FROM sections WHERE doc_hash <> '" + kept.document.id + "'"), 0);
      assert.equal(after.documents.search('Queequeg').length, 0, 'no search rows from the half ingest');
      assert.ok(after.documents.search('Frankenstein monster').length > 0, 'the earlier book is still searchable');
      // And the same book can be added afterwards, completely.
      const again = await after.add(corpus('books/pg2701.txt'));
      assert.equal(again.status, 'added');
      assert.equal(after.documents.pages(again.document.id).length, again.document.pageCount);
    } finally {
      after.close();
    }
  } finally {
    cleanup();
  }
});
