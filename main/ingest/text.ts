import { throwIfAborted } from '../../common/errors';
import { decodeText, normalizeNewlines } from './decode';
import { checkTextLength } from './errors';
import { splitGutenberg } from './gutenberg';
import { findHeadings } from './headings';
import { joinParagraphs, paragraphsOf } from './prose';
import type { ReadOptions, ReadResult } from './types';

/** Plain text of any encoding; Project Gutenberg header and licence are kept out. */
export async function readText(bytes: Uint8Array, options: ReadOptions = {}): Promise<ReadResult> {
  throwIfAborted(options.signal, 'Reading the file');
  checkTextLength(Math.ceil(bytes.length / 4));
  const { text: raw } = decodeText(bytes);
  checkTextLength(raw.length);
  const normalized = normalizeNewlines(raw).normalize('NFC');
  const gutenberg = splitGutenberg(normalized);
  const paragraphs = paragraphsOf(gutenberg ? gutenberg.body : normalized);
  const { text, starts } = joinParagraphs(paragraphs);
  options.onProgress?.(1, 1);
  return {
    type: 'text',
    title: gutenberg?.title ?? null,
    author: gutenberg?.author ?? null,
    text,
    sectionStarts: findHeadings(paragraphs, starts, text.length),
    pageKind: 'virtual',
    warnings: [],
  };
}
