import path from 'node:path/posix';
import { DomUtils, type parseDocument } from 'htmlparser2';
import { throwIfAborted } from '../../common/errors';
import { ingestError } from './errors';
import { checkTextLength, FileProblem } from './errors';
import { htmlToText, NestingTooDeep, parseXml } from './htmltext';
import type { SectionStart } from './pagination';
import type { ReadOptions, ReadResult } from './types';
import { ZipProblem, ZipReader, type ZipLimits } from './zip';

type Element = ReturnType<typeof DomUtils.findAll>[number];

interface TocEntry {
  title: string;
  level: number;
  /** Archive path of the content document. */
  file: string;
  fragment: string | null;
}

/**
 * EPUB 2 and 3: spine order, chapter titles from the EPUB 3 navigation document or the EPUB 2
 * NCX, each XHTML document to clean text. Archive reads are bounded (see zip.ts).
 */
export async function readEpub(file: string, bytes: Uint8Array, options: ReadOptions & { zipLimits?: ZipLimits } = {}): Promise<ReadResult> {
  let zip: ZipReader | null = null;
  try {
    zip = await ZipReader.open(bytes, options.zipLimits);
    return await readPackage(file, zip, options);
  } catch (e) {
    if (e instanceof ZipProblem) {
      throw e.kind === 'unsafe'
        ? ingestError('epub-unsafe', file, `this EPUB was rejected because ${e.message}.`, e)
        : ingestError('epub-corrupt', file, `this EPUB is damaged or incomplete (${e.message}).`, e);
    }
    if (e instanceof NestingTooDeep) throw ingestError('epub-corrupt', file, `this EPUB is damaged: ${e.message}.`, e);
    if (e instanceof FileProblem) throw ingestError(e.code, file, e.problem, e);
    throw e;
  } finally {
    zip?.close();
  }
}

async function readPackage(file: string, zip: ZipReader, options: ReadOptions): Promise<ReadResult> {
  const corrupt = (problem: string) => ingestError('epub-corrupt', file, `this EPUB is damaged or incomplete: ${problem}.`);
  if (!zip.has('META-INF/container.xml')) throw corrupt('META-INF/container.xml is missing');
  const container = xml(await zip.read('META-INF/container.xml'));
  const opfPath = byLocalName(container, 'rootfile')[0]?.attribs['full-path'];
  if (!opfPath || !zip.has(opfPath)) throw corrupt('the package document named in container.xml is missing');
  const opf = xml(await zip.read(opfPath));
  const base = path.dirname(opfPath);
  const resolve = (from: string, href: string) => resolveHref(from, href);

  await rejectDrm(file, zip);

  const manifest = new Map<string, { href: string; type: string; properties: string }>();
  for (const item of byLocalName(opf, 'item')) {
    const { id, href } = item.attribs;
    if (id && href && !/^[a-z][a-z0-9+.-]*:/i.test(href)) manifest.set(id, { href: resolve(base, href).file, type: item.attribs['media-type'] ?? '', properties: item.attribs.properties ?? '' });
  }
  const spineEl = byLocalName(opf, 'spine')[0];
  const navItem = [...manifest.values()].find((m) => m.properties.split(/\s+/).includes('nav'));
  const ncxItem = (spineEl?.attribs.toc && manifest.get(spineEl.attribs.toc)) || [...manifest.values()].find((m) => m.type === 'application/x-dtbncx+xml');
  const spine = byLocalName(opf, 'itemref')
    .filter((ref) => ref.attribs.linear !== 'no')
    .map((ref) => manifest.get(ref.attribs.idref ?? ''))
    .filter((m): m is NonNullable<typeof m> => m !== undefined && m !== navItem && /x?html|xml/.test(m.type));
  if (spine.length === 0) throw corrupt('its reading order (spine) lists no documents');

  const warnings: string[] = [];
  const parts: string[] = [];
  const fileStart = new Map<string, number>();
  const anchors = new Map<string, number>();
  const headings: SectionStart[] = [];
  let pos = 0;
  let repeated = 0;
  for (let i = 0; i < spine.length; i++) {
    throwIfAborted(options.signal, 'Reading the EPUB');
    const item = spine[i]!;
    // each chapter file is read once, however often the reading order lists it
    if (fileStart.has(item.href)) {
      repeated++;
      continue;
    }
    if (!zip.has(item.href)) {
      warnings.push(`The chapter file ${item.href} listed in the book is missing; it was skipped.`);
      continue;
    }
    const html = htmlToText((await zip.read(item.href)).toString('utf8'), { xml: true });
    const offset = pos + (parts.length > 0 && html.text ? 2 : 0);
    fileStart.set(item.href, html.text ? offset : pos);
    for (const [id, at] of html.anchors) anchors.set(`${item.href}#${id}`, offset + at);
    for (const h of html.headings) headings.push({ title: h.title, level: h.level, start: offset + h.start });
    if (html.text) {
      parts.push(html.text);
      pos = offset + html.text.length;
      checkTextLength(pos);
    }
    options.onProgress?.(i + 1, spine.length);
  }
  if (repeated > 0) warnings.push(`The reading order lists chapter files more than once (${repeated} repeats); each was read once.`);
  const text = parts.join('\n\n').normalize('NFC');

  let toc: TocEntry[] = [];
  if (navItem && zip.has(navItem.href)) toc = navToc(xml(await zip.read(navItem.href)), navItem.href);
  if (toc.length === 0 && ncxItem && zip.has(ncxItem.href)) toc = ncxToc(xml(await zip.read(ncxItem.href)), ncxItem.href);
  const sectionStarts: SectionStart[] = [];
  for (const entry of toc) {
    const start = (entry.fragment ? anchors.get(`${entry.file}#${entry.fragment}`) : undefined) ?? fileStart.get(entry.file);
    if (start !== undefined) sectionStarts.push({ title: entry.title, level: entry.level, start });
  }
  if (toc.length === 0) warnings.push('The book has no table of contents; sections come from its headings.');

  const meta = (name: string) => {
    const el = byLocalName(opf, name)[0];
    const value = el ? textOf(el) : '';
    return value.length > 0 ? value : null;
  };
  return {
    type: 'epub',
    title: meta('title'),
    author: meta('creator'),
    text,
    sectionStarts: sectionStarts.length > 0 ? sectionStarts : headings.filter((h) => h.level <= 2),
    pageKind: 'virtual',
    warnings,
  };
}

function navToc(doc: ReturnType<typeof parseDocument>, navPath: string): TocEntry[] {
  const navs = byLocalName(doc, 'nav');
  const nav = navs.find((n) => /\btoc\b/.test(n.attribs['epub:type'] ?? n.attribs.role ?? '')) ?? navs[0];
  if (!nav) return [];
  const out: TocEntry[] = [];
  // Depth first in document order with a stack of work (lists to open, entries to emit):
  // a deeply nested <ol> must not overflow the call stack.
  type Work = { list: Element; level: number } | { entry: Element; level: number };
  const stack: Work[] = childElements(nav, 'ol').reverse().map((list) => ({ list, level: 1 }));
  while (stack.length > 0) {
    const work = stack.pop()!;
    if ('entry' in work) {
      out.push({ title: textOf(work.entry), level: work.level, ...resolveHref(path.dirname(navPath), work.entry.attribs.href!) });
      continue;
    }
    const items = childElements(work.list, 'li');
    for (let k = items.length - 1; k >= 0; k--) {
      const li = items[k]!;
      const subLists = childElements(li, 'ol');
      for (let m = subLists.length - 1; m >= 0; m--) stack.push({ list: subLists[m]!, level: work.level + 1 });
      const a = li.children.filter(isElement).find((c) => localName(c) === 'a' || localName(c) === 'span');
      if (a?.attribs.href) stack.push({ entry: a, level: work.level });
    }
  }
  return out;
}

function ncxToc(doc: ReturnType<typeof parseDocument>, ncxPath: string): TocEntry[] {
  const out: TocEntry[] = [];
  const navMap = byLocalName(doc, 'navMap')[0];
  if (!navMap) return out;
  const stack: { point: Element; level: number }[] = childElements(navMap, 'navPoint').reverse().map((point) => ({ point, level: 1 }));
  while (stack.length > 0) {
    const { point, level } = stack.pop()!;
    const label = childElements(point, 'navLabel').flatMap((l) => childElements(l, 'text'))[0];
    const src = childElements(point, 'content')[0]?.attribs.src;
    if (label && src) out.push({ title: textOf(label), level, ...resolveHref(path.dirname(ncxPath), src) });
    const children = childElements(point, 'navPoint');
    for (let k = children.length - 1; k >= 0; k--) stack.push({ point: children[k]!, level: level + 1 });
  }
  return out;
}

function childElements(el: Element, name: string): Element[] {
  return el.children.filter(isElement).filter((c) => localName(c) === name);
}

/** An element's text, whitespace collapsed (iteratively: DomUtils.textContent recurses). */
function textOf(el: Element): string {
  let text = '';
  const stack: unknown[] = [el];
  while (stack.length > 0) {
    const node = stack.pop() as { type: string; data?: string; children?: unknown[] };
    if (node.type === 'text') text += node.data ?? '';
    else if (node.children && node.type !== 'comment') for (let k = node.children.length - 1; k >= 0; k--) stack.push(node.children[k]);
  }
  return text.replace(/\s+/g, ' ').trim();
}

/** EPUBs whose content documents are encrypted (DRM) cannot be read; font obfuscation is fine. */
async function rejectDrm(file: string, zip: ZipReader): Promise<void> {
  if (!zip.has('META-INF/encryption.xml')) return;
  const doc = xml(await zip.read('META-INF/encryption.xml'));
  const encrypted = byLocalName(doc, 'CipherReference').map((c) => c.attribs.URI ?? '');
  if (encrypted.some((uri) => /\.(x?html?|xml)$/i.test(uri))) {
    throw ingestError('unsupported-type', file, 'this EPUB is protected by DRM (its chapters are encrypted) and cannot be read.');
  }
}

/**
 * Resolves an href inside the archive; hrefs that climb out of the archive root are unsafe.
 * Links to the web (http:, mailto:, …) resolve to no file.
 */
function resolveHref(fromDir: string, href: string): { file: string; fragment: string | null } {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return { file: '', fragment: null };
  const [rawPath = '', fragment] = href.split('#', 2);
  let decoded = rawPath;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    // keep it as written
  }
  const joined = path.normalize(path.join(fromDir === '.' ? '' : fromDir, decoded));
  if (joined.startsWith('../') || joined === '..' || path.isAbsolute(decoded)) {
    throw new ZipProblem('unsafe', `it refers to "${href}", outside the book`);
  }
  return { file: joined, fragment: fragment ?? null };
}

/** An XML document of the package (depth-capped: see parseXml). */
function xml(buffer: Buffer): ReturnType<typeof parseDocument> {
  return parseXml(buffer.toString('utf8'));
}

function localName(el: Element): string {
  const i = el.name.indexOf(':');
  return i >= 0 ? el.name.slice(i + 1) : el.name;
}

function isElement(node: unknown): node is Element {
  return typeof node === 'object' && node !== null && (node as Element).type === 'tag';
}

function byLocalName(root: Parameters<typeof DomUtils.findAll>[1] | ReturnType<typeof parseDocument> | Element, name: string): Element[] {
  const children = 'children' in root ? root.children : root;
  return DomUtils.findAll((el) => localName(el) === name, children as Parameters<typeof DomUtils.findAll>[1]);
}
