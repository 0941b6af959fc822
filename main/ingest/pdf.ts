import { createRequire } from 'node:module';
import path from 'node:path';
import type * as PdfJs from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { DocumentPage, PageWord } from '../../common/document';
import { CancelledError, throwIfAborted } from '../../common/errors';
import { ingestError } from './errors';
import { MAX_NESTING_DEPTH } from './htmltext';
import { numberedHeadings } from './headings';
import { layoutOcrLines, PageReader, type OcrLine, type OcrPage } from './ocr';
import { layoutPage, pdfLinesOf, readingOrder, removeRunningLines, type PdfLine } from './pdf-layout';
import type { SectionStart } from './pagination';
import type { ReadOptions, ReadResult } from './types';

type PdfDocument = Awaited<ReturnType<typeof PdfJs.getDocument>['promise']>;

/** pdf.js is large; load it only when a PDF is read. */
let pdfjsModule: Promise<typeof PdfJs> | null = null;
const loadPdfjs = () => (pdfjsModule ??= (ignoreStrayPdfjsRejections(), import('pdfjs-dist/legacy/build/pdf.mjs')));

/** Exceptions of pdf.js (its BaseException family), by name. */
const PDFJS_EXCEPTIONS = new Set(['FormatError', 'XRefEntryException', 'XRefParseException', 'InvalidPDFException', 'UnknownErrorException', 'MissingDataException', 'ParserEOFException', 'PasswordException', 'ResponseException', 'AbortException']);

/**
 * On some damaged files pdf.js rejects a promise of its own that nobody can await (getPage
 * fails for the caller, and again inside pdf.js, unhandled). Node would end the process (or
 * the ingest worker) for it; those rejections are dropped here. Any other unhandled rejection
 * keeps its default: it is rethrown unless someone else listens for them.
 */
function ignoreStrayPdfjsRejections(): void {
  process.on('unhandledRejection', (reason: unknown) => {
    const name = (reason as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && PDFJS_EXCEPTIONS.has(name) && /pdf(\.worker)?(\.min)?\.m?js/.test(String((reason as Error).stack))) return;
    if (process.listenerCount('unhandledRejection') === 1) throw reason;
  });
}

const pdfjsRoot = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));

/** A page with fewer visible characters than this may be an image of text. */
const LOW_TEXT_CHARS = 16;

/**
 * PDF through pdf.js: text in reading order per page, hyphenated line breaks joined,
 * running headers/footers and page numbers removed, bookmarks kept as sections.
 */
export async function readPdf(file: string, bytes: Uint8Array, options: ReadOptions = {}): Promise<ReadResult> {
  throwIfAborted(options.signal, 'Reading the PDF');
  const pdfjs = await loadPdfjs();
  const task = pdfjs.getDocument({
    data: new Uint8Array(bytes), // pdf.js takes ownership of the buffer it is given
    password: options.password,
    verbosity: 0,
    isEvalSupported: false,
    useSystemFonts: false,
    disableFontFace: true,
    cMapUrl: path.join(pdfjsRoot, 'cmaps') + path.sep,
    cMapPacked: true,
    standardFontDataUrl: path.join(pdfjsRoot, 'standard_fonts') + path.sep,
    wasmUrl: path.join(pdfjsRoot, 'wasm') + path.sep,
  });
  let doc: PdfDocument;
  try {
    doc = await task.promise;
  } catch (e) {
    await task.destroy().catch(() => {});
    throw openError(pdfjs, file, e, options.password !== undefined);
  }
  try {
    return await readOpened(pdfjs, file, doc, options);
  } finally {
    await task.destroy().catch(() => {});
  }
}

function openError(pdfjs: typeof PdfJs, file: string, e: unknown, hadPassword: boolean): Error {
  const err = e as { name?: string; code?: number; message?: string };
  if (err?.name === 'PasswordException') {
    if (err.code === pdfjs.PasswordResponses.INCORRECT_PASSWORD && hadPassword) {
      return ingestError('pdf-wrong-password', file, 'the password is wrong. Check it and try again.', e);
    }
    return ingestError('pdf-password-required', file, 'this PDF is protected by a password. Enter the password to open it.', e);
  }
  return ingestError('pdf-corrupt', file, `this PDF is damaged or incomplete and cannot be opened (${err?.message ?? String(e)}).`, e);
}

async function readOpened(pdfjs: typeof PdfJs, file: string, doc: PdfDocument, options: ReadOptions): Promise<ReadResult> {
  const warnings: string[] = [];
  const numPages = doc.numPages;
  const pageLines: PdfLine[][] = [];
  const failedPages: number[] = [];
  const unmappedPages: number[] = [];
  for (let n = 1; n <= numPages; n++) {
    throwIfAborted(options.signal, 'Reading the PDF');
    try {
      const page = await doc.getPage(n);
      const content = await page.getTextContent();
      const glyphs = { mapped: 0, unmapped: 0 };
      pageLines.push(readingOrder(pdfLinesOf(content.items, glyphs)));
      if (glyphs.unmapped > 20 && glyphs.unmapped > glyphs.mapped) unmappedPages.push(n);
      page.cleanup();
    } catch (e) {
      if (e instanceof CancelledError) throw e;
      failedPages.push(n);
      pageLines.push([]);
    }
    options.onProgress?.(n, numPages);
  }
  if (failedPages.length === numPages) {
    throw ingestError('pdf-corrupt', file, 'this PDF is damaged: none of its pages can be read.');
  }
  if (failedPages.length > 0) warnings.push(`Pages ${ranges(failedPages)} are damaged and could not be read.`);
  if (unmappedPages.length > 0) {
    warnings.push(`Pages ${ranges(unmappedPages)} use fonts that do not say which characters they show; most of their text could not be extracted.`);
  }

  // pages with (almost) no text: page images are read by OCR, or counted to tell a scanned PDF
  const lowText = removeRunningLines(pageLines).map((lines, i) => visibleChars(lines) < LOW_TEXT_CHARS && !failedPages.includes(i + 1));
  const imagePages: number[] = [];
  let drawsText = false;
  for (let i = 0; i < numPages; i++) {
    if (!lowText[i]) continue;
    throwIfAborted(options.signal, 'Reading the PDF');
    const ops = await pageOperators(pdfjs, doc, i + 1);
    if (ops.image) imagePages.push(i + 1);
    drawsText ||= ops.text;
  }
  const ocrLines = new Map<number, OcrLine[]>();
  const ocrWords = new Map<number, PageWord[]>();
  if (imagePages.length > 0 && options.ocr !== false) {
    const failed = await readByOcr(doc, imagePages, options, (n, page) => {
      ocrLines.set(n, page.lines);
      ocrWords.set(n, page.words);
      pageLines[n - 1] = page.lines;
    });
    const read = imagePages.filter((n) => !failed.includes(n));
    if (read.length > 0) warnings.push(`Pages ${ranges(read)} have no text layer and were read by OCR; their text may hold recognition errors.`);
    if (failed.length > 0) warnings.push(`OCR could not read pages ${ranges(failed)}; their text is missing.`);
  }

  // OCR boxes' heights follow rules, borders and figures as much as type sizes: no title from them
  const firstPageLines = ocrLines.has(1) ? [] : (pageLines[0] ?? []);
  const cleaned = removeRunningLines(pageLines);
  const pageTexts = cleaned.map((lines, i) => {
    const laidOut = ocrLines.has(i + 1) ? layoutOcrLines(lines as OcrLine[]) : layoutPage(lines);
    return fixSpacedAccents(laidOut.normalize('NFKC')).normalize('NFC');
  });

  const visible = pageTexts.map((t) => t.replace(/\s/g, '').length);
  if (ocrLines.size === 0) {
    const textPages = visible.filter((v) => v >= LOW_TEXT_CHARS).length;
    // no text layer to speak of: mostly page images, (almost) no page with text
    if (imagePages.length > 0 && imagePages.length >= numPages / 2 && textPages <= numPages / 10) {
      throw ingestError(
        'pdf-scanned',
        file,
        options.ocr === false
          ? 'this PDF looks scanned: its pages are images with no text layer, and OCR is turned off. Turn OCR on (Settings), or run it through OCR first, then add it again.'
          : 'this PDF looks scanned: its pages are images with no text layer. Run it through OCR first, then add it again.',
      );
    }
  }
  if (visible.every((v) => v === 0)) {
    throw ingestError(
      'document-empty',
      file,
      ocrLines.size > 0
        ? 'this PDF has no text: its pages are images in which OCR found no words.'
        : drawsText
          ? 'this PDF has no extractable text: it draws text, but its fonts do not say which characters they show.'
          : 'this PDF has no text: its pages are blank.',
    );
  }
  const stillMissing = imagePages.filter((n) => !ocrLines.has(n));
  if (stillMissing.length > 0 && options.ocr === false) warnings.push(`Pages ${ranges(stillMissing)} look scanned; their text is missing (OCR is off).`);

  const pages: DocumentPage[] = [];
  const parts: string[] = [];
  let pos = 0;
  let labels: string[] | null = null;
  try {
    labels = await doc.getPageLabels();
  } catch {
    warnings.push('The page labels in this PDF are damaged; plain page numbers are used.');
  }
  pageTexts.forEach((t, i) => {
    const start = parts.length > 0 ? pos + 2 : pos;
    parts.push(t);
    pos = start + t.length;
    const label = labels?.[i];
    const words = ocrWords.get(i + 1);
    pages.push({ number: i + 1, start, end: pos, ...(label && label !== String(i + 1) ? { label } : {}), ...(words?.length ? { words } : {}) });
  });
  const text = parts.join('\n\n');

  let sectionStarts = await outlineSections(doc, pages, text).catch(() => {
    warnings.push('The bookmarks of this PDF are damaged and were ignored.');
    return [] as SectionStart[];
  });
  if (sectionStarts.length === 0) sectionStarts = numberedHeadings(text);

  const info = (await doc.getMetadata().catch(() => null))?.info as Record<string, unknown> | undefined;
  const str = (v: unknown) => {
    const value = typeof v === 'string' ? v.replace(/\s+/g, ' ').trim() : '';
    // producers leave junk here: "ARRAY(0x2c7cf020)", "untitled", a file name
    return value.length > 0 && !/^(ARRAY|HASH)\(0x[0-9a-f]+\)$|^untitled$|\.(html?|docx?|pdf|tex|dvi)$/i.test(value) ? value : null;
  };
  return {
    type: 'pdf',
    title: str(info?.Title) ?? largestLine(firstPageLines),
    author: str(info?.Author),
    text,
    sectionStarts,
    pages,
    pageKind: 'physical',
    warnings,
  };
}

async function pageOperators(pdfjs: typeof PdfJs, doc: PdfDocument, n: number): Promise<{ image: boolean; text: boolean }> {
  try {
    const page = await doc.getPage(n);
    const list = await page.getOperatorList();
    page.cleanup();
    const O = pdfjs.OPS;
    const imageOps = new Set<number>([O.paintImageXObject, O.paintInlineImageXObject, O.paintImageMaskXObject, O.paintImageXObjectRepeat, O.paintInlineImageXObjectGroup]);
    const textOps = new Set<number>([O.showText, O.showSpacedText, O.nextLineShowText, O.nextLineSetSpacingShowText]);
    return { image: list.fnArray.some((f) => imageOps.has(f)), text: list.fnArray.some((f) => textOps.has(f)) };
  } catch {
    return { image: false, text: false };
  }
}

function visibleChars(lines: PdfLine[]): number {
  return lines.reduce((n, l) => n + l.text.replace(/\s/g, '').length, 0);
}

/**
 * Reads the given pages by OCR, one after another, reporting each with the time the rest will
 * take at the pace so far. A page OCR fails on is left empty and returned; cancelling stops
 * between pages (and the reader process is killed by a cancel anyway).
 */
async function readByOcr(doc: PdfDocument, pageNumbers: number[], options: ReadOptions, onPage: (n: number, page: OcrPage) => void): Promise<number[]> {
  const reader = new PageReader();
  const failed: number[] = [];
  const started = performance.now();
  try {
    options.onProgress?.(0, pageNumbers.length, { phase: 'ocr' });
    for (const [k, n] of pageNumbers.entries()) {
      throwIfAborted(options.signal, 'Reading the PDF');
      try {
        const page = await doc.getPage(n);
        onPage(n, await reader.read(page));
        page.cleanup();
      } catch (e) {
        if (e instanceof CancelledError) throw e;
        failed.push(n);
      }
      const done = k + 1;
      const perPage = (performance.now() - started) / 1000 / done;
      options.onProgress?.(done, pageNumbers.length, { phase: 'ocr', etaSeconds: Math.round(perPage * (pageNumbers.length - done)) });
    }
  } finally {
    await reader.close();
  }
  return failed;
}

/** Bookmarks as sections: each starts where its title appears on its page, else at the page top. */
async function outlineSections(doc: PdfDocument, pages: DocumentPage[], text: string): Promise<SectionStart[]> {
  const outline = await doc.getOutline();
  if (!outline) return [];
  const out: SectionStart[] = [];
  // Each title search reads its page once; past this many characters in all (thousands of
  // bookmarks on one huge page) the rest start at their page's top, so the whole stays linear.
  let searchBudget = 16 * text.length + 1024 * 1024;
  // depth first in document order, with a stack; bookmarks nested past the cap are left out
  const stack: { item: (typeof outline)[number]; level: number }[] = [...outline].reverse().map((item) => ({ item, level: 1 }));
  while (stack.length > 0) {
    const { item, level } = stack.pop()!;
    const pageIndex = await destinationPage(doc, item.dest).catch(() => null);
    const title = item.title.replace(/\s+/g, ' ').trim();
    // converters leave bookmarks named after their temporary files ("htmldoc797.html")
    if (pageIndex !== null && pages[pageIndex] && title && !/^\S+\.(html?|pdf|docx?)$/i.test(title)) {
      const page = pages[pageIndex]!;
      searchBudget -= page.end - page.start;
      const at = searchBudget >= 0 ? findTitle(text.slice(page.start, page.end), title) : -1;
      out.push({ title, level, start: page.start + (at >= 0 ? at : 0) });
    }
    if (item.items?.length && level < MAX_NESTING_DEPTH) for (let k = item.items.length - 1; k >= 0; k--) stack.push({ item: item.items[k]!, level: level + 1 });
  }
  return out;
}

async function destinationPage(doc: PdfDocument, dest: unknown): Promise<number | null> {
  const explicit = typeof dest === 'string' ? await doc.getDestination(dest) : dest;
  if (!Array.isArray(explicit) || explicit.length === 0) return null;
  const target = explicit[0];
  if (typeof target === 'number') return target;
  if (target && typeof target === 'object') return await doc.getPageIndex(target as { num: number; gen: number });
  return null;
}

/** Where a bookmark title appears in a page's text, ignoring case, spacing and numbering. */
function findTitle(pageText: string, title: string): number {
  // the first words (up to a very long one, cut) place a title well enough and keep the search linear in the page
  const all = title.replace(/^[\d.\s]+/, '').split(/\s+/).filter(Boolean).slice(0, 12);
  const long = all.findIndex((w) => w.length > 40);
  const kept = long >= 0 ? [...all.slice(0, long), all[long]!.slice(0, 40)] : all;
  const words = kept.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (words.length === 0) return -1;
  const m = new RegExp(words.join('\\s*'), 'i').exec(pageText);
  if (!m) return -1;
  // include a leading section number ("1.2 Background") in the section
  const before = /[\d.]+\s*$/.exec(pageText.slice(Math.max(0, m.index - 12), m.index));
  return before ? m.index - before[0].length : m.index;
}

/** The first page's biggest type, when it stands out, consecutive lines of it joined: usually the title. */
function largestLine(lines: PdfLine[]): string | null {
  let best = -1;
  lines.forEach((l, i) => {
    const len = l.text.trim().length;
    if (len >= 4 && len <= 200 && (best < 0 || l.size > lines[best]!.size + 0.5)) best = i;
  });
  if (best < 0) return null;
  const sizes = lines.map((l) => l.size).sort((a, b) => a - b);
  if (lines[best]!.size < 1.15 * sizes[sizes.length >> 1]!) return null;
  let title = lines[best]!.text;
  for (let i = best + 1; i < Math.min(lines.length, best + 3) && Math.abs(lines[i]!.size - lines[best]!.size) < 0.5; i++) title += ' ' + lines[i]!.text;
  return title.replace(/\s+/g, ' ').trim();
}

/** TeX sets "naïve" as "na ̈ıve": a spaced combining mark before a dotless i. Put it back together. */
function fixSpacedAccents(text: string): string {
  return text.replace(/ ?([\u0300-\u036f])(\p{L})/gu, (_m, mark: string, base: string) => (base === 'ı' ? 'i' : base) + mark);
}

/** 1,2,3,7 → "1–3, 7" */
function ranges(ns: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < ns.length; ) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
    out.push(i === j ? String(ns[i]) : `${ns[i]}–${ns[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}
