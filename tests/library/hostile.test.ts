import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LongreadError } from '../../common/errors';
import { toErrorBody } from '../../main/api/errors';
import { ingestFile } from '../../main/ingest/index';
import { atxHeading, inline } from '../../main/ingest/markdown';
import { countTokens } from '../../main/ingest/token-counter';
import { loadTokenizer } from '../../engine/tokenizer';
import { Library } from '../../main/library/library';
import { corpus, needs, repoRoot, tempDir } from './helpers/corpus';
import { buildDocx, buildEpub, deepNav, deepNcx, docxParagraph, random, readBytes, words } from './helpers/hostile';

const KB = 1024;
const utf8 = (s: string) => Buffer.from(s, 'utf8');

/**
 * Inputs built to make a backtracking regex or a quadratic loop blow up. Each is read whole
 * (detect, parse, pages, sections); before the fixes each took from seconds to many minutes
 * at these sizes. The bound is on CPU time and very loose: linear code needs well under 0.3 s.
 */
const HOSTILE: { name: string; file: string; make: () => string }[] = [
  { name: 'HTML: <meta name=author repeated (the author regex was cubic)', file: 'a.html', make: () => '<html><body><p>x</p>' + '<meta name=author '.repeat(14_000) },
  { name: 'Markdown: **a repeated (emphasis regexes were quadratic)', file: 'a.md', make: () => '**a '.repeat(64 * KB) },
  { name: 'Markdown: *a, _a and __a mixed', file: 'a.md', make: () => ' *a _a __a'.repeat(25 * KB) },
  { name: 'Markdown: ![a]( repeated with no closing parenthesis', file: 'a.md', make: () => '![a]('.repeat(48 * KB) },
  { name: 'Markdown: [ repeated with no closing bracket', file: 'a.md', make: () => '['.repeat(256 * KB) },
  { name: 'Markdown: <a repeated with no >', file: 'a.md', make: () => '<a'.repeat(128 * KB) },
  { name: 'Markdown: a heading with a long run of spaces (the ATX regex was cubic)', file: 'a.md', make: () => '# a' + ' '.repeat(256 * KB) + 'b\n\ntext' },
  { name: 'Markdown: code with a long run of spaces', file: 'a.md', make: () => '```\na' + ' '.repeat(256 * KB) + 'b\n```\n' },
  { name: 'Markdown: front matter title with a long run of spaces', file: 'a.md', make: () => '---\ntitle: a' + ' '.repeat(256 * KB) + 'b\n---\ntext\n' },
  { name: 'text: a line with a long run of spaces (/\\s+$/ was quadratic)', file: 'a.txt', make: () => 'a' + ' '.repeat(256 * KB) + 'b\n' },
  { name: 'text: 4 MB without a space or a paragraph break (page cuts searched the whole text)', file: 'a.txt', make: () => 'a'.repeat(4096 * KB) },
  { name: 'HTML: 200,000 nested tags (htmlparser2 unshifts its open-element stack)', file: 'a.html', make: () => '<html><body>' + '<div>'.repeat(200_000) + 'x' },
  { name: 'HTML: many <br> in one paragraph', file: 'a.html', make: () => '<html><body><p>' + 'a <br>'.repeat(48 * KB) },
  { name: 'HTML: many small text nodes in one paragraph', file: 'a.html', make: () => '<html><body><p>' + '<b>a</b> '.repeat(32 * KB) },
];

for (const c of HOSTILE) {
  test(`hostile ${c.name}: ends quickly with a document or a typed error`, async () => {
    const input = c.make();
    const out = await readBytes(c.file, utf8(input));
    assert.ok(out.cpuSeconds < 2, `${(input.length / KB).toFixed(0)} KB took ${out.cpuSeconds.toFixed(2)} s of CPU`);
    assert.ok(out.doc || out.error);
  });
}

test('nesting past the cap is a typed error naming the file; legitimate depth and void elements read', async () => {
  const deep = await readBytes('deep.html', utf8('<html><body>' + '<div>'.repeat(1001) + 'x'));
  assert.equal(deep.error?.code, 'document-too-complex');
  assert.match(deep.error!.message, /^deep\.html: .*nested more than 1000 levels deep/);
  const fine = await readBytes('fine.html', utf8('<html><body>' + '<div>'.repeat(900) + 'deep text' + '<br>'.repeat(5000) + '</div>'.repeat(900)));
  assert.equal(fine.doc?.text, 'deep text');
});

test('HTML author still comes from <meta name="author" content>, in any attribute case and quoting', async () => {
  const out = await readBytes('a.html', utf8(`<html><head><META NAME='Author' CONTENT="  Mary Shelley "><meta name=author content="Second"></head><body><p>x</p></body></html>`));
  assert.equal(out.doc?.author, 'Mary Shelley');
});

/** The regex replacements inline() did before, kept as the reference for the linear version. */
function inlineByRegex(s: string): string {
  return s
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\[[^\]]*\]/g, '$1')
    .replace(/<\/?[a-zA-Z][^>]*>/g, '')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/(\*\*|__)(?=\S)(.+?)(?<=\S)\1/g, '$2')
    .replace(/(^|[^\w*])([*_])(?=\S)(.+?)(?<=\S)\2(?!\w)/g, '$1$3')
    .replace(/\\([\\`*_{}[\]()#+\-.!>])/g, '$1')
    .trim();
}

test('Markdown inline markup and ATX headings: the linear scanners give what the regexes gave', () => {
  const rnd = random(30);
  const alphabet = ['*', '_', 'a', ' ', '[', ']', '(', ')', '!', '<', '>', '/', '`', '\n', 'b', '#', '\\', '**', '__', 'é', '\t'];
  for (let n = 0; n < 60_000; n++) {
    let s = '';
    const len = Math.floor(rnd() * 18);
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(rnd() * alphabet.length)];
    assert.equal(inline(s), inlineByRegex(s), JSON.stringify(s));
    const line = s.split('\n')[0]!;
    const m = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    assert.deepEqual(atxHeading(line), m ? { level: m[1]!.length, text: m[2]! } : null, JSON.stringify(line));
  }
  for (const s of ['**bold** and *em* and _em_ and __strong__', 'a [link](http://x) ![img](y.png) [ref][1] `code` <b>tag</b> \\*', 'snake_case_name * 2 * 3', '**unclosed *also']) {
    assert.equal(inline(s), inlineByRegex(s));
  }
});

test('EPUB: a nav nesting 20,000 lists (and an NCX, and a chapter) is epub-corrupt, not a stack overflow', async () => {
  const cases = [
    { name: 'deep-nav.epub', bytes: buildEpub({ nav: deepNav(20_000) }) },
    { name: 'deep-ncx.epub', bytes: buildEpub({ ncx: deepNcx(5_000) }) }, // deeper compresses past the per-entry ratio check
    { name: 'deep-chapter.epub', bytes: buildEpub({ files: [{ name: 'OEBPS/ch1.xhtml', data: '<html xmlns="http://www.w3.org/1999/xhtml"><body>' + '<div>'.repeat(20_000) + 'x</body></html>' }] }) },
  ];
  for (const c of cases) {
    const out = await readBytes(c.name, c.bytes);
    assert.equal(out.error?.code, 'epub-corrupt', `${c.name}: ${out.error?.message}`);
    assert.match(out.error!.message, new RegExp(`^${c.name.replace('.', '\\.')}: this EPUB is damaged: its elements are nested more than 1000 levels deep`));
    assert.ok(out.cpuSeconds < 2, `${c.name} took ${out.cpuSeconds.toFixed(2)} s`);
  }
  // a real nesting within the cap still gives its levels
  const ok = await readBytes('nested.epub', buildEpub({ nav: deepNav(50) }));
  assert.equal(ok.doc?.sections.length, 50);
  assert.deepEqual([...new Set(ok.doc!.sections.map((s) => s.level))].length, 50);
  const okNcx = await readBytes('nested-ncx.epub', buildEpub({ ncx: deepNcx(50) }));
  assert.deepEqual(okNcx.doc!.sections.map((s) => s.level), Array.from({ length: 50 }, (_, i) => i + 1));
});

test('EPUB with a deep nav added through the library on a worker: epub-corrupt, no stack or source path in the error', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'deep-nav.epub');
    writeFileSync(file, buildEpub({ nav: deepNav(20_000) }));
    const lib = Library.open({ home: path.join(dir, 'home') });
    try {
      await assert.rejects(lib.add(file, { inOwnProcess: true }), (e: unknown) => {
        assert.ok(e instanceof LongreadError, String(e));
        assert.equal(e.code, 'epub-corrupt');
        const body = toErrorBody(e);
        assert.equal(body.code, 'epub-corrupt');
        assert.doesNotMatch(body.message, /\n\s+at |\.ts:\d+/);
        return true;
      });
    } finally {
      lib.close();
    }
  } finally {
    cleanup();
  }
});

test("the wire form of an unexpected error holds neither its stack nor folder paths", () => {
  const e = new RangeError('Maximum call stack size exceeded');
  e.message += '\n    at walk (/work/main/ingest/epub.ts:130:7)';
  assert.deepEqual(toErrorBody(e), { code: 'internal', message: 'Something went wrong inside Longread: Maximum call stack size exceeded' });
  const enoent = toErrorBody(new Error("ENOENT: no such file or directory, open '/home/someone/Books/moby.txt'"));
  assert.equal(enoent.message, "Something went wrong inside Longread: ENOENT: no such file or directory, open 'moby.txt'");
});

test('CLI: a hostile EPUB gives the typed JSON error and exit code 1, not an uncaught exception', () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'deep-nav.epub');
    writeFileSync(file, buildEpub({ nav: deepNav(20_000) }));
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'library', 'add', file, '--json'], {
      cwd: repoRoot,
      env: { ...process.env, LONGREAD_HOME: path.join(dir, 'home'), LONGREAD_MODEL: path.join(dir, 'no-model') },
      encoding: 'utf8',
    });
    assert.equal(r.status, 1, r.stderr);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; file: string } };
    assert.equal(error.code, 'epub-corrupt');
    assert.equal(error.file, file);
    assert.doesNotMatch(r.stderr, /RangeError|\n\s+at /);
  } finally {
    cleanup();
  }
});

test('Word: XML nested 20,000 levels deep (tables in tables, unknown elements, the core properties) is docx-corrupt, quickly; a real nesting reads', async () => {
  const core = (inner: string) => ({
    name: 'docProps/core.xml',
    data: `<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Deep</dc:title>${inner}</cp:coreProperties>`,
  });
  const cases = [
    { name: 'deep-tables.docx', bytes: buildDocx('<w:tbl><w:tr><w:tc>'.repeat(7000) + docxParagraph('x') + '</w:tc></w:tr></w:tbl>'.repeat(7000)) },
    { name: 'deep-elements.docx', bytes: buildDocx('<w:sdt><w:sdtContent>'.repeat(10_000) + docxParagraph('x') + '</w:sdtContent></w:sdt>'.repeat(10_000)) },
    // the properties part: parsed with the same depth cap, never a stack overflow in a tree walk
    { name: 'deep-core.docx', bytes: buildDocx(docxParagraph('Some text.'), [core('<a>'.repeat(20_000) + '</a>'.repeat(20_000))]) },
  ];
  for (const c of cases) {
    const out = await readBytes(c.name, c.bytes);
    assert.equal(out.error?.code, 'docx-corrupt', `${c.name}: ${out.error?.message ?? 'it was read'}`);
    assert.match(out.error!.message, new RegExp(`^${c.name.replace('.', '\\.')}: this Word document is damaged or incomplete \\(its elements are nested more than 1000 levels deep\\)`));
    assert.ok(out.cpuSeconds < 2, `${c.name} took ${out.cpuSeconds.toFixed(2)} s`);
  }
  const nested = await readBytes('nested.docx', buildDocx('<w:tbl><w:tr><w:tc>'.repeat(20) + docxParagraph('inner cell') + '</w:tc></w:tr></w:tbl>'.repeat(20), [core('')]));
  assert.match(nested.doc?.text ?? '', /inner cell/, nested.error?.message);
  assert.equal(nested.doc!.title, 'Deep');
});

test('Word: many paragraphs, and one paragraph of many runs, read in time linear in their size (twice the input, about twice the CPU time)', async () => {
  const rnd = random(7);
  const shapes = {
    paragraphs: (n: number) => Array.from({ length: n }, (_, i) => docxParagraph(`Paragraph ${i}: ${words(30, rnd)}.`)).join(''),
    // random words, so the part does not compress like a zip bomb
    runs: (n: number) => '<w:p>' + Array.from({ length: n }, () => `<w:r><w:t xml:space="preserve">${words(8, rnd)} </w:t></w:r>`).join('') + '</w:p>',
  };
  for (const [shape, body] of Object.entries(shapes)) {
    const seconds: number[] = [];
    for (const n of [12_500, 25_000]) {
      const out = await readBytes(`${shape}.docx`, buildDocx(body(n)));
      assert.ok(out.doc, `${shape}: ${out.error?.message}`);
      seconds.push(out.cpuSeconds);
    }
    // linear code gives a ratio under 2 (fixed costs); a quadratic step would give about 4
    assert.ok(seconds[1]! < 3 * seconds[0]!, `${shape}: ${seconds.map((x) => x.toFixed(2)).join(' s, ')} s of CPU for 12,500 and 25,000`);
  }
});

test('EPUB whose spine lists one 1 MiB chapter 20,000 times: each file read once, quickly', async () => {
  const chapter = `<html xmlns="http://www.w3.org/1999/xhtml"><body><p>${words(1024 * KB, random(1))}</p></body></html>`;
  const bytes = buildEpub({ spine: '<itemref idref="ch1"/>'.repeat(20_000), files: [{ name: 'OEBPS/ch1.xhtml', data: chapter }] });
  const out = await readBytes('repeat.epub', bytes);
  assert.ok(out.doc, out.error?.message);
  assert.ok(out.cpuSeconds < 4, `took ${out.cpuSeconds.toFixed(2)} s`);
  assert.ok(out.doc.text.length <= 1024 * KB && out.doc.text.length > 1000 * KB, `the chapter once: ${out.doc.text.length} chars`);
  assert.ok(out.doc.warnings.some((w) => /more than once \(19999 repeats\)/.test(w)), out.doc.warnings.join('; '));
});

test('EPUB of many 1 MiB entries (each under the per-entry check) is refused by the ratio over the whole archive', async () => {
  const html = (body: string) => `<html xmlns="http://www.w3.org/1999/xhtml"><body><p>Some text.</p>${body}</body></html>`;
  const chapter = Buffer.from(html(' '.repeat(1024 * KB - html('').length)));
  assert.equal(chapter.length, 1024 * KB);
  const n = 120;
  const manifest = Array.from({ length: n }, (_, i) => `<item id="c${i}" href="c${i}.xhtml" media-type="application/xhtml+xml"/>`).join('');
  const spine = Array.from({ length: n }, (_, i) => `<itemref idref="c${i}"/>`).join('');
  const files = Array.from({ length: n }, (_, i) => ({ name: `OEBPS/c${i}.xhtml`, data: chapter }));
  const bytes = buildEpub({ manifest, spine, files });
  assert.ok(n * chapter.length > 200 * bytes.length);
  const out = await readBytes('many.epub', bytes);
  assert.equal(out.error?.code, 'epub-unsafe', out.error?.message ?? 'it was read');
  assert.match(out.error!.message, /^many\.epub: this EPUB was rejected because reading it would unpack more than 200 times the archive's size, which looks like a zip bomb/);
});

test('text beyond 64 M characters is refused as file-too-large before it is parsed', async () => {
  const out = await readBytes('huge.txt', Buffer.alloc(64 * 1024 * KB + 1, 'a'));
  assert.equal(out.error?.code, 'file-too-large');
  assert.match(out.error!.message, /^huge\.txt: its text is longer than 64 M characters/);
  assert.ok(out.cpuSeconds < 5, `took ${out.cpuSeconds.toFixed(2)} s`);
});

test('tokens counted piece by piece equal the whole text\'s count with the real tokenizer', needs('books/pg2701.txt'), async () => {
  const tokenizer = await loadTokenizer(path.join(repoRoot, 'models', 'default'));
  const book = readFileSync(corpus('books/pg2701.txt'), 'latin1').slice(0, 200 * KB);
  const odd = 'word   \t spaced\u00a0out \n\n\n  lines  ' + 'x'.repeat(50) + '  end\u2003em\u3000wide ' + book.slice(0, 20 * KB);
  for (const text of [book, odd]) {
    const whole = tokenizer.encode(text, { addEos: false }).length;
    for (const chunk of [1, 7, 1000, 64 * KB]) assert.equal(countTokens(tokenizer, text, chunk), whole, `pieces of ${chunk}`);
  }
  // ingest counts this way too
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'book.txt');
    writeFileSync(file, book);
    const doc = await ingestFile(file, { countWith: { modelId: 'default', dir: path.join(repoRoot, 'models', 'default') } });
    assert.equal(doc.tokens?.count, tokenizer.encode(doc.text, { addEos: false }).length);
  } finally {
    cleanup();
  }
});

test('PDF layout: a page of 40,000 lines in one paragraph is joined in linear time, hyphenation as before', async () => {
  const { layoutPage } = await import('../../main/ingest/pdf-layout');
  const texts = Array.from({ length: 40_000 }, (_, i) => (i % 3 === 0 ? `line ${i} exam-` : i % 3 === 1 ? 'ple IEEE-' : '754 word\u00ad'));
  const lines = texts.map((text, i) => ({ text, x: 0, y: 1_000_000 - i * 12, size: 10, xEnd: 500 }));
  const before = process.cpuUsage();
  const text = layoutPage(lines);
  const used = process.cpuUsage(before);
  assert.ok((used.user + used.system) / 1e6 < 2, `took ${((used.user + used.system) / 1e6).toFixed(2)} s`);
  // "exam-" + "ple" joins, "IEEE-" + "754" keeps its hyphen, a soft hyphen before a lowercase letter goes
  const expected = Array.from({ length: 13_333 }, (_, k) => `line ${3 * k} example IEEE-754 word`).join('') + 'line 39999 exam-';
  assert.equal(text, expected);
});

test('a damaged PDF on which pdf.js rejects a promise of its own is pdf-corrupt, and the process lives on', needs('pdf/hello_world_rotated.pdf'), async () => {
  // six bytes of hello_world_rotated.pdf changed (found by the fuzz test, seed 7): pdf.js then
  // rejects an internal promise nobody can await, which ended the process reading it
  const bytes = Buffer.from(readFileSync(corpus('pdf/hello_world_rotated.pdf')));
  for (const [at, value] of [[32, 0o32], [207, 0o255], [723, 0o146], [771, 0o251], [786, 0o274], [964, 0o21]] as const) bytes[at] = value;
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'flipped.pdf');
    writeFileSync(file, bytes);
    // on a main thread of its own (node:test would report the stray rejection itself)
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'tests', 'library', 'helpers', 'read-child.ts'), file], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const [outcome, last] = r.stdout.split('\n').filter(Boolean);
    assert.equal(JSON.parse(outcome!).code, 'pdf-corrupt');
    assert.equal(last, 'alive');
    // and on the ingest worker, as the app reads
    const { ingestFileInProcess } = await import('../../main/ingest/ingest-process');
    await assert.rejects(ingestFileInProcess(file), (e: unknown) => e instanceof LongreadError && e.code === 'pdf-corrupt');
  } finally {
    cleanup();
  }
});
