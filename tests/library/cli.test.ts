import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { loadTokenizer } from '../../engine/tokenizer';
import { Library } from '../../main/library/library';
import { alive, procAvailable, readerProcesses, until } from '../helpers/engine-processes';
import { corpus, needs, repeatedBook, repoRoot, tempDir } from './helpers/corpus';

// no model: LONGREAD_MODEL names a folder that does not exist (and nothing is imported)
function longread(home: string, ...args: string[]) {
  return run({ LONGREAD_HOME: home, LONGREAD_MODEL: path.join(home, 'no-model') }, ...args);
}

function run(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'library', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

test('longread library add/list/remove with --json, typed errors with a non-zero exit', needs('pdf/nested_outline.pdf', 'bad/encrypted-attachment.pdf'), () => {
  const { dir, cleanup } = tempDir();
  try {
    const added = longread(dir, 'add', corpus('pdf/nested_outline.pdf'), '--json');
    assert.equal(added.code, 0, added.stderr);
    const doc = added.json();
    assert.match(doc.id, /^[0-9a-f]{64}$/);
    assert.equal(doc.type, 'pdf');
    assert.equal(doc.title, 'nested_outline');
    assert.equal(doc.pages, 9);
    assert.equal(doc.sections.length, 9);
    assert.deepEqual(doc.sections[1], { title: '1.1 Background', level: 2, page: 2 });
    assert.equal(doc.tokens, null);
    assert.match(doc.tokensNote, /No model is installed/);
    assert.equal(doc.status, 'added');

    const again = longread(dir, 'add', corpus('pdf/nested_outline.pdf'), '--json');
    assert.equal(again.json().status, 'existing');

    const refused = longread(dir, 'add', corpus('bad/encrypted-attachment.pdf'), '--json');
    assert.equal(refused.code, 1);
    assert.equal(refused.json().error.code, 'pdf-password-required');
    assert.match(refused.json().error.message, /encrypted-attachment\.pdf: this PDF is protected by a password/);

    const wrong = longread(dir, 'add', corpus('bad/encrypted-attachment.pdf'), '--password', 'guess', '--json');
    assert.equal(wrong.code, 1);
    assert.equal(wrong.json().error.code, 'pdf-wrong-password');

    const human = longread(dir, 'add', path.join(dir, 'missing.txt'));
    assert.equal(human.code, 1);
    assert.match(human.stderr, /missing\.txt: there is no such file/);

    const list = longread(dir, 'list', '--json');
    assert.deepEqual(list.json().documents.map((d: { id: string; pages: number }) => [d.id, d.pages]), [[doc.id, 9]]);
    assert.match(longread(dir, 'list').stdout, /nested_outline/);

    const removed = longread(dir, 'remove', doc.id.slice(0, 10), '--json');
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.json().removed.id, doc.id);
    assert.deepEqual(longread(dir, 'list', '--json').json().documents, []);
    const gone = longread(dir, 'remove', doc.id, '--json');
    assert.equal(gone.code, 1);
    assert.equal(gone.json().error.code, 'document-not-found');
  } finally {
    cleanup();
  }
});

const bundled = path.join(repoRoot, 'models', 'default');
test('a data home that cannot be made is a typed error in the JSON, not an uncaught exception', () => {
  const { dir, cleanup } = tempDir();
  try {
    const home = path.join(dir, 'home');
    writeFileSync(home, 'a file where the data folder should be');
    const r = longread(home, 'list', '--json');
    assert.equal(r.code, 1, r.stderr);
    const { error } = r.json();
    assert.equal(error.code, 'library-unavailable');
    assert.match(error.message, /^The library at .*library\.db cannot be opened \(/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  } finally {
    cleanup();
  }
});

test('library add counts tokens with the active model (the bundled default)', needs('books/alice.epub'), async (t) => {
  if (!existsSync(path.join(bundled, 'tokenizer.json'))) return t.skip(`${bundled} is absent`);
  const { dir, cleanup } = tempDir();
  try {
    const added = run({ LONGREAD_HOME: dir, LONGREAD_MODEL: '' }, 'add', corpus('books/alice.epub'), '--json');
    assert.equal(added.code, 0, added.stderr);
    const doc = added.json();
    const lib = Library.open({ home: dir });
    const text = lib.documents.text(doc.id)!;
    lib.close();
    const expected = (await loadTokenizer(bundled)).encode(text, { addEos: false }).length;
    assert.deepEqual([doc.tokens, doc.tokenModel, doc.tokensNote], [expected, 'default', undefined]);
  } finally {
    cleanup();
  }
});

test('Ctrl-C during library add stops the reader mid-parse: exit 130 with the typed JSON, no reader left, nothing stored', needs('books/pg2701.txt'), async (t) => {
  if (!procAvailable) return t.skip('needs /proc to find the reader process');
  const { dir, cleanup } = tempDir();
  try {
    // Moby-Dick over and over (~40 MB): reading it is one synchronous stretch of many seconds
    const file = repeatedBook(dir, 'long.txt', 40 * 1024 * 1024);
    const home = path.join(dir, 'home');
    // SIGINT to the CLI alone (a `kill -INT`), then to its whole process group, as a terminal's Ctrl-C sends it (the reader gets it too)
    for (const to of ['cli', 'group'] as const) {
      const cli = spawn(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'library', 'add', file, '--json'], {
        cwd: repoRoot,
        env: { ...process.env, LONGREAD_HOME: home, LONGREAD_MODEL: path.join(dir, 'no-model') },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // a process group of its own
      });
      let stdout = '';
      let stderr = '';
      cli.stdout.on('data', (d) => (stdout += d));
      cli.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => cli.on('exit', (code, signal) => resolve({ code, signal })));
      await until(() => readerProcesses(cli.pid!).length === 1, 'the CLI has started its reader', 60_000);
      const [reader] = readerProcesses(cli.pid!);
      await new Promise((r) => setTimeout(r, 500)); // the reader is parsing
      process.kill(to === 'cli' ? cli.pid! : -cli.pid!, 'SIGINT');
      const { code, signal } = await exited;
      assert.deepEqual({ code, signal }, { code: 130, signal: null }, `${to}: ${stderr}`);
      assert.equal(JSON.parse(stdout).error.code, 'cancelled', stdout);
      await until(() => !alive(reader!), `the reader ${reader} has ended`);
    }
    const lib = Library.open({ home });
    try {
      assert.deepEqual(lib.list(), [], 'nothing was stored');
    } finally {
      lib.close();
    }
  } finally {
    cleanup();
  }
});
