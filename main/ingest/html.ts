import { throwIfAborted } from '../../common/errors';
import { decodeText } from './decode';
import { htmlToText } from './htmltext';
import type { ReadOptions, ReadResult } from './types';

/** A standalone HTML page: text, <title>, <meta name="author">, headings as sections. */
export async function readHtml(bytes: Uint8Array, options: ReadOptions = {}): Promise<ReadResult> {
  throwIfAborted(options.signal, 'Reading the file');
  const html = decodeHtml(bytes);
  const parsed = htmlToText(html);
  const author = /<meta\s+[^>]*name=["']?author["']?[^>]*content=["']([^"']+)["']/i.exec(html)?.[1]?.trim() ?? null;
  options.onProgress?.(1, 1);
  return {
    type: 'html',
    title: parsed.title ?? parsed.headings.find((h) => h.level === 1)?.title ?? null,
    author,
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
