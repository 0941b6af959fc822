import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { LongreadError } from '../../common/errors';
import { loadSource } from '../../main/ingest/index';
import { ingestSourceInProcess } from '../../main/ingest/ingest-process';
import { Library } from '../../main/library/library';
import { alive, procAvailable, readerProcesses, until } from '../helpers/engine-processes';
import { corpus, needs, repeatedBook, repoRoot, tempDir } from './helpers/corpus';

/** A long plain text (Moby-Dick over and over, ~40 MB): its parse is one synchronous stretch of many seconds. */
const bigText = (dir: string) => repeatedBook(dir, 'long.txt', 40 * 1024 * 1024);

async function settleTime(p: Promise<unknown>): Promise<{ error: unknown; at: number }> {
  try {
    await p;
    return { error: null, at: performance.now() };
  } catch (error) {
    return { error, at: performance.now() };
  }
}

test('cancel kills the reader process mid-parse: the answer comes at once, nothing more is reported, no process is left', needs('books/pg2701.txt'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const source = await loadSource(bigText(dir));
    const controller = new AbortController();
    const progress: number[] = [];
    const reading = settleTime(ingestSourceInProcess(source, { signal: controller.signal, onProgress: (done) => progress.push(done) }));
    await new Promise((r) => setTimeout(r, 1500)); // the reader is started and parsing
    const abortedAt = performance.now();
    controller.abort();
    const { error, at } = await reading;
    assert.ok(error instanceof LongreadError && error.code === 'cancelled', String(error));
    assert.ok(at - abortedAt < 2000, `cancelled after ${(at - abortedAt).toFixed(0)} ms`);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(progress, [], 'the stopped reader reported nothing');
    if (procAvailable) await until(() => readerProcesses().length === 0, 'the reader process has ended');
  } finally {
    cleanup();
  }
});

test('a parse past the wall-clock limit is stopped with ingest-timeout naming the file', needs('books/pg2701.txt'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = bigText(dir);
    const source = await loadSource(file);
    const startedAt = performance.now();
    const { error, at } = await settleTime(ingestSourceInProcess(source, { timeoutMs: 1000 }));
    assert.ok(error instanceof LongreadError, String(error));
    assert.equal(error.code, 'ingest-timeout');
    assert.equal(error.file, file);
    assert.match(error.message, /^long\.txt: reading it took longer than 1 second, so it was stopped/);
    assert.ok(at - startedAt < 5000, `stopped after ${(at - startedAt).toFixed(0)} ms`);

    // through the library, as the app adds files: refused, and nothing is stored
    const lib = Library.open({ home: path.join(dir, 'home') });
    try {
      await assert.rejects(lib.add(file, { inOwnProcess: true, timeoutMs: 500 }), (e: unknown) => e instanceof LongreadError && e.code === 'ingest-timeout');
      assert.deepEqual(lib.list(), []);
    } finally {
      lib.close();
    }
  } finally {
    cleanup();
  }
});

test('a reader that dies of a native crash (SIGABRT, as a zlib assertion in Node aborts) fails only its file, typed and named; the next file reads', needs('books/pg2701.txt', 'pdf/tracemonkey.pdf'), async (t) => {
  if (!procAvailable) return t.skip('needs /proc to find the reader process');
  const { dir, cleanup } = tempDir();
  try {
    const file = bigText(dir);
    const reading = settleTime(ingestSourceInProcess(await loadSource(file)));
    await until(() => readerProcesses().length === 1, 'the reader process has started');
    await new Promise((r) => setTimeout(r, 500));
    process.kill(readerProcesses()[0]!, 'SIGABRT');
    const { error } = await reading;
    assert.ok(error instanceof LongreadError, String(error));
    assert.equal(error.code, 'ingest-failed');
    assert.equal(error.file, file);
    assert.match(error.message, /stopped unexpectedly \(killed by SIGABRT\)/);
    const lib = Library.open({ home: dir });
    try {
      const added = await lib.add(corpus('pdf/tracemonkey.pdf'), { inOwnProcess: true });
      assert.equal(added.status, 'added');
      assert.equal(lib.documents.list().length, 1);
    } finally {
      lib.close();
    }
  } finally {
    cleanup();
  }
});

test('a reader ended by SIGINT (a terminal Ctrl-C reaches the whole process group) is a cancel, not a failure of the file', needs('books/pg2701.txt'), async (t) => {
  if (!procAvailable) return t.skip('needs /proc to find the reader process');
  const { dir, cleanup } = tempDir();
  try {
    const reading = settleTime(ingestSourceInProcess(await loadSource(bigText(dir))));
    await until(() => readerProcesses().length === 1, 'the reader process has started');
    await new Promise((r) => setTimeout(r, 500));
    process.kill(readerProcesses()[0]!, 'SIGINT');
    const { error } = await reading;
    assert.ok(error instanceof LongreadError && error.code === 'cancelled', String(error));
  } finally {
    cleanup();
  }
});

test('when the app is killed while its reader is in a long synchronous parse, the reader ends too (no orphan parsing on)', needs('books/pg2701.txt'), async (t) => {
  if (!procAvailable) return t.skip('needs /proc to find the reader process');
  const { dir, cleanup } = tempDir();
  try {
    // near the 64 M character cap: its parse holds the reader's event loop for seconds at a time
    const file = repeatedBook(dir, 'longer.txt', 60 * 1024 * 1024);
    const app = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'tests', 'helpers', 'reader-orphan.ts'), file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    app.stdout.on('data', (d) => (out += d));
    const exited = new Promise((resolve) => app.once('exit', resolve));
    await until(() => readerProcesses(app.pid!).length === 1, 'the reader process has started', 30_000);
    const [reader] = readerProcesses(app.pid!);
    await new Promise((r) => setTimeout(r, 2500)); // inside the parse (without the watch thread, the orphan lived on some 3 s here)
    app.kill('SIGKILL');
    await exited;
    if (out !== '') return t.skip(`this machine read the file before the app could be killed (${out.trim()})`);
    // 'disconnect' cannot reach a held event loop; the reader's watch thread sees its parent gone
    await until(() => !alive(reader!), `the orphaned reader ${reader} has ended`, 1500);
  } finally {
    cleanup();
  }
});
