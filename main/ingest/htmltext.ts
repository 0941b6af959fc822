import { Parser } from 'htmlparser2';

/** Elements whose content is never text for the reader. */
const SKIP = new Set(['script', 'style', 'head', 'template', 'noscript', 'svg', 'math', 'iframe', 'object', 'button', 'select']);
/** Elements that start a new paragraph. */
const BLOCK = new Set([
  'p', 'div', 'section', 'article', 'aside', 'header', 'footer', 'nav', 'main', 'blockquote', 'pre',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'li', 'dl', 'dt', 'dd', 'table', 'tr', 'figure',
  'figcaption', 'hr', 'address', 'body', 'html', 'caption', 'center', 'details', 'summary', 'hgroup',
]);
const HEADING = /^h([1-6])$/;

export interface HtmlText {
  text: string;
  /** Offset in `text` of each element id (for EPUB table-of-contents fragments). */
  anchors: Map<string, number>;
  headings: { level: number; title: string; start: number }[];
  /** The <title> element's text. */
  title: string | null;
}

/**
 * HTML or XHTML to clean text: paragraphs separated by a blank line, whitespace collapsed
 * (except in <pre>), entities decoded, scripts, styles and images dropped.
 */
export function htmlToText(html: string, options: { xml?: boolean } = {}): HtmlText {
  const paragraphs: string[] = [];
  let current = '';
  let length = 0; // length of paragraphs.join('\n\n') so far
  const anchors = new Map<string, number>();
  const headings: HtmlText['headings'] = [];
  let skipDepth = 0;
  let preDepth = 0;
  let inTitle = false;
  let title = '';
  const openHeadings: { level: number }[] = [];
  const pendingAnchors: string[] = [];

  const flush = () => {
    const p = preDepth > 0 ? current.replace(/^\n+|\s+$/g, '') : current.trim();
    if (p.length > 0) {
      length += (paragraphs.length > 0 ? 2 : 0) + p.length;
      paragraphs.push(p);
    }
    current = '';
  };
  const append = (s: string) => {
    const before = current.length;
    if (preDepth > 0) current += s;
    else {
      const collapsed = s.replace(/\s+/g, ' ');
      current += current.length === 0 || current.endsWith(' ') || current.endsWith('\n') ? collapsed.replace(/^ /, '') : collapsed;
    }
    if (pendingAnchors.length > 0) {
      const added = current.slice(before);
      const lead = added.length - added.trimStart().length;
      if (lead < added.length) {
        // an anchor points at the first text after it
        const at = length + (paragraphs.length > 0 ? 2 : 0) + before + lead;
        for (const id of pendingAnchors.splice(0)) if (!anchors.has(id)) anchors.set(id, at);
      }
    }
  };

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        const tag = name.toLowerCase();
        if (tag === 'title' && skipDepth <= 1) inTitle = true;
        if (SKIP.has(tag)) {
          skipDepth++;
          return;
        }
        if (skipDepth > 0) return;
        if (BLOCK.has(tag)) flush();
        if (tag === 'pre') preDepth++;
        if (tag === 'br') {
          if (preDepth > 0) current += '\n';
          else current = current.replace(/ $/, '') + '\n';
        }
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
          const headingText = current.trim();
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
  return { text, anchors, headings, title: cleanTitle.length > 0 ? cleanTitle : null };
}
