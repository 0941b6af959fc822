/**
 * Benchmark (not a test): how long the app's main thread (Electron main / local server) is
 * blocked while the API does heavy work. Adds corpus books and PDFs through the API (the
 * parse runs on a worker thread) and, when a model is available, asks a question (the engine
 * runs on the assistant's worker thread), while a 5 ms timer measures the event loop's
 * longest gap and the 99th percentile of its delay.
 *   node bin/run-ts.mjs tests/bench/app-responsiveness.ts [--ask "question"]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ApiEvent } from '../../common/api';
import { AppApi } from '../../main/api/api';
import { openAssistant } from '../../main/api/open-assistant';

const corpus = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..', '..', 'shared', 'corpus');
const files = ['books/pg2701.txt', 'books/pg1342.txt', 'books/alice.epub', 'pdf/tracemonkey.pdf', 'pdf/TAMReview.pdf'].map((f) => path.join(corpus, f)).filter(existsSync);
const askAt = process.argv.indexOf('--ask');
const question = askAt > 0 ? process.argv[askAt + 1]! : 'Who is the captain of the ship?';

function watch() {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  histogram.enable();
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 5);
  return () => {
    clearInterval(timer);
    histogram.disable();
    return { maxGapMs: maxGap, p99DelayMs: histogram.percentile(99) / 1e6 };
  };
}

const home = mkdtempSync(path.join(os.tmpdir(), 'longread-bench-'));
const api = AppApi.open({ home, mode: 'electron', openAssistant });
try {
  console.log('operation                               wall ms   longest loop gap ms   p99 loop delay ms');
  let firstId: string | null = null;
  for (const file of files) {
    const stop = watch();
    const t0 = performance.now();
    const r = await api.call('library.add', { paths: [file] });
    const wall = performance.now() - t0;
    const { maxGapMs, p99DelayMs } = stop();
    if (!r.ok) throw new Error(r.error.message);
    firstId ??= (r.value as { added: Array<{ document: { id: string } }> }).added[0]!.document.id;
    console.log(`add ${path.basename(file).padEnd(34)} ${wall.toFixed(0).padStart(7)} ${maxGapMs.toFixed(1).padStart(21)} ${p99DelayMs.toFixed(1).padStart(19)}`);
  }
  if (firstId) {
    const stop = watch();
    const t0 = performance.now();
    const started = await api.call('assistant.ask', { documentId: firstId, question });
    if (!started.ok) {
      stop();
      console.log(`ask: not measured (${started.error.code}: ${started.error.message})`);
    } else {
      const { jobId } = started.value as { jobId: string };
      const end = await new Promise<ApiEvent>((resolve) => api.onEvent((e) => 'jobId' in e && e.jobId === jobId && ['done', 'error', 'cancelled'].includes(e.type) && resolve(e)));
      const wall = performance.now() - t0;
      const { maxGapMs, p99DelayMs } = stop();
      console.log(`ask (${end.type})${' '.repeat(Math.max(1, 29 - end.type.length))} ${wall.toFixed(0).padStart(7)} ${maxGapMs.toFixed(1).padStart(21)} ${p99DelayMs.toFixed(1).padStart(19)}`);
    }
  }
} finally {
  await api.close();
  rmSync(home, { recursive: true, force: true });
}
