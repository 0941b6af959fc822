/**
 * OCR of PDF pages that have no text layer: pdf.js draws the page on a @napi-rs/canvas canvas
 * (pdf.js's own Node canvas), Tesseract (tesseract.js, WebAssembly in a worker thread of the
 * reader process) reads it. The English data comes from the installed @tesseract.js-data/eng
 * package and nothing is ever downloaded or cached: `langPath` is a folder on disk, which
 * tesseract.js reads with fs (only a URL would be fetched), and `cacheMethod` is 'none'.
 * The worker thread ends with the reader process when a cancel or the time limit kills it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PageWord } from '../../common/document';
import { joinLines, type PdfLine } from './pdf-layout';

const require = createRequire(import.meta.url);

/** Pages are drawn at this resolution for OCR: Tesseract reads body text best at about 300 dpi. */
export const OCR_DPI = 300;

/** A page bigger than this many pixels at OCR_DPI (a poster, a map) is drawn smaller instead. */
const MAX_OCR_PIXELS = 40_000_000;

/** An OCR line, with the Tesseract paragraph it belongs to (lines of a paragraph are joined). */
export interface OcrLine extends PdfLine {
  paragraph: number;
}

export interface OcrPage {
  /** In reading order as Tesseract found it, in page space (points, y up) like text-layer lines. */
  lines: OcrLine[];
  words: PageWord[];
}

type TesseractWorker = Awaited<ReturnType<typeof import('tesseract.js').createWorker>>;

/** The options the Tesseract worker is started with: everything local. */
export function ocrWorkerOptions(): { langPath: string; cacheMethod: 'none'; gzip: true } {
  const dataRoot = path.dirname(require.resolve('@tesseract.js-data/eng/package.json'));
  // the LSTM-only data ("best_int"), the one tesseract.js would use for its LSTM engine
  return { langPath: path.join(dataRoot, '4.0.0_best_int'), cacheMethod: 'none', gzip: true };
}

/** One Tesseract worker, started on the first page that needs it; `close` ends it. */
export class PageReader {
  private worker: Promise<TesseractWorker> | null = null;

  async read(page: PDFPageProxy): Promise<OcrPage> {
    const { createCanvas } = await import('@napi-rs/canvas');
    const base = page.getViewport({ scale: 1 });
    const dpiScale = OCR_DPI / 72;
    const scale = Math.min(dpiScale, Math.sqrt(MAX_OCR_PIXELS / Math.max(1, base.width * base.height)));
    const viewport = page.getViewport({ scale });
    const canvas = createCanvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
    const context = canvas.getContext('2d');
    context.fillStyle = '#fff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    await page.render({ canvas: null, canvasContext: context as unknown as Parameters<PDFPageProxy['render']>[0]['canvasContext'], viewport }).promise;
    const png = await canvas.encode('png');
    const worker = await this.start();
    const { data } = await worker.recognize(png, {}, { blocks: true, text: false });
    return ocrPage(data.blocks ?? [], (x, y) => viewport.convertToPdfPoint(x, y) as [number, number]);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    if (worker) await (await worker.catch(() => null))?.terminate().catch(() => {});
  }

  private start(): Promise<TesseractWorker> {
    return (this.worker ??= (async () => {
      const { createWorker, OEM, PSM } = await import('tesseract.js');
      const worker = await createWorker('eng', OEM.LSTM_ONLY, ocrWorkerOptions());
      await worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO, user_defined_dpi: String(OCR_DPI) });
      return worker;
    })());
  }
}

type Blocks = NonNullable<Awaited<ReturnType<TesseractWorker['recognize']>>['data']['blocks']>;

/** Tesseract's blocks (pixel boxes, y down) to lines and words in page space. */
export function ocrPage(blocks: Blocks, toPage: (x: number, y: number) => [number, number]): OcrPage {
  const lines: OcrLine[] = [];
  const words: PageWord[] = [];
  const box = (b: { x0: number; y0: number; x1: number; y1: number }) => {
    const [ax, ay] = toPage(b.x0, b.y1);
    const [bx, by] = toPage(b.x1, b.y0);
    return { x: Math.min(ax, bx), y: Math.min(ay, by), width: Math.abs(bx - ax), height: Math.abs(by - ay) };
  };
  let paragraph = 0;
  for (const block of blocks) {
    for (const para of block.paragraphs) {
      const kept = para.lines.map((line) => ({ line, text: line.words.map((w) => w.text.trim()).filter(Boolean).join(' ') })).filter((l) => l.text);
      if (kept.length === 0) continue;
      // one size for a paragraph's lines: a box's height varies with ascenders and descenders
      const heights = kept.map(({ line }) => box(line.bbox).height).sort((a, b) => a - b);
      const size = heights[heights.length >> 1]!;
      for (const { line, text } of kept) {
        const b = box(line.bbox);
        lines.push({ text, x: b.x, y: b.y, xEnd: b.x + b.width, size, paragraph });
        for (const w of line.words) {
          const t = w.text.trim();
          if (t) words.push({ text: t, ...rounded(box(w.bbox)) });
        }
      }
      paragraph++;
    }
  }
  return { lines, words };
}

function rounded(b: { x: number; y: number; width: number; height: number }): Omit<PageWord, 'text'> {
  const r = (v: number) => Math.round(v * 10) / 10;
  return { x: r(b.x), y: r(b.y), width: r(b.width), height: r(b.height) };
}

/** OCR lines to text: Tesseract's paragraphs, their lines joined as on text-layer pages. */
export function layoutOcrLines(lines: readonly OcrLine[]): string {
  const paragraphs: string[] = [];
  let last = -1;
  for (const line of lines) {
    if (line.paragraph !== last || paragraphs.length === 0) paragraphs.push(line.text);
    else paragraphs[paragraphs.length - 1] = joinLines(paragraphs[paragraphs.length - 1]!, line.text);
    last = line.paragraph;
  }
  return paragraphs.join('\n\n');
}
