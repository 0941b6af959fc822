/**
 * Text sources of the default model's recipe and the sentence splitter shared by the training-data
 * generator and the evaluation. TRAINING sources never include the evaluation books (Moby Dick,
 * Pride and Prejudice); `evalSources` returns only those.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ingestFile } from '../../main/ingest/index';

export interface Source {
  name: string;
  text: string;
}

export const TRAIN_BOOKS = ['pg84.txt', 'pg64317.txt', 'alice.epub'];
export const EVAL_BOOKS = ['pg2701.txt', 'pg1342.txt'];

export function defaultBooksDir(): string {
  const candidates = [process.env.LONGREAD_BOOKS, '/work/shared/corpus/books', path.resolve('../shared/corpus/books')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error('corpus books not found: set LONGREAD_BOOKS to the folder with pg84.txt, pg64317.txt, alice.epub');
}

async function books(dir: string, names: string[]): Promise<Source[]> {
  const out: Source[] = [];
  for (const n of names) {
    const doc = await ingestFile(path.join(dir, n));
    out.push({ name: n, text: doc.text });
  }
  return out;
}

/**
 * Debian's common license texts (/usr/share/common-licenses, from base-files): English prose that every
 * Debian machine has, byte for byte, so the recipe's tokenizer and data do not depend on which packages
 * happen to be installed. Sorted, duplicates (symlinked versions) dropped.
 */
function licenseText(dir = '/usr/share/common-licenses'): Source[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const seen = new Set<string>();
  const out: Source[] = [];
  for (const n of names) {
    const f = path.join(dir, n);
    let text: string;
    try {
      if (!statSync(f).isFile()) continue;
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const key = text.slice(0, 2000);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ name: f, text });
  }
  return out;
}

export async function trainSources(booksDir = defaultBooksDir()): Promise<Source[]> {
  return [...(await books(booksDir, TRAIN_BOOKS)), ...licenseText()];
}

export async function evalSources(booksDir = defaultBooksDir()): Promise<Source[]> {
  return books(booksDir, EVAL_BOOKS);
}

const ABBREV = /\b(Mr|Mrs|Ms|Dr|St|Mt|Jr|Sr|Capt|Col|Gen|Lt|No|vol|ch|viz|etc|i\.e|e\.g)\.$/i;

/** Sentences of `text` (whitespace collapsed), in order. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const flat = para.replace(/\s+/g, ' ').trim();
    if (!flat) continue;
    let start = 0;
    const re = /[.!?]["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(flat))) {
      const end = m.index + m[0].length;
      const piece = flat.slice(start, end).trim();
      if (ABBREV.test(flat.slice(Math.max(0, m.index - 6), m.index + 1))) continue;
      if (piece) out.push(piece);
      start = end;
    }
    const rest = flat.slice(start).trim();
    if (rest) out.push(rest);
  }
  return out;
}
