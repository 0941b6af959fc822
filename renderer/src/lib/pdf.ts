import { getDocument, GlobalWorkerOptions, type PDFDocumentProxy } from 'pdfjs-dist';
import workerUrl from 'pdfjs-dist/build/pdf.worker.min.mjs?url';
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

export type { PDFDocumentProxy };
