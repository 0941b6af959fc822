import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JobEvent } from '../../common/api';
import { Assistant } from '../../main/assistant/assistant';
import type { AssistantOptions } from '../../main/assistant/types';
import { Library } from '../../main/library/library';
import { tinyModelDir } from '../helpers/tiny-model';
import { corpusDir } from '../library/helpers/corpus';

export { corpusDir };

/**
 * The tiny checkpoint the assistant tests share: 3 encoder layers (1 local, 2 VCC), every id a piece (496 + 3 specials), a
 * vocabulary. Made when a test file loads (its temp folder lives as long as the file's tests).
 */
const modelDir = tinyModelDir({ vocab: 499, layers: 3, dModel: 32, seed: 7 }, 'tiny-assistant');
export function tinyModel(): Promise<string> {
  return modelDir;
}

/** Everything opened by a test file, closed when the process is about to end its tests. */
const cleanups: Array<() => Promise<void> | void> = [];
export async function cleanupAll(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

export function book(rel: string): string | null {
  const file = path.join(corpusDir, rel);
  return existsSync(file) ? file : null;
}

export function needsBook(...rels: string[]): { skip: string | false } {
  const missing = rels.filter((r) => !book(r));
  return { skip: missing.length ? `corpus file(s) not found under ${corpusDir}: ${missing.join(', ')}` : false };
}

export function tempHome(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'longread-assistant-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Opened {
  home: string;
  library: Library;
  assistant: Assistant;
  close(): Promise<void>;
}

/** A library in a fresh home and an assistant whose bundled model is the tiny one. */
export async function openTiny(options: Partial<AssistantOptions> = {}, home = tempHome()): Promise<Opened> {
  const library = Library.open({ home });
  const assistant = await Assistant.open({ library, home, modelDir: await tinyModel(), threads: 1, maxAnswerTokens: 8, reportEncoderHash: true, ...options });
  const opened = {
    home,
    library,
    assistant,
    close: async () => {
      await assistant.close();
      library.close();
    },
  };
  cleanups.push(() => opened.close().catch(() => {}));
  return opened;
}

/** Records a job's events. */
export function recorder() {
  const events: JobEvent[] = [];
  return {
    events,
    on: (e: JobEvent) => {
      events.push(e);
    },
    tokens: () => events.filter((e): e is Extract<JobEvent, { type: 'token' }> => e.type === 'token').map((e) => e.text).join(''),
    of: (jobId: string) => events.filter((e) => e.jobId === jobId),
  };
}

/** Waits for the first event that matches. */
export function waitFor(events: JobEvent[], match: (e: JobEvent) => boolean, timeoutMs = 60_000): Promise<JobEvent> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      const hit = events.find(match);
      if (hit) return resolve(hit);
      if (Date.now() - t0 > timeoutMs) return reject(new Error('timed out waiting for a job event'));
      setTimeout(tick, 5);
    };
    tick();
  });
}
