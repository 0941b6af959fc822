import { crc32, deflateRawSync } from 'node:zlib';
import { ZipReader } from '../../../main/ingest/zip';

export interface ZipEntrySpec {
  name: string;
  data: Buffer | string;
  /** Store uncompressed (the EPUB mimetype entry must be). */
  store?: boolean;
}

/** Writes a minimal ZIP archive (for building EPUBs, zip bombs and path tricks in tests). */
export function writeZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data, 'utf8');
    const body = e.store ? raw : deflateRawSync(raw);
    const name = Buffer.from(e.name, 'utf8');
    const crc = crc32(raw);
    const method = e.store ? 0 : 8;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** The entries of a ZIP archive (to rebuild it with some of them changed). */
export async function readZipEntries(bytes: Uint8Array): Promise<ZipEntrySpec[]> {
  const zip = await ZipReader.open(bytes);
  try {
    const out: ZipEntrySpec[] = [];
    for (const name of zip.entries.keys()) out.push({ name, data: await zip.read(name) });
    return out;
  } finally {
    zip.close();
  }
}

/** A small valid EPUB 3 whose parts can be swapped for hostile ones. */
export function epubEntries(options: { chapterHref?: string; extra?: ZipEntrySpec[] } = {}): ZipEntrySpec[] {
  const href = options.chapterHref ?? 'ch1.xhtml';
  return [
    { name: 'mimetype', data: 'application/epub+zip', store: true },
    {
      name: 'META-INF/container.xml',
      data: '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>',
    },
    {
      name: 'OEBPS/content.opf',
      data: `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Small Book</dc:title><dc:creator>A. Writer</dc:creator></metadata><manifest><item id="ch1" href="${href}" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="ch1"/></spine></package>`,
    },
    { name: 'OEBPS/ch1.xhtml', data: '<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>One</h1><p>It was a small book with one chapter.</p></body></html>' },
    ...(options.extra ?? []),
  ];
}
