import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { makeTinyT5, type TinyT5Options } from '../../scripts/make-tiny-t5';

/** A fresh temp folder removed when the test file finishes. */
export function tempDir(prefix = 'longread-tiny-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a tiny Hugging Face T5 folder into a temp folder and returns its path. */
export async function tinyModelDir(options: Omit<TinyT5Options, 'out'> = {}, name = 'model'): Promise<string> {
  return makeTinyT5({ ...options, out: path.join(tempDir(), name) });
}
