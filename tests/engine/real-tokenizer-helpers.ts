import { spawnSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { makeTinyT5 } from '../../scripts/make-tiny-t5';
import { repoRoot } from '../library/helpers/corpus';

export const SHARED_TOKENIZER = path.join(repoRoot, '..', 'shared', 'models/t5-tokenizer');
export const TOKENIZER_FILES = ['tokenizer.json', 'spiece.model', 'tokenizer_config.json', 'special_tokens_map.json'];

/** A random T5-shaped checkpoint (vocab 32128 as t5-base) whose tokenizer files are `files` of the real ones. */
export async function t5ShapedCheckpoint(dir: string, files: readonly string[]): Promise<void> {
  await makeTinyT5({ out: dir, vocab: 32128, dModel: 32, dKv: 8, dFf: 64, heads: 4, layers: 2, seed: 3 });
  for (const f of TOKENIZER_FILES) rmSync(path.join(dir, f), { force: true });
  for (const f of files) copyFileSync(path.join(SHARED_TOKENIZER, f), path.join(dir, f));
}

export function longread(home: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/longread.mjs'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, LONGREAD_HOME: home, LONGREAD_MODEL: '' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

