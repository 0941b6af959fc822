/** One line of text drawn at (x, y) in points, in the order given (the content-stream order). */
export interface PdfTextRun {
  x: number;
  y: number;
  text: string;
  size?: number;
}

/**
 * Writes a minimal valid PDF (Helvetica, one content stream per page) for layout tests.
 * Pages listed in `imagePages` (1-based) are also covered by an image, as a scan would be.
 */
export function writePdf(pages: PdfTextRun[][], options: { width?: number; height?: number; imagePages?: number[] } = {}): Buffer {
  const width = options.width ?? 612;
  const height = options.height ?? 792;
  const objects: string[] = [];
  const add = (body: string) => objects.push(body) - 1 + 1; // 1-based object number
  const catalog = add('');
  const pagesObj = add('');
  const font = add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  const image = add('<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 4 >>\nstream\n\x20\x80\x80\x20\nendstream');
  const kids: number[] = [];
  for (const [i, runs] of pages.entries()) {
    const esc = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
    const scan = options.imagePages?.includes(i + 1) ? [`q ${width} 0 0 ${height} 0 0 cm /Im1 Do Q`] : [];
    const content = [...scan, ...runs.map((r) => `BT /F1 ${r.size ?? 10} Tf ${r.x} ${r.y} Td (${esc(r.text)}) Tj ET`)].join('\n');
    const stream = add(`<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`);
    kids.push(add(`<< /Type /Page /Parent ${pagesObj} 0 R /MediaBox [0 0 ${width} ${height}] /Resources << /Font << /F1 ${font} 0 R >> /XObject << /Im1 ${image} 0 R >> >> /Contents ${stream} 0 R >>`));
  }
  objects[catalog - 1] = `<< /Type /Catalog /Pages ${pagesObj} 0 R >>`;
  objects[pagesObj - 1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root ${catalog} 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
