import { getDocument, GlobalWorkerOptions, type PDFDocumentProxy } from 'pdfjs-dist';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';
import type { TextContent } from 'pdfjs-dist/types/src/display/api';
import type { PageWord } from '../../../common/document';
import type { PdfSource } from './api/transport';

GlobalWorkerOptions.workerSrc = workerUrl;

/** pdf.js resources copied into the build (vite.config.ts): nothing is fetched from elsewhere. */
function resource(folder: string): string {
  return new URL(`./pdfjs/${folder}/`, document.baseURI).href;
}

/** Opens a PDF for the reader: no eval, no scripting, fonts and decoders from the app's own files. */
export async function openPdf(source: PdfSource): Promise<PDFDocumentProxy> {
  const common = {
    isEvalSupported: false,
    enableXfa: false,
    standardFontDataUrl: resource('standard_fonts'),
    cMapUrl: resource('cmaps'),
    cMapPacked: true,
    wasmUrl: resource('wasm'),
    iccUrl: resource('iccs'),
  };
  const task =
    'url' in source
      ? getDocument({ ...common, url: source.url, httpHeaders: source.headers, withCredentials: false, disableRange: true, disableStream: true })
      : getDocument({ ...common, data: source.data });
  return task.promise;
}

const OCR_FONT = 'ocr';

/**
 * What OCR read on a scanned page as pdf.js text content, so the page gets the text layer a
 * text-layer page has (selection, find, citation highlights) from the same TextLayer. Each word
 * is set in a font as tall as its box: pdf.js puts the baseline at about 0.8 of the font height
 * from the top, so the baseline goes 0.2 of the box above its bottom (descenders below it), and
 * it stretches each word to the given width.
 */
export function ocrTextContent(words: readonly PageWord[]): TextContent {
  return {
    items: words.map((w) => ({ str: w.text, dir: 'ltr', width: w.width, height: w.height, transform: [w.height, 0, 0, w.height, w.x, w.y + 0.2 * w.height], fontName: OCR_FONT, hasEOL: false })),
    styles: { [OCR_FONT]: { fontFamily: 'sans-serif', ascent: 0.8, descent: -0.2, vertical: false } },
    lang: null,
  };
}

export type { PDFDocumentProxy };
