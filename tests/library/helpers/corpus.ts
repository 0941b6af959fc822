import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const corpusDir = path.resolve(repoRoot, '..', 'shared', 'corpus');

/** Path of a corpus file, or null (with the reason) when the shared corpus is not here. */
export function corpusFile(rel: string): string | null {
  const file = path.join(corpusDir, rel);
  return existsSync(file) ? file : null;
}

/** Options for node:test: skip with a message when the corpus file is absent. */
export function needs(...rels: string[]): { skip: string | false } {
  const missing = rels.filter((r) => corpusFile(r) === null);
  return { skip: missing.length > 0 ? `corpus file(s) not found under ${corpusDir}: ${missing.join(', ')}` : false };
}

export function corpus(rel: string): string {
  const file = corpusFile(rel);
  if (!file) throw new Error(`missing corpus file ${rel}`);
  return file;
}

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'longread-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Collapses whitespace so passages can be compared regardless of line wrapping. */
export function squash(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * Moby-Dick over and over, as many whole copies as fit in `bytes`, written to `dir/name`: a text
 * whose reading is one synchronous stretch of many seconds.
 */
export function repeatedBook(dir: string, name: string, bytes: number): string {
  const book = readFileSync(corpus('books/pg2701.txt'));
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat(Array.from({ length: Math.max(1, Math.floor(bytes / book.length)) }, () => book)));
  return file;
}
