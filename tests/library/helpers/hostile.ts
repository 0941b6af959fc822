import { LongreadError } from '../../../common/errors';
import type { IngestedDocument } from '../../../common/document';
import { hashBytes, ingestSource } from '../../../main/ingest/index';
import { writeZip, type ZipEntrySpec } from './zip-writer';

/** What reading some bytes ended with, and the CPU time it took (CPU, not wall clock: the machine is shared). */
export interface Outcome {
  doc: IngestedDocument | null;
  error: LongreadError | null;
  cpuSeconds: number;
}

/**
 * Reads bytes as a file of that name on this thread. Anything but a document or a typed
 * LongreadError (a RangeError, a TypeError from a library) is rethrown: that is a bug.
 */
export async function readBytes(name: string, bytes: Uint8Array): Promise<Outcome> {
  const source = { path: `/tmp/hostile/${name}`, bytes, hash: hashBytes(bytes), size: bytes.length, mtimeMs: 0 };
  const before = process.cpuUsage();
  let doc: IngestedDocument | null = null;
  let error: LongreadError | null = null;
  try {
    doc = await ingestSource(source);
  } catch (e) {
    if (!(e instanceof LongreadError)) throw e;
    error = e;
  }
  const used = process.cpuUsage(before);
  return { doc, error, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** An EPUB 3 archive from its parts: package document items, spine, nav document and chapter files. */
export function buildEpub(parts: {
  manifest?: string;
  spine?: string;
  nav?: string;
  ncx?: string;
  files?: ZipEntrySpec[];
}): Buffer {
  const manifest =
    parts.manifest ??
    '<item id="ch1" href="ch1.xhtml" media-type="application/xhtml+xml"/>' +
      (parts.nav ? '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>' : '') +
      (parts.ncx ? '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>' : '');
  const entries: ZipEntrySpec[] = [
    { name: 'mimetype', data: 'application/epub+zip', store: true },
    {
      name: 'META-INF/container.xml',
      data: '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
    },
    {
      name: 'OEBPS/content.opf',
      data: `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Hostile</dc:title></metadata><manifest>${manifest}</manifest><spine${parts.ncx ? ' toc="ncx"' : ''}>${parts.spine ?? '<itemref idref="ch1"/>'}</spine></package>`,
    },
    ...(parts.files ?? [{ name: 'OEBPS/ch1.xhtml', data: '<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>One</h1><p>A chapter of text.</p></body></html>' }]),
  ];
  if (parts.nav) entries.push({ name: 'OEBPS/nav.xhtml', data: parts.nav });
  if (parts.ncx) entries.push({ name: 'OEBPS/toc.ncx', data: parts.ncx });
  return writeZip(entries);
}

/** A Word document (.docx) with the least the format needs around `body`, the WordprocessingML inside <w:body>; `extra` parts added as given. */
export function buildDocx(body: string, extra: ZipEntrySpec[] = []): Buffer {
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  return writeZip([
    {
      name: '[Content_Types].xml',
      data: '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    },
    {
      name: '_rels/.rels',
      data: '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
    },
    { name: 'word/document.xml', data: `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>` },
    ...extra,
  ]);
}

/** A WordprocessingML paragraph of plain text. */
export function docxParagraph(text: string): string {
  return `<w:p><w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`;
}

/** A navigation document whose table of contents nests `depth` lists. */
export function deepNav(depth: number): string {
  const open = '<ol><li><a href="ch1.xhtml">Level</a>';
  return `<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><body><nav epub:type="toc">${open.repeat(depth)}${'</li></ol>'.repeat(depth)}</nav></body></html>`;
}

/** An NCX whose navPoints nest `depth` levels. */
export function deepNcx(depth: number): string {
  const open = '<navPoint><navLabel><text>Level</text></navLabel><content src="ch1.xhtml"/>';
  return `<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><navMap>${open.repeat(depth)}${'</navPoint>'.repeat(depth)}</navMap></ncx>`;
}

/** Seeded pseudo-random numbers in [0, 1) (mulberry32): the same inputs on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Prose-like words that compress only a few times (so a chapter is not refused as a bomb by itself). */
export function words(chars: number, rnd: () => number): string {
  const parts: string[] = [];
  let n = 0;
  while (n < chars) {
    const len = 2 + Math.floor(rnd() * 8);
    let w = '';
    for (let i = 0; i < len; i++) w += String.fromCharCode(97 + Math.floor(rnd() * 26));
    parts.push(w);
    n += w.length + 1;
  }
  return parts.join(' ').slice(0, chars);
}
