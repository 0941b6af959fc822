import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CancelledError, LongreadError } from '../../common/errors';
import { presetFor } from '../../engine/vcc/settings';
import { ENGINE_PROCESS } from '../../main/assistant/engine-process';
import { describeExit, startUtilityProcess } from '../../main/process/child-process';
import { EngineWorker } from '../../main/assistant/engine-worker';
import { JobQueue } from '../../main/assistant/job-queue';
import type { AskResult, JobEvent } from '../../common/api';
import type { EngineTask, FromWorker, ToWorker, WorkerInit } from '../../main/assistant/types';
import { fakeUtilityProcess } from '../helpers/fake-utility-process';
import { alive, engineProcesses, environmentOf, procAvailable, until } from '../helpers/engine-processes';
import { tempDir } from '../helpers/tiny-model';
import { book, cleanupAll, needsBook, openTiny, recorder, tinyModel, waitFor } from './helpers';

after(cleanupAll);

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const needsProc = { skip: procAvailable ? false : 'needs Linux /proc to count processes' };

async function init(): Promise<WorkerInit> {
  return { modelDir: await tinyModel(), threads: 1, graphCacheRoot: tempDir(), engineState: null, reportEncoderHash: true };
}

/** A VCC task long enough (about a second on the tiny model) that the test can act while it encodes. */
function longTask(vocabSize: number, numLayers: number, n = 8192): EngineTask {
  return {
    query: { kind: 'text', text: 'who' },
    documentIds: Int32Array.from({ length: n }, (_, i) => 3 + ((i * 7919) % (vocabSize - 3))),
    vcc: presetFor(numLayers),
    ensureEvidence: false,
    generate: { maxNewTokens: 2, numBeams: 1, quote: false },
    localState: null,
  };
}

test('a crash of the engine process (SIGSEGV, SIGABRT, SIGKILL as the OOM killer sends) fails only the job it ran, with engine-crashed naming the model and the signal; the next job runs on a new process', needsProc, async () => {
  const settings = await init();
  const worker = new EngineWorker(settings);
  try {
    const facts = await worker.open();
    const task = longTask(facts.vocabSize, facts.numLayers);
    const reference = await worker.run(task);
    for (const signal of ['SIGSEGV', 'SIGABRT', 'SIGKILL'] as const) {
      await worker.open();
      const pid = worker.pid!;
      assert.deepEqual(engineProcesses(), [pid], 'the engine is a child process of its own');
      let killed = false;
      const run = worker.run(task, {
        onProgress: (p) => {
          if (p.stage !== 'encoding' || killed) return;
          killed = true;
          process.kill(pid, signal); // a real signal death, mid-encode
        },
      });
      await assert.rejects(run, (e) => {
        assert.ok(e instanceof LongreadError, String(e));
        assert.equal(e.code, 'engine-crashed');
        assert.ok(e.message.includes(settings.modelDir), e.message);
        assert.match(e.message, new RegExp(`killed by ${signal}`));
        return true;
      });
      assert.ok(killed, 'the engine was killed while it encoded');
      await until(() => !alive(pid), `the crashed engine ${pid} is gone`);
      assert.equal(worker.running, false);
      // this process lives on, and the next job starts a new engine that answers as before
      const again = await worker.run(task);
      assert.notEqual(worker.pid, pid);
      assert.deepEqual(again.outputIds, reference.outputIds);
      assert.equal(again.encoderHash, reference.encoderHash);
    }
    // SIGINT is a terminal's Ctrl-C reaching the whole process group: the job is cancelled, not crashed
    const pid = worker.pid!;
    let interrupted = false;
    const run = worker.run(task, {
      onProgress: (p) => {
        if (p.stage !== 'encoding' || interrupted) return;
        interrupted = true;
        process.kill(pid, 'SIGINT');
      },
    });
    await assert.rejects(run, (e) => e instanceof CancelledError);
    assert.ok(interrupted);
    assert.equal((await worker.run(task)).outputIds.length, reference.outputIds.length, 'the next job runs on a new engine');
  } finally {
    await worker.close();
  }
  assert.deepEqual(engineProcesses(), [], 'close leaves no engine process');
});

test('a cancel the engine cannot honour (its process stopped, as in a native call that does not return) kills it past the grace period; five in a row leave at most one live and one dying engine', needsProc, async () => {
  const worker = new EngineWorker(await init(), 100);
  let most = 0;
  const sample = setInterval(() => (most = Math.max(most, engineProcesses().length)), 5);
  try {
    const facts = await worker.open();
    const task = longTask(facts.vocabSize, facts.numLayers);
    const stopped: number[] = [];
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController();
      let pid = 0;
      const run = worker.run(task, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.stage !== 'encoding' || pid) return;
          pid = worker.pid!;
          process.kill(pid, 'SIGSTOP'); // it can read no abort and no close any more
          controller.abort();
        },
      });
      await assert.rejects(run, (e) => e instanceof CancelledError);
      assert.ok(pid > 0, 'the job was stopped mid-encode');
      stopped.push(pid);
      most = Math.max(most, engineProcesses().length);
      assert.ok(engineProcesses().length <= 2, `after cancel ${i + 1}: ${engineProcesses().length} engine processes`);
    }
    await until(() => stopped.every((pid) => !alive(pid)), 'every stopped engine is gone');
    const r = await worker.run(task);
    assert.equal(r.outputIds.length, 2, 'the next job answers');
    assert.equal(engineProcesses().length, 1);
  } finally {
    clearInterval(sample);
    await worker.close();
  }
  assert.ok(most <= 2, `at most 2 engine processes at any time, saw ${most}`);
  assert.deepEqual(engineProcesses(), []);
});

test('an unexpected error inside the engine process reaches the job and its error event as internal: its message, never its stack or a source path', async () => {
  const worker = new EngineWorker(await init());
  const queue = new JobQueue();
  const events: JobEvent[] = [];
  const logged: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => void logged.push(args);
  try {
    const facts = await worker.open();
    // a task the engine cannot read: a TypeError deep inside the engine process
    const broken = { ...longTask(facts.vocabSize, facts.numLayers, 64), query: null } as unknown as EngineTask;
    const direct = await worker.run(broken).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(direct instanceof Error && !(direct instanceof LongreadError), String(direct));
    assert.match(direct.message, /TypeError: Cannot read properties of null/);
    assert.doesNotMatch(direct.message, /\n|\//, 'no stack and no path crossed the process boundary');
    // as a job: the error event (what the renderer and the WebSocket get) is as clean
    const job = queue.submit({ kind: 'ask', lane: 'm', modelId: 'm', onEvent: (e) => events.push(e), run: async () => (await worker.run(broken)) as unknown as AskResult });
    await assert.rejects(job.result, (e: unknown) => e instanceof LongreadError && e.code === 'internal');
    const last = events.at(-1)!;
    assert.ok(last.type === 'error', JSON.stringify(last));
    assert.equal(last.error.code, 'internal');
    assert.match(last.error.message, /^The ask job failed: engine: TypeError: Cannot read properties of null/);
    assert.doesNotMatch(last.error.message, /\n|\//, 'no stack and no path in the event');
    // the engine lives on
    assert.equal((await worker.run(longTask(facts.vocabSize, facts.numLayers, 64))).outputIds.length, 2);
  } finally {
    console.error = original;
    await worker.close();
  }
});

test('the engine process has ONNX Runtime telemetry off in its own environment', needsProc, async () => {
  const before = process.env.ORT_DISABLE_TELEMETRY;
  delete process.env.ORT_DISABLE_TELEMETRY;
  const worker = new EngineWorker(await init());
  try {
    await worker.open();
    assert.equal(environmentOf(worker.pid!).get('ORT_DISABLE_TELEMETRY'), '1');
  } finally {
    if (before !== undefined) process.env.ORT_DISABLE_TELEMETRY = before;
    await worker.close();
  }
});

test('when the app process dies without closing, its engine process ends too (no orphan holding the model)', needsProc, async () => {
  const app = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'tests/helpers/engine-orphan.ts'), await tinyModel(), tempDir()], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    app.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    app.on('exit', (code) => reject(new Error(`the app process exited (${code}) before its engine started`)));
  });
  assert.ok(alive(pid));
  assert.deepEqual(engineProcesses(app.pid!), [pid]);
  app.kill('SIGKILL');
  await until(() => !alive(pid), `the orphaned engine ${pid} ends`, 15_000);
});

const BOOK = 'books/pg84.txt';

test('through the assistant: a crashed engine ends its ask with an engine-crashed error event; the next ask answers', { ...needsBook(BOOK), ...(procAvailable ? {} : needsProc) }, async () => {
  const o = await openTiny({ maxDocumentTokens: 32_768 });
  const docId = (await o.library.add(book(BOOK)!)).document.id;
  const rec = recorder();
  const job = o.assistant.ask({ documentId: docId, question: 'Who is Clerval?', sections: { from: 4, to: 8 } }, rec.on);
  await waitFor(rec.events, (e) => e.type === 'progress' && e.stage === 'encoding');
  const [pid] = engineProcesses();
  process.kill(pid!, 'SIGSEGV');
  await assert.rejects(job.result, (e: LongreadError) => e.code === 'engine-crashed' && /SIGSEGV/.test(e.message));
  const last = rec.events.at(-1)!;
  assert.ok(last.type === 'error' && last.error.code === 'engine-crashed', JSON.stringify(last));
  assert.equal(o.assistant.jobs().length, 0);
  const next = await o.assistant.ask({ documentId: docId, question: 'Who is Clerval?', sections: { from: 4, to: 4 } }, () => {}).result;
  assert.ok(next.engine!.generated.length > 0, 'the next ask ran on a new engine');
  assert.equal(engineProcesses().length, 1);
});

test('the utility-process transport (against a stand-in for Electron’s utilityProcess): the engine answers over parentPort, and a signal death is reported by its number as the signal', needsProc, async () => {
  const replies: FromWorker[] = [];
  const child = startUtilityProcess<ToWorker, FromWorker>(ENGINE_PROCESS, (m) => replies.push(m), fakeUtilityProcess);
  const reply = async (type: FromWorker['type']) => {
    await until(() => replies.some((m) => m.type === type || m.type === 'error'), `a '${type}' reply`, 60_000);
    const m = replies.find((x) => x.type === type || x.type === 'error')!;
    replies.splice(replies.indexOf(m), 1);
    assert.equal(m.type, type, JSON.stringify(m));
    return m as any;
  };
  // sent at once: held until the engine listens
  child.send({ type: 'init', init: await init() });
  child.send({ type: 'open', id: 1 });
  assert.equal((await reply('opened')).facts.numLayers, 3);
  assert.match(fakeUtilityProcess.forked[0]!, /engine-process\.mjs$/);
  assert.deepEqual(environmentOf(child.pid!).get('ORT_DISABLE_TELEMETRY'), '1');
  child.send({ type: 'tokenize', id: 2, text: 'a b c' });
  assert.ok((await reply('tokenized')).ids instanceof Int32Array);
  process.kill(child.pid!, 'SIGSEGV');
  assert.deepEqual(await child.exited, { code: 11, signal: 'SIGSEGV' });
  assert.equal(describeExit(await child.exited), 'killed by SIGSEGV');
});
