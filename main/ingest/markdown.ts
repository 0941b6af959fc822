import { throwIfAborted } from '../../common/errors';
import { decodeText, normalizeNewlines } from './decode';
import { checkTextLength } from './errors';
import type { SectionStart } from './pagination';
import { paragraphsOf } from './prose';
import type { ReadOptions, ReadResult } from './types';

/** Markdown: markup removed, headings (ATX and setext) as sections, code blocks kept verbatim. */
export async function readMarkdown(bytes: Uint8Array, options: ReadOptions = {}): Promise<ReadResult> {
  throwIfAborted(options.signal, 'Reading the file');
  checkTextLength(Math.ceil(bytes.length / 4));
  const decoded = decodeText(bytes).text;
  checkTextLength(decoded.length);
  let source = normalizeNewlines(decoded).normalize('NFC');
  let title: string | null = null;
  let author: string | null = null;
  const front = /^---\n([\s\S]*?)\n(?:---|\.\.\.)\n/.exec(source);
  if (front) {
    const fields = front[1]!.split('\n');
    title = frontMatterField(fields, 'title');
    author = frontMatterField(fields, 'author');
    source = source.slice(front[0].length);
  }

  // Blocks: headings, fenced code, and ordinary text (later split into paragraphs).
  const blocks: { kind: 'heading' | 'code' | 'text'; text: string; level?: number }[] = [];
  const lines = source.split('\n');
  let buffer: string[] = [];
  const flushText = () => {
    if (buffer.length > 0) blocks.push({ kind: 'text', text: buffer.join('\n') });
    buffer = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (fence) {
      flushText();
      const code: string[] = [];
      for (i++; i < lines.length && !lines[i]!.trimStart().startsWith(fence[1]!); i++) code.push(lines[i]!);
      blocks.push({ kind: 'code', text: code.join('\n') });
      continue;
    }
    const atx = atxHeading(line);
    if (atx) {
      flushText();
      blocks.push({ kind: 'heading', level: atx.level, text: inline(atx.text) });
      continue;
    }
    const next = lines[i + 1];
    if (line.trim() && next !== undefined && /^\s{0,3}(=+|-+)\s*$/.test(next) && (buffer.length === 0 || buffer[buffer.length - 1]!.trim() === '')) {
      flushText();
      blocks.push({ kind: 'heading', level: next.trim().startsWith('=') ? 1 : 2, text: inline(line.trim()) });
      i++;
      continue;
    }
    if (/^\s{0,3}\[[^\]]+\]:\s*\S+/.test(line)) continue; // link reference definition
    buffer.push(line);
  }
  flushText();

  const paragraphs: string[] = [];
  const sectionStarts: SectionStart[] = [];
  let pos = 0;
  const push = (p: string) => {
    if (!p.trim()) return;
    if (paragraphs.length > 0) pos += 2;
    paragraphs.push(p);
    pos += p.length;
  };
  for (const block of blocks) {
    if (block.kind === 'heading') {
      if (!block.text) continue;
      sectionStarts.push({ title: block.text, level: block.level!, start: pos + (paragraphs.length > 0 ? 2 : 0) });
      push(block.text);
    } else if (block.kind === 'code') push(block.text.trimEnd());
    else for (const p of paragraphsOf(block.text, { keepVerse: false })) push(inline(p.replace(/^\s{0,3}>\s?/gm, '')));
  }
  options.onProgress?.(1, 1);
  return {
    type: 'markdown',
    title: title ?? sectionStarts.find((s) => s.level === 1)?.title ?? null,
    author,
    text: paragraphs.join('\n\n'),
    sectionStarts,
    pageKind: 'virtual',
    warnings: [],
  };
}

/** `title: "Value"` in YAML front matter (one line; quotes dropped), or null. */
function frontMatterField(lines: string[], name: string): string | null {
  const prefix = name + ':';
  const line = lines.find((l) => l.slice(0, prefix.length).toLowerCase() === prefix);
  if (line === undefined) return null;
  let value = line.slice(prefix.length).trim();
  if (value.startsWith('"') || value.startsWith("'")) value = value.slice(1);
  value = value.trimEnd();
  if (value.endsWith('"') || value.endsWith("'")) value = value.slice(0, -1);
  return value.trimEnd() || null;
}

/**
 * An ATX heading line (`## Title ##`): what /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/ matched,
 * found by hand because that regex is cubic in a long run of spaces.
 */
export function atxHeading(line: string): { level: number; text: string } | null {
  let i = 0;
  while (i < 3 && i < line.length && /\s/.test(line[i]!)) i++;
  let hashes = 0;
  while (line[i + hashes] === '#') hashes++;
  if (hashes < 1 || hashes > 6 || !/\s/.test(line[i + hashes] ?? '')) return null;
  let text = line.slice(i + hashes).trim();
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end--;
  text = text.slice(0, end).trimEnd();
  return { level: hashes, text };
}

/**
 * Inline markup to plain text. Each step does in one linear pass what a regex replacement did
 * before (named in its comment); the regexes backtracked quadratically on hostile input such
 * as `**a ` repeated. tests/library/hostile.test.ts checks both give the same text.
 */
export function inline(s: string): string {
  return escapes(emphasis(strong(codeSpans(tags(refLinks(links(images(s)))))))).trim();
}

/** The next position at or after `from` where `ch` occurs; queries must not go backwards for the cache to keep the total linear. */
function nextOf(s: string, ch: string): (from: number) => number {
  let cachedFrom = -1;
  let cachedAt = -1;
  return (from) => {
    if (cachedFrom >= 0 && from >= cachedFrom && (cachedAt === -1 || from <= cachedAt)) return cachedAt;
    cachedFrom = from;
    cachedAt = s.indexOf(ch, from);
    return cachedAt;
  };
}

/** Like nextOf, for the first position passing `closes` before a line end (`.` in a regex stops there). */
function nextOnLine(s: string, closes: (j: number) => boolean): (from: number) => number {
  let cachedFrom = -1;
  let cachedEnd = -1;
  let found = false;
  return (from) => {
    if (cachedFrom >= 0 && from >= cachedFrom && from <= cachedEnd) return found ? cachedEnd : -1;
    let j = from;
    while (j < s.length && !isLineEnd(s[j]!) && !closes(j)) j++;
    cachedFrom = from;
    cachedEnd = j;
    found = j < s.length && !isLineEnd(s[j]!);
    return found ? j : -1;
  };
}

const isLineEnd = (c: string) => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029';
const isNonSpace = (c: string | undefined) => c !== undefined && !/\s/.test(c);
const isWord = (c: string | undefined) => c !== undefined && /\w/.test(c);

/** `[text](url)`-like spans: `open` + label up to the first `]` + `between` + anything up to the first `end`; keeps the label. */
function bracketed(s: string, open: string, minLabel: number, between: string, end: string): string {
  const close = nextOf(s, ']');
  const last = nextOf(s, end);
  let out = '';
  let done = 0;
  let i = s.indexOf(open);
  while (i !== -1) {
    const labelStart = i + open.length;
    if (minLabel === 0 || (labelStart < s.length && s[labelStart] !== ']')) {
      const b = close(labelStart);
      if (b === -1) break;
      if (s[b + 1] === between) {
        const e = last(b + 2);
        if (e === -1) break;
        out += s.slice(done, i) + s.slice(labelStart, b);
        done = e + 1;
        i = s.indexOf(open, done);
        continue;
      }
    }
    i = s.indexOf(open, i + 1);
  }
  return out + s.slice(done);
}

/** /!\[([^\]]*)\]\([^)]*\)/g → '$1' */
const images = (s: string) => bracketed(s, '![', 0, '(', ')');
/** /\[([^\]]+)\]\([^)]*\)/g → '$1' */
const links = (s: string) => bracketed(s, '[', 1, '(', ')');
/** /\[([^\]]+)\]\[[^\]]*\]/g → '$1' */
const refLinks = (s: string) => bracketed(s, '[', 1, '[', ']');

/** /<\/?[a-zA-Z][^>]*>/g → '' */
function tags(s: string): string {
  const gt = nextOf(s, '>');
  let out = '';
  let done = 0;
  let i = s.indexOf('<');
  while (i !== -1) {
    const name = s[i + 1] === '/' ? i + 2 : i + 1;
    if (/[a-zA-Z]/.test(s[name] ?? '')) {
      const e = gt(name + 1);
      if (e === -1) break;
      out += s.slice(done, i);
      done = e + 1;
      i = s.indexOf('<', done);
      continue;
    }
    i = s.indexOf('<', i + 1);
  }
  return out + s.slice(done);
}

/** /`([^`]+)`/g → '$1' */
function codeSpans(s: string): string {
  const tick = nextOf(s, '`');
  let out = '';
  let done = 0;
  let i = s.indexOf('`');
  while (i !== -1) {
    if (i + 1 < s.length && s[i + 1] !== '`') {
      const e = tick(i + 1);
      if (e === -1) break;
      out += s.slice(done, i) + s.slice(i + 1, e);
      done = e + 1;
      i = s.indexOf('`', done);
      continue;
    }
    i = s.indexOf('`', i + 1);
  }
  return out + s.slice(done);
}

/** /(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g → '$2' */
function strong(s: string): string {
  const closer = (d: string) => nextOnLine(s, (j) => s[j] === d && s[j + 1] === d && isNonSpace(s[j - 1]));
  const next = { '*': closer('*'), _: closer('_') };
  let out = '';
  let done = 0;
  for (let i = 0; i + 1 < s.length; ) {
    const d = s[i];
    if ((d === '*' || d === '_') && s[i + 1] === d && isNonSpace(s[i + 2])) {
      const j = next[d](i + 3);
      if (j !== -1) {
        out += s.slice(done, i) + s.slice(i + 2, j);
        done = i = j + 2;
        continue;
      }
    }
    i++;
  }
  return out + s.slice(done);
}

/** /(^|[^\w*])([*_])(?=\S)(.+?)(?<=\S)\2(?!\w)/g → '$1$3' */
function emphasis(s: string): string {
  const closer = (d: string) => nextOnLine(s, (j) => s[j] === d && isNonSpace(s[j - 1]) && !isWord(s[j + 1]));
  const next = { '*': closer('*'), _: closer('_') };
  /** End of the emphasis whose delimiter is at i, or -1. */
  const close = (i: number): number => {
    const d = s[i];
    if ((d !== '*' && d !== '_') || !isNonSpace(s[i + 1])) return -1;
    return next[d](i + 2);
  };
  let out = '';
  let done = 0;
  for (let k = 0; k < s.length; ) {
    if (k === 0) {
      const j = close(0);
      if (j !== -1) {
        out += s.slice(1, j);
        done = k = j + 1;
        continue;
      }
    }
    if (s[k] !== '*' && !isWord(s[k])) {
      const j = close(k + 1);
      if (j !== -1) {
        out += s.slice(done, k + 1) + s.slice(k + 2, j);
        done = k = j + 1;
        continue;
      }
    }
    k++;
  }
  return out + s.slice(done);
}

/** Backslash escapes (one character each: linear as a regex). */
function escapes(s: string): string {
  return s.replace(/\\([\\`*_{}[\]()#+\-.!>])/g, '$1');
}
