import { throwIfAborted } from '../../common/errors';
import { decodeText, normalizeNewlines } from './decode';
import type { SectionStart } from './pagination';
import { paragraphsOf } from './prose';
import type { ReadOptions, ReadResult } from './types';

/** Markdown: markup removed, headings (ATX and setext) as sections, code blocks kept verbatim. */
export async function readMarkdown(bytes: Uint8Array, options: ReadOptions = {}): Promise<ReadResult> {
  throwIfAborted(options.signal, 'Reading the file');
  let source = normalizeNewlines(decodeText(bytes).text).normalize('NFC');
  let title: string | null = null;
  let author: string | null = null;
  const front = /^---\n([\s\S]*?)\n(?:---|\.\.\.)\n/.exec(source);
  if (front) {
    title = /^title:\s*["']?(.*?)["']?\s*$/im.exec(front[1]!)?.[1] || null;
    author = /^author:\s*["']?(.*?)["']?\s*$/im.exec(front[1]!)?.[1] || null;
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
    const atx = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (atx) {
      flushText();
      blocks.push({ kind: 'heading', level: atx[1]!.length, text: inline(atx[2]!) });
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
    } else if (block.kind === 'code') push(block.text.replace(/\s+$/, ''));
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

/** Inline markup to plain text. */
function inline(s: string): string {
  return s
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
    .replace(/<\/?[a-zA-Z][^>]*>/g, '')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, '$2')
    .replace(/(^|[^\w*])([*_])(?=\S)(.+?)(?<=\S)\2(?!\w)/g, '$1$3')
    .replace(/\\([\\`*_{}[\]()#+\-.!>])/g, '$1')
    .trim();
}
