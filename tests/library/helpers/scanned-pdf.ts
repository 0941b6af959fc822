// Image-only PDFs, as a scanner makes them: pages of a real PDF drawn by pdf.js on a
// @napi-rs/canvas canvas, each written as one JPEG that covers a page with no text at all.
import { createCanvas } from '@napi-rs/canvas';
import { readFileSync } from 'node:fs';
import { getDocument, type PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface ScanPage {
  jpeg: Buffer;
  /** Pixel size of the image. */
  pixelWidth: number;
  pixelHeight: number;
  /** Page size in points. */
  width: number;
  height: number;
}

/** Draws pages (1-based) of `file` at `dpi` as JPEG images. */
export async function scanPages(file: string, pageNumbers: number[], dpi = 200): Promise<ScanPage[]> {
  const task = getDocument({ data: new Uint8Array(readFileSync(file)), verbosity: 0, isEvalSupported: false });
  const doc = await task.promise;
  try {
    const out: ScanPage[] = [];
    for (const n of pageNumbers) out.push(await scanPage(await doc.getPage(n), dpi));
    return out;
  } finally {
    await task.destroy();
  }
}

async function scanPage(page: PDFPageProxy, dpi: number): Promise<ScanPage> {
  const base = page.getViewport({ scale: 1 });
  const viewport = page.getViewport({ scale: dpi / 72 });
  const canvas = createCanvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  await page.render({ canvas: null, canvasContext: context as unknown as Parameters<PDFPageProxy['render']>[0]['canvasContext'], viewport }).promise;
  return { jpeg: await canvas.encode('jpeg', 90), pixelWidth: canvas.width, pixelHeight: canvas.height, width: base.width, height: base.height };
}

/** A PDF whose every page is one of `pages`' images stretched over the page: no text layer. */
export function writeImagePdf(pages: ScanPage[]): Buffer {
  const chunks: Buffer[] = [];
  const offsets: number[] = [];
  let length = 0;
  const push = (b: Buffer | string) => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    chunks.push(buf);
    length += buf.length;
  };
  // objects: 1 catalog, 2 pages, then per page: page, content, image
  const objectCount = 2 + 3 * pages.length;
  const object = (n: number, ...body: (Buffer | string)[]) => {
    offsets[n - 1] = length;
    push(`${n} 0 obj\n`);
    body.forEach(push);
    push('\nendobj\n');
  };
  push('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n');
  object(1, '<< /Type /Catalog /Pages 2 0 R >>');
  const kids = pages.map((_, i) => `${3 + 3 * i} 0 R`).join(' ');
  object(2, `<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`);
  pages.forEach((p, i) => {
    const [pageObj, contentObj, imageObj] = [3 + 3 * i, 4 + 3 * i, 5 + 3 * i];
    const content = `q ${p.width} 0 0 ${p.height} 0 0 cm /Im0 Do Q`;
    object(pageObj, `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${p.width} ${p.height}] /Resources << /XObject << /Im0 ${imageObj} 0 R >> >> /Contents ${contentObj} 0 R >>`);
    object(contentObj, `<< /Length ${content.length} >>\nstream\n${content}\nendstream`);
    object(
      imageObj,
      `<< /Type /XObject /Subtype /Image /Width ${p.pixelWidth} /Height ${p.pixelHeight} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length ${p.jpeg.length} >>\nstream\n`,
      p.jpeg,
      '\nendstream',
    );
  });
  const xref = length;
  push(`xref\n0 ${objectCount + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`);
  push(`trailer\n<< /Size ${objectCount + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(chunks);
}
