/**
 * Benchmark (not a test): how fast whole books are tokenized, with the real T5 tokenizer
 * (../shared/models/t5-tokenizer) and the bundled model's, best of --runs.
 *   node bin/run-ts.mjs tests/bench/tokenizer.ts [--runs 3]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadTokenizer } from '../../engine/tokenizer';
import { corpusDir } from '../library/helpers/corpus';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
const root = path.resolve(import.meta.dirname, '..', '..');
const tokenizers = { 't5 (real)': path.resolve(root, '..', 'shared', 'models', 't5-tokenizer'), bundled: path.join(root, 'models', 'default') };

for (const [name, dir] of Object.entries(tokenizers)) {
  const tok = await loadTokenizer(dir);
  for (const book of ['pg2701.txt', 'pg1342.txt']) {
    const text = readFileSync(path.join(corpusDir, 'books', book), 'utf8');
    let best = Infinity;
    let tokens = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      tokens = tok.encode(text, { addEos: false }).length;
      best = Math.min(best, performance.now() - t0);
    }
    console.log(`${name.padEnd(10)} ${book}: ${text.length} chars → ${tokens} tokens in ${best.toFixed(0)} ms (${((text.length / best) * 1000 / 1e6).toFixed(2)} M chars/s)`);
  }
}
