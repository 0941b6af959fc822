import { DomHandler, Parser, type parseDocument } from 'htmlparser2';

/** Elements whose content is never text for the reader. */
const SKIP = new Set(['script', 'style', 'head', 'template', 'noscript', 'svg', 'math', 'iframe', 'object', 'button', 'select']);
/** Elements that start a new paragraph. */
const BLOCK = new Set([
  'p', 'div', 'section', 'article', 'aside', 'header', 'footer', 'nav', 'main', 'blockquote', 'pre',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'table', 'tr', 'figure',
  'figcaption', 'hr', 'address', 'body', 'html', 'caption', 'center', 'details', 'summary', 'hgroup',
]);
const HEADING = /^h([1-6])$/;

/**
 * Deepest element nesting read. htmlparser2 keeps its open elements in an array it unshifts,
 * so each tag costs as much as the depth: a file of 100,000 unclosed tags took seconds per
 * megabyte. Real books stay far below this; deeper documents are refused.
 */
export const MAX_NESTING_DEPTH = 1000;

/** Thrown by htmlToText when elements nest deeper than MAX_NESTING_DEPTH; readers map it to their typed error. */
export class NestingTooDeep extends Error {
  constructor(readonly limit = MAX_NESTING_DEPTH) {
    super(`its elements are nested more than ${limit} levels deep`);
  }
}

export interface HtmlText {
  text: string;
  /** Offset in `text` of each element id (for EPUB table-of-contents fragments). */
  anchors: Map<string, number>;
  headings: { level: number; title: string; start: number }[];
  /** The <title> element's text. */
  title: string | null;
  /** The content of the first <meta name="author">. */
  author: string | null;
}

/**
 * HTML or XHTML to clean text: paragraphs separated by a blank line, whitespace collapsed
 * (except in <pre>), entities decoded, scripts, styles and images dropped.
 */
export function htmlToText(html: string, options: { xml?: boolean } = {}): HtmlText {
  const paragraphs: string[] = [];
  // The paragraph being built, as pieces: growing one string and looking at its end would
  // flatten it again and again (quadratic in a long paragraph of many small text nodes).
  let pieces: string[] = [];
  let currentLength = 0;
  let lastChar = '';
  let length = 0; // length of paragraphs.join('\n\n') so far
  const anchors = new Map<string, number>();
  const headings: HtmlText['headings'] = [];
  let skipDepth = 0;
  let preDepth = 0;
  let depth = 0;
  let inTitle = false;
  let title = '';
  let author: string | null = null;
  const openHeadings: { level: number }[] = [];
  const pendingAnchors: string[] = [];

  const add = (s: string) => {
    if (s.length === 0) return;
    pieces.push(s);
    currentLength += s.length;
    lastChar = s[s.length - 1]!;
  };
  /** The paragraph so far, as one string (kept as the only piece). */
  const current = (): string => {
    if (pieces.length > 1) pieces = [pieces.join('')];
    return pieces[0] ?? '';
  };
  const clear = () => {
    pieces = [];
    currentLength = 0;
    lastChar = '';
  };
  const flush = () => {
    const raw = current();
    const p = preDepth > 0 ? trimPre(raw) : raw.trim();
    if (p.length > 0) {
      length += (paragraphs.length > 0 ? 2 : 0) + p.length;
      paragraphs.push(p);
    }
    clear();
  };
  const append = (s: string) => {
    const before = currentLength;
    let added = s;
    if (preDepth === 0) {
      added = s.replace(/\s+/g, ' ');
      if ((currentLength === 0 || lastChar === ' ' || lastChar === '\n') && added.startsWith(' ')) added = added.slice(1);
    }
    add(added);
    if (pendingAnchors.length > 0) {
      const lead = added.length - added.trimStart().length;
      if (lead < added.length) {
        // an anchor points at the first text after it
        const at = length + (paragraphs.length > 0 ? 2 : 0) + before + lead;
        for (const id of pendingAnchors.splice(0)) if (!anchors.has(id)) anchors.set(id, at);
      }
    }
  };
  const lineBreak = () => {
    if (preDepth === 0 && lastChar === ' ') {
      const last = pieces.pop()!.slice(0, -1);
      currentLength--;
      if (last.length > 0) pieces.push(last);
      const tail = pieces[pieces.length - 1];
      lastChar = tail ? tail[tail.length - 1]! : '';
    }
    add('\n');
  };

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        const tag = name.toLowerCase();
        if (++depth > MAX_NESTING_DEPTH) throw new NestingTooDeep();
        if (tag === 'meta' && author === null && attrs.name?.toLowerCase() === 'author' && attrs.content?.trim()) author = attrs.content.trim();
        if (tag === 'title' && skipDepth <= 1) inTitle = true;
        if (SKIP.has(tag)) {
          skipDepth++;
          return;
        }
        if (skipDepth > 0) return;
        if (BLOCK.has(tag)) flush();
        if (tag === 'pre') preDepth++;
        if (tag === 'br') lineBreak();
        if (tag === 'td' || tag === 'th') append(' ');
        const id = attrs.id ?? (tag === 'a' ? attrs.name : undefined);
        if (id) pendingAnchors.push(id);
        const h = HEADING.exec(tag);
        if (h) openHeadings.push({ level: Number(h[1]) });
      },
      ontext(data) {
        if (inTitle) title += data;
        if (skipDepth > 0) return;
        append(data);
      },
      onclosetag(name) {
        const tag = name.toLowerCase();
        depth--;
        if (tag === 'title') inTitle = false;
        if (SKIP.has(tag)) {
          skipDepth = Math.max(0, skipDepth - 1);
          return;
        }
        if (skipDepth > 0) return;
        if (tag === 'pre') preDepth = Math.max(0, preDepth - 1);
        const h = HEADING.exec(tag);
        if (h && openHeadings.length > 0) {
          const open = openHeadings.pop()!;
          const headingText = current().trim();
          flush();
          if (headingText.length > 0) headings.push({ level: open.level, title: headingText.replace(/\s+/g, ' '), start: length - headingText.length });
        } else if (BLOCK.has(tag)) flush();
      },
    },
    { decodeEntities: true, xmlMode: options.xml ?? false, lowerCaseTags: !options.xml, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  flush();
  const text = paragraphs.join('\n\n');
  // Anchors never seen before text (at the very end) point at the end.
  for (const id of pendingAnchors) if (!anchors.has(id)) anchors.set(id, text.length);
  const cleanTitle = title.replace(/\s+/g, ' ').trim();
  return { text, anchors, headings, title: cleanTitle.length > 0 ? cleanTitle : null, author };
}

/** A <pre> paragraph: leading blank lines and trailing whitespace dropped (without a backtracking regex). */
function trimPre(s: string): string {
  let start = 0;
  while (s[start] === '\n') start++;
  return s.slice(start).trimEnd();
}

/** An XML document (an EPUB's package parts, a Word document's properties) as a tree, refused (NestingTooDeep) past MAX_NESTING_DEPTH before the tree grows deeper. */
export function parseXml(text: string): ReturnType<typeof parseDocument> {
  const handler = new DepthCappedHandler(undefined, { xmlMode: true });
  new Parser(handler, { xmlMode: true }).end(text);
  return handler.root;
}

/** Throws NestingTooDeep when the elements of an XML document nest past MAX_NESTING_DEPTH (read once, no tree built). */
export function checkXmlDepth(text: string): void {
  let depth = 0;
  new Parser(
    {
      onopentag() {
        if (++depth > MAX_NESTING_DEPTH) throw new NestingTooDeep();
      },
      onclosetag() {
        depth--;
      },
    },
    { xmlMode: true },
  ).end(text);
}

class DepthCappedHandler extends DomHandler {
  private depth = 0;

  override onopentag(name: string, attribs: Record<string, string>): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw new NestingTooDeep();
    super.onopentag(name, attribs);
  }

  override onclosetag(): void {
    this.depth--;
    super.onclosetag();
  }
}
