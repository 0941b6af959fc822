import { throwIfAborted } from '../../common/errors';
import { decodeText } from './decode';
import { checkTextLength, FileProblem } from './errors';
import { htmlToText, NestingTooDeep } from './htmltext';
import type { ReadOptions, ReadResult } from './types';

/** A standalone HTML page: text, <title>, <meta name="author">, headings as sections. */
export async function readHtml(bytes: Uint8Array, options: ReadOptions = {}): Promise<ReadResult> {
  throwIfAborted(options.signal, 'Reading the file');
  checkTextLength(Math.ceil(bytes.length / 4));
  const html = decodeHtml(bytes);
  checkTextLength(html.length);
  let parsed;
  try {
    parsed = htmlToText(html);
  } catch (e) {
    if (e instanceof NestingTooDeep) throw new FileProblem('document-too-complex', `this page cannot be read: ${e.message}.`);
    throw e;
  }
  options.onProgress?.(1, 1);
  return {
    type: 'html',
    title: parsed.title ?? parsed.headings.find((h) => h.level === 1)?.title ?? null,
    author: parsed.author,
    text: parsed.text.normalize('NFC'),
    sectionStarts: parsed.headings,
    pageKind: 'virtual',
    warnings: [],
  };
}

/** A declared <meta charset> wins over detection (HTML files say what they are). */
function decodeHtml(bytes: Uint8Array): string {
  const head = Buffer.from(bytes.subarray(0, 2048)).toString('latin1');
  const declared = /<meta[^>]+charset=["']?([\w-]+)/i.exec(head)?.[1];
  if (declared) {
    try {
      return new TextDecoder(declared.toLowerCase()).decode(bytes);
    } catch {
      // unknown label: detect instead
    }
  }
  return decodeText(bytes).text;
}
