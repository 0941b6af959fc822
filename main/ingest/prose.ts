/**
 * Plain-text paragraphs: hard-wrapped lines are joined into one line per paragraph (what the
 * model should see), while verse, lists and tables, whose line breaks carry meaning, keep them.
 */
export function paragraphsOf(text: string, options: { keepVerse?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const block of text.split(/\n[ \t]*\n/)) {
    // trimEnd, not /\s+$/: that regex is quadratic in a long run of spaces inside a line
    const lines = block.split('\n').map((l) => l.trimEnd());
    while (lines.length > 0 && lines[0]!.trim() === '') lines.shift();
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
    if (lines.length === 0) continue;
    out.push(keepsLineBreaks(lines, options.keepVerse ?? true) ? lines.map((l) => l.trim()).join('\n') : lines.map((l) => l.trim()).join(' ').replace(/[ \t]+/g, ' '));
  }
  return out;
}

function keepsLineBreaks(lines: string[], keepVerse: boolean): boolean {
  const bulleted = lines.filter((l) => /^\s*([-*•+]|\d+[.)])\s/.test(l)).length;
  if (lines.length >= 2 && bulleted >= lines.length / 2) return true;
  if (!keepVerse || lines.length < 3) return false;
  const short = lines.filter((l) => l.trim().length < 45).length;
  return short >= lines.length - 1;
}

/** Joins paragraphs and reports where each one starts in the joined text. */
export function joinParagraphs(paragraphs: string[]): { text: string; starts: number[] } {
  const starts: number[] = [];
  let pos = 0;
  for (const p of paragraphs) {
    starts.push(pos);
    pos += p.length + 2;
  }
  return { text: paragraphs.join('\n\n'), starts };
}
