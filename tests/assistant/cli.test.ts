import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { repoRoot } from '../library/helpers/corpus';
import { NO_CONFIDENT_ANSWER } from '../../common/api';
import { alive, engineProcesses, procAvailable, until } from '../helpers/engine-processes';
import { book, cleanupAll, needsBook, tempHome, tinyModel } from './helpers';

after(cleanupAll);

const BOOK = 'books/pg84.txt';

function longread(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, LONGREAD_HOME: home, LONGREAD_MODEL: '' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

test('longread models / ask / summarize end to end, with --json and meaningful exit codes', needsBook(BOOK), async () => {
  const home = tempHome();
  const file = book(BOOK)!;
  // bundled model absent in a fresh home with LONGREAD_MODEL pointing nowhere: typed no-model error
  const none = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'ask', file, 'Who?', '--json'], {
    cwd: repoRoot,
    env: { ...process.env, LONGREAD_HOME: home, LONGREAD_MODEL: path.join(home, 'absent') },
    encoding: 'utf8',
  });
  assert.equal(none.status, 1);
  assert.equal(JSON.parse(none.stdout).error.code, 'no-model');

  const imported = longread(home, 'models', 'import', await tinyModel(), '--json');
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(imported.json().model.id, 'tiny-assistant');
  const listed = longread(home, 'models', 'list', '--json').json().models;
  assert.ok(listed.some((m: { id: string; active: boolean }) => m.id === 'tiny-assistant' && m.active));

  const ask = longread(home, 'ask', file, 'Who was Beaufort?', '--chapter', '5', '--limit', '32768', '--json');
  assert.equal(ask.code, 0, ask.stderr);
  const r = ask.json();
  assert.equal(typeof r.answer, 'string');
  assert.equal(typeof r.confident, 'boolean');
  assert.ok(r.confidence >= 0 && r.confidence <= 1);
  if (!r.confident) assert.equal(r.answer, '', 'an answer the model is not sure of is not shown');
  assert.equal(r.cached, false);
  assert.equal(r.model, 'tiny-assistant');
  assert.equal(r.answeredFrom, 'whole', 'an imported model answers from the whole compressed text');
  assert.ok(r.documentTokens > 100_000);
  assert.equal(r.read.whole, false);
  assert.ok(r.read.endToken > r.read.startToken);
  assert.ok(r.citations.length > 0);
  for (const c of r.citations) {
    assert.ok(Number.isInteger(c.page) && c.start < c.end && typeof c.quote === 'string' && c.quote.length > 0);
    assert.deepEqual(c.chapter, { index: 5, title: 'Chapter 1' });
  }
  // per VCC layer, the blocks read closely as document token and character ranges inside what was read
  assert.ok(r.evidence.length >= 1);
  for (const layer of r.evidence) {
    assert.ok(layer.blocks.length > 0);
    for (const b of layer.blocks) {
      assert.ok(b.startToken < b.endToken && b.start < b.end, JSON.stringify(b));
      assert.ok(b.startToken >= r.read.startToken && b.endToken <= r.read.endToken && b.start >= r.read.startChar && b.end <= r.read.endChar, JSON.stringify([b, r.read]));
    }
  }
  for (const c of r.citations) assert.ok(r.evidence.some((l: any) => l.blocks.some((b: any) => b.start < c.end && c.start < b.end)), 'a citation is a passage the engine read closely');
  const again = longread(home, 'ask', file, 'who was beaufort', '--chapter', '5', '--limit', '32768', '--json').json();
  assert.equal(again.cached, true);
  assert.equal(again.answer, r.answer);

  // plain output: the answer on stdout, then the sources
  const plain = longread(home, 'ask', file, 'Who was Beaufort?', '--chapter', '5', '--limit', '32768');
  assert.equal(plain.code, 0, plain.stderr);
  assert.ok(plain.stdout.startsWith(`${r.confident ? r.answer : NO_CONFIDENT_ANSWER}\n`), plain.stdout.slice(0, 200));
  assert.match(plain.stdout, /\nSources:\n {2}\[1\] p\. \d+, Chapter 1, chars \d+–\d+: “/);
  assert.match(plain.stderr, /Read section 5 \("Chapter 1"\)/);

  // a range of chapters: citations stay inside it; a backwards range is refused before any work
  const range = longread(home, 'ask', file, 'Who was Beaufort?', '--chapter', '5-6', '--limit', '32768', '--json');
  assert.equal(range.code, 0, range.stderr);
  const rr = range.json();
  assert.ok(rr.read.startToken === r.read.startToken && rr.read.endToken > r.read.endToken, JSON.stringify([rr.read, r.read]));
  for (const c of rr.citations) assert.ok([5, 6].includes(c.chapter.index), JSON.stringify(c.chapter));
  const backwards = longread(home, 'ask', file, 'Who?', '--chapter', '6-5');
  assert.equal(backwards.code, 2, 'a usage error');
  assert.match(backwards.stderr, /N or N-M/);

  const summary = longread(home, 'summarize', file, '--chapter', '5', '--length', 'short', '--limit', '32768', '--json');
  assert.equal(summary.code, 0, summary.stderr);
  const s = summary.json();
  assert.equal(s.kind, 'abstractive');
  assert.deepEqual(s.sections.map((x: { chapter: number }) => x.chapter), [5]);

  const use = longread(home, 'models', 'use', 'ghost', '--json');
  assert.equal(use.code, 1);
  assert.equal(use.json().error.code, 'model-not-found');
  const chapter = longread(home, 'ask', file, 'Who?', '--chapter', '99', '--json');
  assert.equal(chapter.code, 1);
  assert.deepEqual(chapter.json().error, { code: 'section-not-found', message: '"Frankenstein; Or, The Modern Prometheus" has 28 sections; --chapter takes 1 to 28.' });
  const missing = longread(home, 'ask', path.join(home, 'nope.txt'), 'Who?', '--json');
  assert.equal(missing.code, 1);
  assert.ok(missing.json().error.message.includes('nope.txt'));
  const removed = longread(home, 'models', 'remove', 'tiny-assistant', '--json');
  assert.equal(removed.code, 0, removed.stderr);
  // what remains is the bundled default (when the repo has it), which cannot be removed
  const bundled = existsSync(path.join(repoRoot, 'models', 'default', 'config.json'));
  assert.deepEqual(removed.json().models.map((m: { id: string }) => m.id), bundled ? ['default'] : []);
  if (bundled) {
    const keep = longread(home, 'models', 'remove', 'default', '--json');
    assert.equal(keep.code, 1);
    assert.equal(keep.json().error.code, 'model-bundled');
  }
});

test('Ctrl-C during an ask exits with 130 and leaves no engine process (SIGINT to the CLI, and to its process group as a terminal sends it)', needsBook(BOOK), async () => {
  const home = tempHome();
  assert.equal(longread(home, 'models', 'import', await tinyModel()).code, 0);
  const graphs = path.join(home, 'graph-cache', 'tiny-assistant');
  for (const to of ['cli', 'group'] as const) {
    rmSync(graphs, { recursive: true, force: true }); // the engine compiles them again: it is surely at work when they appear
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'ask', book(BOOK)!, 'Who?', '--json'], {
      cwd: repoRoot,
      env: { ...process.env, LONGREAD_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // a process group of its own
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    // interrupt once the engine is at work (it has started compiling its graphs for this model)
    for (let i = 0; i < 3000 && !(existsSync(graphs) && readdirSync(graphs).length > 0); i++) await new Promise((r) => setTimeout(r, 10));
    const engines = procAvailable ? engineProcesses(child.pid!) : [];
    if (procAvailable) assert.equal(engines.length, 1, 'the engine runs in a process of its own');
    process.kill(to === 'cli' ? child.pid! : -child.pid!, 'SIGINT');
    assert.equal(await exited, 130, `${to}: ${stdout}`);
    assert.equal(JSON.parse(stdout).error.code, 'cancelled');
    if (procAvailable) await until(() => engines.every((pid) => !alive(pid)), 'the engine process has ended');
  }
});
