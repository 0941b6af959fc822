import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IngestedDocument } from '../../common/document';
import { ingestFile } from '../../main/ingest/index';
import { corpus, needs, squash } from './helpers/corpus';

const cache = new Map<string, Promise<IngestedDocument>>();
const read = (rel: string) => {
  if (!cache.has(rel)) cache.set(rel, ingestFile(corpus(rel)));
  return cache.get(rel)!;
};
const pageText = (d: IngestedDocument, n: number) => d.text.slice(d.pages[n - 1]!.start, d.pages[n - 1]!.end);
/** The page a passage is on (1-based), or 0 when it is not in the text. */
const pageOf = (d: IngestedDocument, passage: string) => {
  const at = d.text.indexOf(passage);
  return at < 0 ? 0 : d.pages.find((p) => p.start <= at && at < p.end)!.number;
};

test('tracemonkey.pdf: two-column paper reads in order, hyphenation joined, passages on their pages, numbered headings as sections', needs('pdf/tracemonkey.pdf'), async () => {
  const d = await read('pdf/tracemonkey.pdf');
  assert.equal(d.type, 'pdf');
  assert.equal(d.pageKind, 'physical');
  assert.equal(d.pages.length, 14);
  assert.equal(d.title, 'Trace-based Just-in-Time Type Specialization for Dynamic Languages');
  // Hyphenated line ends ("com-" / "pile", "al-" / "ternative") are joined.
  assert.equal(pageOf(d, 'Dynamic languages such as JavaScript are more difficult to compile than statically typed ones'), 1);
  assert.equal(pageOf(d, 'We present an alternative compilation technique'), 1);
  // Sentences that run over several lines of one column stay whole (columns are not interleaved).
  assert.equal(pageOf(d, 'JavaScript has no integer type, only a Number type that is the set of 64-bit IEEE-754 floating-pointer numbers'), 5);
  assert.equal(pageOf(d, 'We solve the nested loop problem by recording nested trace trees.'), 2);
  assert.equal(pageOf(d, 'In a naïve implementation, inner loops would become hot first'), 2);
  assert.equal(pageOf(d, 'References'), 14);
  // No bookmarks: the numbered section headings (and Abstract, References…) become sections.
  assert.deepEqual(
    d.sections.map((s) => [s.title, s.page]),
    [
      ['Abstract', 1],
      ['1. Introduction', 1],
      ['2. Overview: Example Tracing Run', 2],
      ['3. Trace Trees', 4],
      ['4. Nested Trace Tree Formation', 6],
      ['5. Trace Tree Optimization', 7],
      ['6. Implementation', 8],
      ['7. Evaluation', 10],
      ['8. Related Work', 12],
      ['9. Conclusions', 13],
      ['10. Future Work', 13],
      ['Acknowledgments', 13],
      ['References', 14],
    ],
  );
  assert.equal(d.sections.find((s) => s.title === '8. Related Work')!.end, d.sections.find((s) => s.title === '9. Conclusions')!.start - 2);
  // Page ranges tile the text in order.
  d.pages.forEach((p, i) => {
    assert.equal(p.number, i + 1);
    if (i > 0) assert.ok(p.start >= d.pages[i - 1]!.end);
  });
});

test('nested_outline.pdf: nested bookmarks become sections with levels, ranges and pages', needs('pdf/nested_outline.pdf'), async () => {
  const d = await read('pdf/nested_outline.pdf');
  assert.equal(d.pages.length, 9);
  assert.deepEqual(
    d.sections.map((s) => [s.level, s.title, s.page]),
    [
      [1, '1. Introduction', 1],
      [2, '1.1 Background', 2],
      [2, '1.2 Motivation', 3],
      [1, '2. Main Content', 4],
      [2, '2.1 First Topic', 5],
      [2, '2.2 Second Topic', 6],
      [1, '3. Conclusion', 7],
      [2, '3.1 Summary', 8],
      [2, '3.2 Future Work', 9],
    ],
  );
  const motivation = d.sections[2]!;
  assert.equal(squash(d.text.slice(motivation.start, motivation.end)), 'Motivation Content for Motivation');
  const main = d.sections[3]!;
  assert.ok(d.text.slice(main.start, main.end).includes('Content for Second Topic'), 'a top-level section spans its children');
  assert.ok(!d.text.slice(main.start, main.end).includes('Conclusion'));
  assert.equal(pageOf(d, 'Content for First Topic'), 5);
});

test('TAMReview.pdf: running footer removed; pages whose fonts have no character map are reported', needs('pdf/TAMReview.pdf'), async () => {
  const d = await read('pdf/TAMReview.pdf');
  assert.equal(d.pages.length, 23);
  assert.equal(d.title, 'Overview of the Technology Acceptance Model: Origins, Developments and Future Directions');
  assert.equal(d.author, null, 'junk author metadata ("ARRAY(0x…)") is dropped');
  assert.ok(!d.text.includes('Sprouts - http://sprouts.aisnet.org/9-37'), 'the footer repeated on every page is gone');
  assert.ok(pageText(d, 1).includes('Permanent URL: http://sprouts.aisnet.org/9-37'), 'body text that mentions the same address stays');
  for (const p of d.pages) assert.ok(!/^\d+$/m.test(pageText(d, p.number)), `no page number line left on page ${p.number}`);
  assert.ok(pageText(d, 1).includes('Technology Acceptance Model'));
  assert.deepEqual(d.sections, [], 'a bookmark named after a temporary file ("htmldoc797.html") is not a section');
  assert.ok(d.warnings.some((w) => /Pages 2–22 use fonts that do not say which characters they show/.test(w)), d.warnings.join('\n'));
  assert.ok(!/[\u0000-\u0008\u000e-\u001f]/.test(d.text), 'no control characters reach the text');
});

test('rotated, vertical, CJK and Arabic PDFs give their text', needs('pdf/hello_world_rotated.pdf', 'pdf/rotated.pdf', 'pdf/vertical.pdf', 'pdf/ArabicCIDTrueType.pdf', 'bad/cidfont_cmap_overflow.pdf'), async () => {
  const hello = await read('pdf/hello_world_rotated.pdf');
  assert.equal(hello.pages.length, 5);
  for (let n = 1; n <= 5; n++) assert.equal(pageText(hello, n), 'Hello world', `page ${n} (a one-line page is never taken for a running header)`);

  const rotated = await read('pdf/rotated.pdf');
  assert.ok(rotated.text.startsWith('Rotated text'));
  assert.deepEqual(rotated.sections.map((s) => [s.title, s.page]), [['Rotated text', 1]]);

  const vertical = await read('pdf/vertical.pdf');
  assert.equal(vertical.pages.length, 3);
  assert.ok(pageText(vertical, 1).includes('あいうえお'));
  assert.ok(pageText(vertical, 1).includes('日本語'));

  const arabic = await read('pdf/ArabicCIDTrueType.pdf');
  assert.ok(arabic.text.includes('العربية'), 'Arabic presentation forms are normalized to letters');

  const cjk = await read('bad/cidfont_cmap_overflow.pdf');
  assert.equal(cjk.text.trim(), '㐂㐄㐆㐈㐊㐌㐎㐐㐒㐔㐖㐘');
});

test('160F-2019.pdf (a form) and alphatrans.pdf read with metadata', needs('pdf/160F-2019.pdf', 'pdf/alphatrans.pdf'), async () => {
  const form = await read('pdf/160F-2019.pdf');
  assert.equal(form.pages.length, 1);
  assert.ok(form.text.includes('classe d\'impôt'));
  const alpha = await read('pdf/alphatrans.pdf');
  assert.equal(alpha.title, 'Alpha Transparency Test');
  assert.equal(alpha.author, 'Brendan Dahl');
  assert.ok(alpha.text.includes('Powered by TCPDF'));
});

test('PDF ingest reports progress per page and can be cancelled', needs('pdf/tracemonkey.pdf'), async () => {
  const seen: [number, number][] = [];
  const controller = new AbortController();
  await assert.rejects(
    ingestFile(corpus('pdf/tracemonkey.pdf'), {
      signal: controller.signal,
      onProgress: (done, total) => {
        seen.push([done, total]);
        if (done === 3) controller.abort();
      },
    }),
    (e: { code?: string }) => e.code === 'cancelled',
  );
  assert.deepEqual(seen, [[1, 14], [2, 14], [3, 14]]);
});

test('a two-column page written row by row is read column by column', async () => {
  const { writePdf } = await import('./helpers/pdf-writer');
  const { tempDir } = await import('./helpers/corpus');
  const { writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  const left = ['The left column opens', 'with a sentence that', 'runs over four lines', 'before it ends here.', 'A second paragraph', 'follows it below.'];
  const right = ['The right column has', 'its own sentence that', 'must not be mixed in', 'with the left column.', 'It ends with a final', 'line of its own.'];
  const runs = [{ x: 150, y: 740, text: 'A Title Across The Whole Page Width For Testing', size: 14 }];
  left.forEach((l, i) => runs.push({ x: 72, y: 700 - i * 12, text: l, size: 10 }, { x: 330, y: 700 - i * 12, text: right[i]!, size: 10 }));
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'rows.pdf');
    writeFileSync(file, writePdf([runs]));
    const d = await ingestFile(file);
    const flat = squash(d.text);
    assert.ok(flat.startsWith('A Title Across The Whole Page Width For Testing'), flat);
    assert.ok(flat.includes(squash(left.join(' '))), flat);
    assert.ok(flat.includes(squash(right.join(' '))), flat);
    assert.ok(flat.indexOf('The left column opens') < flat.indexOf('The right column has'));
  } finally {
    cleanup();
  }
});

test('running headers (alternating), footers and page numbers repeated across pages are removed; body lines stay', async () => {
  const { writePdf } = await import('./helpers/pdf-writer');
  const { tempDir } = await import('./helpers/corpus');
  const { writeFileSync } = await import('node:fs');
  const path = await import('node:path');
  const pages = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => [
    { x: 72, y: 760, text: n % 2 ? 'Journal of Careful Tests, Vol. 3' : 'A. Author and B. Author', size: 9 },
    { x: 72, y: 700, text: `Body of page ${n} begins with a long line of ordinary prose that con-`, size: 11 },
    { x: 72, y: 686, text: `tinues here and ends the paragraph of page ${n}.`, size: 11 },
    { x: 72, y: 672, text: 'Journal of Careful Tests is cited here, inside the body.', size: 11 },
    { x: 300, y: 40, text: `${n}`, size: 9 },
  ]);
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'journal.pdf');
    writeFileSync(file, writePdf(pages));
    const d = await ingestFile(file);
    assert.equal(d.pages.length, 8);
    for (let n = 1; n <= 8; n++) {
      const text = squash(pageText(d, n));
      assert.equal(
        text,
        `Body of page ${n} begins with a long line of ordinary prose that continues here and ends the paragraph of page ${n}. Journal of Careful Tests is cited here, inside the body.`,
      );
    }
  } finally {
    cleanup();
  }
});
