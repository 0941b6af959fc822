import mammoth from 'mammoth';
import { DomUtils } from 'htmlparser2';
import { throwIfAborted } from '../../common/errors';
import { ingestError } from './errors';
import { checkXmlDepth, htmlToText, NestingTooDeep, parseXml } from './htmltext';
import type { ReadOptions, ReadResult } from './types';
import { ZipProblem, ZipReader, type ZipLimits } from './zip';

/** An OLE compound file (D0 CF 11 E0 A1 B1 1A E1): what Office writes for a password-protected .docx, and for old .doc files. */
const OLE_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
/** The stream an encrypted OOXML package keeps its key data in, as its UTF-16 directory name. */
const ENCRYPTION_INFO = Buffer.from('EncryptionInfo', 'utf16le');

export function isOleFile(bytes: Uint8Array): boolean {
  return bytes.length >= OLE_MAGIC.length && OLE_MAGIC.equals(Buffer.from(bytes.buffer, bytes.byteOffset, OLE_MAGIC.length));
}

/**
 * Word (.docx, Office Open XML): mammoth turns the body into HTML (headings from the Heading n
 * styles, lists, tables, footnotes), which becomes text like any HTML page. The archive is opened
 * first with the bounded reader (zip.ts) so a damaged or hostile file is refused before mammoth
 * unpacks it; pictures are never unpacked.
 */
export async function readDocx(file: string, bytes: Uint8Array, options: ReadOptions & { zipLimits?: ZipLimits } = {}): Promise<ReadResult> {
  throwIfAborted(options.signal, 'Reading the file');
  if (isOleFile(bytes)) {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buffer.includes(ENCRYPTION_INFO)) {
      throw ingestError('docx-encrypted', file, 'this Word document is protected with a password (encrypted); open it in Word, remove the password (File > Info > Protect Document) and save it again.');
    }
    throw ingestError('docx-corrupt', file, 'this is an older Word (.doc) or other Office file, not a .docx; open it in Word or LibreOffice and save it as .docx.');
  }
  const corrupt = (problem: string, cause?: unknown) => ingestError('docx-corrupt', file, `this Word document is damaged or incomplete (${problem}).`, cause);
  let core: Buffer | null = null;
  let zip: ZipReader | null = null;
  try {
    zip = await ZipReader.open(bytes, options.zipLimits);
    if (!zip.has('word/document.xml')) throw corrupt('word/document.xml is missing');
    // Reading the parts mammoth will read applies the size and ratio limits to them; their
    // nesting is capped before mammoth (whose XML tree is walked recursively) sees them.
    for (const name of zip.entries.keys()) {
      if (/\.(xml|rels)$/i.test(name) && !name.startsWith('customXml/')) {
        const data = await zip.read(name);
        if (name === 'docProps/core.xml') core = data;
        checkXmlDepth(data.toString('utf8'));
      }
    }
  } catch (e) {
    if (e instanceof NestingTooDeep) throw corrupt(e.message, e);
    if (e instanceof ZipProblem) {
      throw e.kind === 'unsafe'
        ? ingestError('docx-corrupt', file, `this Word document was rejected because ${e.message}.`, e)
        : corrupt(bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b ? e.message : 'it is not a ZIP archive, which every .docx is', e);
    }
    throw e;
  } finally {
    zip?.close();
  }

  throwIfAborted(options.signal, 'Reading the file');
  let pictures = 0;
  let html: string;
  try {
    const result = await mammoth.convertToHtml(
      { buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) },
      {
        externalFileAccess: false,
        // the Title paragraph names the document; it is not a chapter
        styleMap: ["p[style-name='Title'] => p.title:fresh", "p[style-name='Subtitle'] => p:fresh"],
        convertImage: mammoth.images.imgElement(async () => {
          pictures++;
          return { src: '' };
        }),
      },
    );
    html = result.value;
  } catch (e) {
    throw corrupt(e instanceof Error ? e.message : String(e), e);
  }
  throwIfAborted(options.signal, 'Reading the file');
  let parsed: ReturnType<typeof htmlToText>;
  try {
    parsed = htmlToText(markListsAndTables(html));
  } catch (e) {
    if (e instanceof NestingTooDeep) throw ingestError('document-too-complex', file, `this Word document cannot be read: ${e.message}.`, e);
    throw e;
  }
  const meta = core ? coreProperties(core) : { title: null, author: null };
  const titleParagraph = /<p class="title">(.*?)<\/p>/s.exec(html)?.[1];
  const styledTitle = titleParagraph ? htmlToText(`<p>${titleParagraph}</p>`).text || null : null;
  options.onProgress?.(1, 1);
  return {
    type: 'docx',
    title: meta.title ?? styledTitle ?? parsed.headings.find((h) => h.level === 1)?.title ?? null,
    author: meta.author,
    text: parsed.text.normalize('NFC'),
    sectionStarts: parsed.headings,
    pageKind: 'virtual',
    warnings: pictures > 0 ? [`The document has ${pictures} picture${pictures === 1 ? '' : 's'}; only its text is read.`] : [],
  };
}

/**
 * Keeps what HTML-to-text would lose from mammoth's (regular, escaped) output: list items get
 * their bullet or number, and a table row becomes one line with its cells separated by " | ".
 */
export function markListsAndTables(html: string): string {
  const lists: { ordered: boolean; n: number }[] = [];
  let cellDepth = 0;
  let cellsInRow: number[] = [];
  return html.replace(/<(\/?)([a-zA-Z0-9]+)\b[^>]*>/g, (tag, close: string, rawName: string) => {
    const name = rawName.toLowerCase();
    if (name === 'ul' || name === 'ol') {
      if (close) lists.pop();
      else lists.push({ ordered: name === 'ol', n: 0 });
      return tag;
    }
    if (name === 'li' && !close) {
      const list = lists[lists.length - 1];
      if (!list) return tag;
      list.n++;
      return `${tag}${list.ordered ? `${list.n}. ` : '• '}`;
    }
    if (name === 'tr') {
      if (close) cellsInRow.pop();
      else cellsInRow.push(0);
      return tag;
    }
    if (name === 'td' || name === 'th') {
      if (close) {
        cellDepth = Math.max(0, cellDepth - 1);
        return ' ';
      }
      cellDepth++;
      const row = cellsInRow.length - 1;
      const before = row >= 0 ? cellsInRow[row]!++ : 0;
      return before > 0 ? ' | ' : ' ';
    }
    // inside a cell, its paragraphs and line breaks run on one line
    if (cellDepth > 0 && (name === 'p' || name === 'br' || /^h[1-6]$/.test(name))) return ' ';
    return tag;
  });
}

function coreProperties(xml: Buffer): { title: string | null; author: string | null } {
  const doc = parseXml(xml.toString('utf8')); // its depth was checked with the other parts
  const field = (name: string) => {
    const el = DomUtils.findOne((e) => e.name === name || e.name.endsWith(`:${name}`), doc.children);
    const value = el ? DomUtils.textContent(el).replace(/\s+/g, ' ').trim() : '';
    return value.length > 0 ? value : null;
  };
  return { title: field('title'), author: field('creator') };
}
