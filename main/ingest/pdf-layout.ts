/**
 * Page text layout from pdf.js text items: items become lines (in content-stream order,
 * which is reading order for nearly all producers, including two-column LaTeX papers),
 * lines become paragraphs, and lines repeated at the top or bottom of many pages
 * (running headers, footers, page numbers) are dropped.
 */

export interface PdfLine {
  text: string;
  /** Baseline position in page space (bigger y is higher on the page). */
  x: number;
  y: number;
  /** Font size. */
  size: number;
  /** Right end of the line. */
  xEnd: number;
}

interface TextItemLike {
  str?: string;
  transform?: number[];
  width?: number;
  height?: number;
  hasEOL?: boolean;
  dir?: string;
}

/** Counts of characters pdf.js could and could not map to Unicode on a page. */
export interface GlyphStats {
  mapped: number;
  unmapped: number;
}

export function pdfLinesOf(items: readonly unknown[], stats: GlyphStats = { mapped: 0, unmapped: 0 }): PdfLine[] {
  const lines: PdfLine[] = [];
  let cur: PdfLine | null = null;
  let lastY = 0;
  const close = () => {
    if (cur && cur.text.trim().length > 0) lines.push({ ...cur, text: cur.text.replace(/\s+/g, ' ').trim() });
    cur = null;
  };
  for (const raw of items) {
    const item = raw as TextItemLike;
    if (typeof item.str !== 'string' || !item.transform) continue;
    // fonts without a Unicode map yield control characters: never text
    const str = item.str.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
    stats.unmapped += item.str.length - str.length;
    stats.mapped += str.replace(/\s/g, '').length;
    const [a = 1, b = 0, c = 0, d = 1, x = 0, y = 0] = item.transform;
    const size = Math.max(Math.hypot(c, d), Math.hypot(a, b), item.height ?? 0, 1);
    if (str.length === 0) {
      if (item.hasEOL) close();
      continue;
    }
    if (str.trim().length === 0) {
      // pdf.js fills gaps with a space item as wide as the gap: a wide one is a column gutter
      if ((item.width ?? 0) > 3 * size) close();
      else if (cur && !(cur as PdfLine).text.endsWith(' ')) (cur as PdfLine).text += ' ';
      if (item.hasEOL) close();
      continue;
    }
    if (cur) {
      const c0: PdfLine = cur;
      // a wide gap on the same baseline is a column gutter: the next column's line starts
      const sameLine = Math.abs(y - lastY) <= 0.5 * Math.max(size, c0.size) && x >= c0.x - size && x <= c0.xEnd + 3 * size;
      if (!sameLine) close();
      else {
        const gap = item.dir === 'rtl' ? size : x - c0.xEnd;
        if (gap > 0.15 * size && !c0.text.endsWith(' ') && !str.startsWith(' ')) c0.text += ' ';
      }
    }
    if (!cur) cur = { text: '', x, y, size, xEnd: x };
    const line: PdfLine = cur;
    line.text += str;
    line.xEnd = Math.max(line.xEnd, x + (item.width ?? 0));
    line.size = Math.max(line.size, size);
    lastY = y;
    if (item.hasEOL) close();
  }
  close();
  return lines;
}

/**
 * Most producers write text in reading order, and then the content-stream order is kept.
 * Some write two-column pages row by row (left line, right line, left line, …); when that
 * interleaving is seen, the page is re-read geometrically: within each band between
 * full-width lines, the left column top to bottom, then the right column.
 */
export function readingOrder(lines: PdfLine[]): PdfLine[] {
  if (lines.length < 6) return lines;
  const minX = Math.min(...lines.map((l) => l.x));
  const maxX = Math.max(...lines.map((l) => l.xEnd));
  const mid = (minX + maxX) / 2;
  const side = (l: PdfLine) => (l.xEnd <= mid + l.size ? 'left' : l.x >= mid - l.size ? 'right' : 'full');
  let interleaved = 0;
  for (let i = 1; i < lines.length; i++) {
    const a = lines[i - 1]!;
    const b = lines[i]!;
    const sides = side(a) + side(b);
    if ((sides === 'leftright' || sides === 'rightleft') && Math.abs(a.y - b.y) < 0.5 * a.size) interleaved++;
  }
  if (interleaved < 3 || interleaved < lines.length * 0.25) return lines;
  const byHeight = [...lines].sort((p, q) => q.y - p.y || p.x - q.x);
  const out: PdfLine[] = [];
  let band: PdfLine[] = [];
  const flushBand = () => {
    out.push(...band.filter((l) => side(l) === 'left'), ...band.filter((l) => side(l) === 'right'));
    band = [];
  };
  for (const l of byHeight) {
    if (side(l) === 'full') {
      flushBand();
      out.push(l);
    } else band.push(l);
  }
  flushBand();
  return out;
}

/** Digits and roman numerals stand for any page number: "Page 3 of 14" and "Page 4 of 14" match. */
function runningKey(text: string): string {
  return text
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[ivxlcdm]+$/, '#')
    .replace(/\d+/g, '#');
}

const pageNumberLike = (k: string) => /^(page )?#( (of|\/) #)?$|^- # -$|^#$/.test(k);

/**
 * The lines at the top and bottom edges of a page that stand apart from the body (a gap of
 * almost two lines or more): where running headers, footers and page numbers live.
 */
function edgeLines(lines: PdfLine[]): Set<PdfLine> {
  const rows: PdfLine[][] = [];
  for (const l of [...lines].sort((p, q) => q.y - p.y)) {
    const row = rows[rows.length - 1];
    if (row && Math.abs(row[0]!.y - l.y) < 0.5 * l.size) row.push(l);
    else rows.push([l]);
  }
  const out = new Set<PdfLine>();
  const detached = (outer: PdfLine[], inner: PdfLine[] | undefined) =>
    inner !== undefined && Math.abs(outer[0]!.y - inner[0]!.y) > 1.8 * Math.max(...inner.map((l) => l.size));
  const numberRow = (row: PdfLine[]) => row.every((l) => pageNumberLike(runningKey(l.text)));
  for (const order of [rows, [...rows].reverse()]) {
    if (order.length < 3) continue;
    const [first, second, third] = [order[0]!, order[1]!, order[2]];
    const firstIsEdge = numberRow(first) || detached(first, second);
    // two rows set apart together (a title line over a rule, a page number above a footer)
    const bothAreEdge = (firstIsEdge || order.length > 3) && (numberRow(second) || detached(second, third));
    if (bothAreEdge) [...first, ...second].forEach((l) => out.add(l));
    else if (firstIsEdge) first.forEach((l) => out.add(l));
  }
  return out;
}

export function removeRunningLines(pages: PdfLine[][]): PdfLine[][] {
  const counted = pages.filter((p) => p.length > 0).length;
  if (counted < 3) return pages;
  const seen = new Map<string, number>();
  for (const lines of pages) {
    const keys = new Set([...edgeLines(lines)].map((l) => runningKey(l.text)));
    for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  const threshold = Math.max(3, Math.ceil(counted * 0.4));
  return pages.map((lines) => {
    // a page's only lines are its content, never a running header
    if (lines.length < 3) return lines;
    const edges = edgeLines(lines);
    return lines.filter((l) => {
      if (!edges.has(l)) return true;
      const k = runningKey(l.text);
      return !((seen.get(k) ?? 0) >= threshold || (pageNumberLike(k) && (seen.get(k) ?? 0) >= 2));
    });
  });
}

/** Lines to paragraphs: blank-line gaps, jumps up the page (a new column) and short last lines end a paragraph. */
export function layoutPage(lines: PdfLine[]): string {
  if (lines.length === 0) return '';
  const gaps: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const g = lines[i - 1]!.y - lines[i]!.y;
    if (g > 0.5 * lines[i]!.size && g < 3 * lines[i]!.size) gaps.push(g);
  }
  const typicalGap = median(gaps) ?? lines[0]!.size * 1.2;
  // full text lines are the widest common ones; figure labels and table cells are narrower
  const typicalWidth = percentile(lines.map((l) => l.xEnd - l.x), 0.8) ?? 0;

  const paragraphs: string[] = [];
  // A paragraph is kept as pieces and joinLines sees only the end of what is there: testing the
  // whole paragraph against an end-anchored regex at every line was quadratic in its length.
  let para: string[] = [lines[0]!.text];
  for (let i = 1; i < lines.length; i++) {
    const prev = lines[i - 1]!;
    const line = lines[i]!;
    const gap = prev.y - line.y;
    const breaks =
      gap > Math.max(1.5 * typicalGap, 1.6 * line.size) ||
      gap < -0.5 * line.size || // moved up: next column or a new block
      Math.abs(line.size - prev.size) > 1.5 || // heading ↔ body
      (/[.!?:]["')\]]?$/.test(prev.text) && prev.xEnd - prev.x < 0.7 * typicalWidth);
    if (breaks) {
      paragraphs.push(para.join(''));
      para = [line.text];
    } else {
      const tail = para.pop()!;
      const joined = joinLines(tail.slice(-JOIN_CONTEXT), line.text);
      para.push(tail.slice(0, -JOIN_CONTEXT), joined);
    }
  }
  paragraphs.push(para.join(''));
  return paragraphs.join('\n\n');
}

/** joinLines looks at no more than this many characters at the end of the first part. */
const JOIN_CONTEXT = 4;

/** "exam-" + "ple" → "example", "IEEE-" + "754" → "IEEE-754"; other line breaks become a space. */
export function joinLines(a: string, b: string): string {
  if (/\p{L}[-\u00ad]$/u.test(a) && /^\p{Ll}/u.test(b)) return a.slice(0, -1) + b;
  if (/[\p{L}\p{N}]-$/u.test(a) && /^[\p{Lu}\p{N}]/u.test(b)) return a + b;
  if (a.endsWith('\u00ad')) return a.slice(0, -1) + b;
  return `${a} ${b}`;
}

function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))]!;
}

function median(xs: number[]): number | null {
  return percentile(xs, 0.5);
}
