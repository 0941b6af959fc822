import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { LongreadError } from '../../common/errors';
import { ingestFile } from '../../main/ingest/index';
import { tempDir } from './helpers/corpus';
import { epubEntries, writeZip } from './helpers/zip-writer';

async function rejectsWith(file: string, code: string, message: RegExp): Promise<void> {
  await assert.rejects(ingestFile(file), (e: unknown) => {
    assert.ok(e instanceof LongreadError);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return true;
  });
}

test('EPUB: a well-formed small book reads; zip bombs, path tricks and damage are refused', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ok = path.join(dir, 'small.epub');
    writeFileSync(ok, writeZip(epubEntries()));
    const d = await ingestFile(ok);
    assert.equal(d.title, 'Small Book');
    assert.equal(d.text, 'One\n\nIt was a small book with one chapter.');
    assert.deepEqual(d.sections.map((s) => s.title), ['One'], 'headings stand in for a missing table of contents');

    const bomb = path.join(dir, 'bomb.epub');
    writeFileSync(bomb, writeZip(epubEntries({ extra: [] }).map((e) => (e.name === 'OEBPS/ch1.xhtml' ? { ...e, data: Buffer.alloc(80 * 1024 * 1024, 0x20) } : e))));
    await rejectsWith(bomb, 'epub-unsafe', /bomb\.epub: this EPUB was rejected because the entry "OEBPS\/ch1\.xhtml" (is compressed \d+:1|would unpack to)/);

    const climbing = path.join(dir, 'climb.epub');
    writeFileSync(climbing, writeZip(epubEntries({ extra: [{ name: '../../evil.xhtml', data: '<p>x</p>' }] })));
    await rejectsWith(climbing, 'epub-unsafe', /invalid relative path/);

    const absolute = path.join(dir, 'absolute.epub');
    writeFileSync(absolute, writeZip(epubEntries({ extra: [{ name: '/etc/evil.xhtml', data: '<p>x</p>' }] })));
    await rejectsWith(absolute, 'epub-unsafe', /absolute path/);

    const hrefOut = path.join(dir, 'href.epub');
    writeFileSync(hrefOut, writeZip(epubEntries({ chapterHref: '../../../etc/passwd' })));
    await rejectsWith(hrefOut, 'epub-unsafe', /outside the book/);

    const truncated = path.join(dir, 'truncated.epub');
    const whole = writeZip(epubEntries());
    writeFileSync(truncated, whole.subarray(0, whole.length - 40));
    await rejectsWith(truncated, 'epub-corrupt', /damaged or incomplete/);

    const noContainer = path.join(dir, 'nocontainer.epub');
    writeFileSync(noContainer, writeZip(epubEntries().filter((e) => e.name !== 'META-INF/container.xml')));
    await rejectsWith(noContainer, 'epub-corrupt', /container\.xml is missing/);
  } finally {
    cleanup();
  }
});

test('Markdown: markup removed, headings become sections, code kept', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'notes.md');
    writeFileSync(
      file,
      '---\ntitle: Field Notes\nauthor: R. Keeper\n---\n# Field Notes\n\nSome *emphasis* and a [link](http://x.test) and `code`.\nA wrapped\nline.\n\n## Setup\n\n```\nnpm install\n```\n\nSecond\n======\n\n- one\n- two\n- three\n',
    );
    const d = await ingestFile(file);
    assert.equal(d.type, 'markdown');
    assert.equal(d.title, 'Field Notes');
    assert.equal(d.author, 'R. Keeper');
    assert.equal(d.text, 'Field Notes\n\nSome emphasis and a link and code. A wrapped line.\n\nSetup\n\nnpm install\n\nSecond\n\n- one\n- two\n- three');
    assert.deepEqual(d.sections.map((s) => [s.level, s.title, d.text.slice(s.start, s.start + s.title.length)]), [
      [1, 'Field Notes', 'Field Notes'],
      [2, 'Setup', 'Setup'],
      [1, 'Second', 'Second'],
    ]);
  } finally {
    cleanup();
  }
});

test('HTML: declared charset, title, author, headings; scripts and styles dropped', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'page.html');
    const html = '<!doctype html><html><head><meta charset="iso-8859-1"><title>Caf\u00e9 Guide</title><meta name="author" content="A. Cook"><style>p{}</style><script>var x = "<p>no</p>";</script></head><body><h1>Caf\u00e9s</h1><p>Good&nbsp;coffee &amp; <b>cake</b>.</p><h2 id="t">Tea</h2><p>Also tea.<br>Hot.</p></body></html>';
    writeFileSync(file, iconv.encode(html, 'latin1'));
    const d = await ingestFile(file);
    assert.equal(d.type, 'html');
    assert.equal(d.title, 'Café Guide');
    assert.equal(d.author, 'A. Cook');
    assert.equal(d.text, 'Cafés\n\nGood coffee & cake.\n\nTea\n\nAlso tea.\nHot.');
    assert.deepEqual(d.sections.map((s) => [s.level, s.title]), [[1, 'Cafés'], [2, 'Tea']]);
    assert.equal(d.text.slice(d.sections[1]!.start, d.sections[1]!.end), 'Tea\n\nAlso tea.\nHot.');
  } finally {
    cleanup();
  }
});

test('text encodings: UTF-8, UTF-16 with BOM, Windows-1252 and Shift_JIS are detected; text about PDFs stays text', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const sample = 'Ein schöner Tag — “quoted” and naïve café prose that goes on for a while so detection has enough to work with.';
    const cases: [string, Buffer, string][] = [
      ['utf8.txt', Buffer.from(sample, 'utf8'), sample],
      ['utf16.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(sample, 'utf-16le')]), sample],
      ['cp1252.txt', iconv.encode(sample, 'windows-1252'), sample],
    ];
    const japanese = 'これは日本語の文章です。吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。';
    cases.push(['sjis.txt', iconv.encode(japanese, 'Shift_JIS'), japanese]);
    cases.push(['about-pdf.txt', Buffer.from('Notes: every PDF file starts with %PDF-1.x, then objects.'), 'Notes: every PDF file starts with %PDF-1.x, then objects.']);
    for (const [name, bytes, expected] of cases) {
      const file = path.join(dir, name);
      writeFileSync(file, bytes);
      assert.equal((await ingestFile(file)).text, expected, name);
    }
  } finally {
    cleanup();
  }
});

test('EPUB 2: chapter titles from the NCX, fragment links land on their anchors, nested levels', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'epub2.epub');
    const opf = `<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Two Tales</dc:title><dc:creator>N. Cox</dc:creator></metadata>
      <manifest><item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/><item id="a" href="text/part%201.xhtml" media-type="application/xhtml+xml"/><item id="b" href="text/b.xhtml" media-type="application/xhtml+xml"/></manifest>
      <spine toc="ncx"><itemref idref="b" linear="yes"/><itemref idref="a"/></spine></package>`;
    const ncx = `<?xml version="1.0"?><ncx xmlns="http://www.daisy.org/z3986/2005/ncx/"><navMap>
      <navPoint id="n1"><navLabel><text>Part One</text></navLabel><content src="text/part%201.xhtml"/>
        <navPoint id="n2"><navLabel><text>The Second Tale</text></navLabel><content src="text/part%201.xhtml#tale2"/></navPoint>
      </navPoint>
      <navPoint id="n3"><navLabel><text>Preface</text></navLabel><content src="text/b.xhtml"/></navPoint></navMap></ncx>`;
    const partOne = '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>The first tale is short &amp; sweet.</p><h2 id="tale2">Tale Two</h2><p>The second tale follows.</p></body></html>';
    writeFileSync(
      file,
      writeZip([
        { name: 'mimetype', data: 'application/epub+zip', store: true },
        { name: 'META-INF/container.xml', data: '<container><rootfiles><rootfile full-path="OPS/book.opf"/></rootfiles></container>' },
        { name: 'OPS/book.opf', data: opf },
        { name: 'OPS/toc.ncx', data: ncx },
        { name: 'OPS/text/part 1.xhtml', data: partOne },
        { name: 'OPS/text/b.xhtml', data: '<html xmlns="http://www.w3.org/1999/xhtml"><body><p>A preface comes first in the spine.</p></body></html>' },
      ]),
    );
    const d = await ingestFile(file);
    assert.equal(d.title, 'Two Tales');
    assert.equal(d.author, 'N. Cox');
    assert.equal(d.text, 'A preface comes first in the spine.\n\nThe first tale is short & sweet.\n\nTale Two\n\nThe second tale follows.');
    assert.deepEqual(
      d.sections.map((s) => [s.level, s.title, d.text.slice(s.start, s.end)]),
      [
        [1, 'Preface', 'A preface comes first in the spine.'],
        [1, 'Part One', 'The first tale is short & sweet.\n\nTale Two\n\nThe second tale follows.'],
        [2, 'The Second Tale', 'Tale Two\n\nThe second tale follows.'],
      ],
    );
  } finally {
    cleanup();
  }
});
