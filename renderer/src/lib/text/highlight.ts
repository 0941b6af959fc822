/** A run of text and whether it is highlighted (rendered as escaped text, never as HTML). */
export interface Segment {
  text: string;
  marked: boolean;
}

/** Cuts `text` (which starts at offset `base` of the document) around the highlighted range. */
export function segments(text: string, base: number, range: { start: number; end: number } | null | undefined): Segment[] {
  if (!range) return [{ text, marked: false }];
  const a = Math.max(0, Math.min(text.length, range.start - base));
  const b = Math.max(a, Math.min(text.length, range.end - base));
  if (a === b) return [{ text, marked: false }];
  return [
    { text: text.slice(0, a), marked: false },
    { text: text.slice(a, b), marked: true },
    { text: text.slice(b), marked: false },
  ].filter((s) => s.text.length > 0);
}

/** Letters and digits only, lower case: PDF text layers and extracted text differ in spaces, hyphens and line breaks. */
function isWordChar(ch: string): boolean {
  return /[\p{L}\p{N}]/u.test(ch);
}

export function normalizeForMatch(s: string): string {
  let out = '';
  for (const ch of s) if (isWordChar(ch)) out += ch.toLowerCase();
  return out;
}

interface Position {
  node: Text;
  offset: number;
}

/**
 * Finds `quote` in the text nodes under `root` (ignoring spacing and punctuation) and wraps the
 * match in `<mark>` elements by splitting text nodes. Tries the whole quote, then its start and
 * its end. Returns the marks (empty when the passage is not there).
 */
export function highlightQuote(root: HTMLElement, quote: string, className = 'hl'): HTMLElement[] {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const positions: Position[] = [];
  let haystack = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const node = n as Text;
    const value = node.data;
    for (let i = 0; i < value.length; i++) {
      const ch = value[i]!;
      if (!isWordChar(ch)) continue;
      const lower = ch.toLowerCase();
      for (let k = 0; k < lower.length; k++) positions.push({ node, offset: i });
      haystack += lower;
    }
  }
  const needle = normalizeForMatch(quote);
  if (!needle || !haystack) return [];
  let at = haystack.indexOf(needle);
  let length = needle.length;
  if (at < 0 && needle.length > 24) {
    for (const part of [needle.slice(0, Math.min(80, Math.floor(needle.length / 2))), needle.slice(-Math.min(80, Math.floor(needle.length / 2)))]) {
      at = haystack.indexOf(part);
      if (at >= 0) {
        length = part.length;
        break;
      }
    }
  }
  if (at < 0) return [];
  const first = positions[at]!;
  const last = positions[at + length - 1]!;
  return wrapRange(root, first, { node: last.node, offset: last.offset + 1 }, className);
}

/** Wraps every text node piece between two positions in a mark. */
function wrapRange(root: HTMLElement, from: Position, to: Position, className: string): HTMLElement[] {
  const nodes: Text[] = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let inside = false;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n === from.node) inside = true;
    if (inside) nodes.push(n as Text);
    if (n === to.node) break;
  }
  const marks: HTMLElement[] = [];
  for (const node of nodes) {
    const a = node === from.node ? from.offset : 0;
    const b = node === to.node ? to.offset : node.data.length;
    if (b <= a) continue;
    let middle = node;
    if (a > 0) middle = node.splitText(a);
    if (b - a < middle.data.length) middle.splitText(b - a);
    const mark = document.createElement('mark');
    mark.className = className;
    middle.replaceWith(mark);
    mark.append(middle);
    marks.push(mark);
  }
  return marks;
}

/** Removes marks made by `highlightQuote`, joining the text back. */
export function clearHighlights(root: HTMLElement, className = 'hl'): void {
  for (const mark of root.querySelectorAll(`mark.${className}`)) {
    const parent = mark.parentNode;
    mark.replaceWith(...mark.childNodes);
    parent?.normalize();
  }
}
