import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LongreadError } from '../../common/errors';
import { ingestFile } from '../../main/ingest/index';
import { Library } from '../../main/library/library';
import { corpus, needs, tempDir } from './helpers/corpus';

/** Every table the library writes on ingest; after a refused file all must be as before. */
const TABLES = ['documents', 'document_files', 'sections', 'pages', 'token_counts'];
function rowCounts(lib: Library): Record<string, number> {
  const counts = Object.fromEntries(TABLES.map((t) => [t, (lib.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]));
  counts.fts = lib.documents.search('pdf').length + lib.documents.search('the').length;
  return counts;
}

/** Adds the file to a library and expects the typed error, with no rows written. */
async function expectRefused(file: string, code: string, message: RegExp, options: { password?: string; maxBytes?: number; ocr?: boolean } = {}): Promise<void> {
  const { dir, cleanup } = tempDir();
  const lib = Library.open({ home: dir });
  try {
    const before = rowCounts(lib);
    await assert.rejects(lib.add(file, options), (e: unknown) => {
      assert.ok(e instanceof LongreadError, `a LongreadError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      assert.ok(e.message.includes(path.basename(file)), `the message names the file: ${e.message}`);
      assert.deepEqual(e.toJSON(), { code, message: e.message, file: path.resolve(file) });
      return true;
    });
    assert.deepEqual(rowCounts(lib), before, 'no partial rows');
  } finally {
    lib.close();
    cleanup();
  }
}

test('encrypted-attachment.pdf: password required, and a wrong password is its own error', needs('bad/encrypted-attachment.pdf'), async () => {
  await expectRefused(corpus('bad/encrypted-attachment.pdf'), 'pdf-password-required', /protected by a password/);
  await expectRefused(corpus('bad/encrypted-attachment.pdf'), 'pdf-wrong-password', /password is wrong/, { password: 'not-the-password' });
});

test('empty.pdf and empty_protected.pdf: blank pages are an empty document', needs('bad/empty.pdf', 'bad/empty_protected.pdf'), async () => {
  // empty_protected.pdf is encrypted with an empty user password, so it opens without asking.
  await expectRefused(corpus('bad/empty.pdf'), 'document-empty', /no text: its pages are blank/);
  await expectRefused(corpus('bad/empty_protected.pdf'), 'document-empty', /no text: its pages are blank/);
});

// With OCR off (Settings → Scanned PDFs); with it on such pages are read by OCR (ocr.test.ts).
test('scan-bad.pdf: a page image with a 6-character text layer looks scanned (OCR off)', needs('bad/scan-bad.pdf'), async () => {
  await expectRefused(corpus('bad/scan-bad.pdf'), 'pdf-scanned', /looks scanned/, { ocr: false });
});

test('truncated and garbage PDFs are corrupt', needs('pdf/tracemonkey.pdf'), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const whole = readFileSync(corpus('pdf/tracemonkey.pdf'));
    const truncated = path.join(dir, 'tracemonkey-truncated.pdf');
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.3)));
    await expectRefused(truncated, 'pdf-corrupt', /damaged or incomplete/);
    const garbage = path.join(dir, 'garbage.pdf');
    writeFileSync(garbage, Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(4000, 0x5a)]));
    await expectRefused(garbage, 'pdf-corrupt', /damaged or incomplete/);
  } finally {
    cleanup();
  }
});

test('the other bad PDFs are damaged in ways pdf.js repairs: they open with their text', needs('bad/bad-PageLabels.pdf', 'bad/boundingBox_invalid.pdf', 'bad/helloworld-bad.pdf', 'bad/pdfjsbad1586.pdf', 'bad/xref_command_missing.pdf', 'bad/cidfont_cmap_overflow.pdf'), async () => {
  const expected: [string, string, number][] = [
    ['bad/bad-PageLabels.pdf', 'PDF document with bad Page Labels.', 1],
    ['bad/boundingBox_invalid.pdf', 'Empty /CropBox and /MediaBox intersection', 3],
    ['bad/helloworld-bad.pdf', 'Hello, world!', 1],
    ['bad/pdfjsbad1586.pdf', 'pdf.js test', 1],
    ['bad/xref_command_missing.pdf', 'Reduced test-case', 1],
    ['bad/cidfont_cmap_overflow.pdf', '㐂㐄㐆', 1],
  ];
  for (const [rel, passage, pages] of expected) {
    const d = await ingestFile(corpus(rel));
    assert.ok(d.text.includes(passage), `${rel}: ${JSON.stringify(d.text.slice(0, 100))}`);
    assert.equal(d.pages.length, pages, rel);
  }
});

test('files that are not documents, too large, missing or empty get their own errors', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const xlsx = path.join(dir, 'report.xlsx');
    writeFileSync(xlsx, Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(200, 1)]));
    await expectRefused(xlsx, 'unsupported-type', /not a document Longread can read/);
    const docx = path.join(dir, 'report.docx');
    writeFileSync(docx, Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(200, 1)]));
    await expectRefused(docx, 'docx-corrupt', /report\.docx: this Word document is damaged or incomplete/);
    const binary = path.join(dir, 'photo.jpg');
    writeFileSync(binary, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0]));
    await expectRefused(binary, 'unsupported-type', /not a document Longread can read/);
    const big = path.join(dir, 'big.txt');
    writeFileSync(big, 'word '.repeat(1000));
    await expectRefused(big, 'file-too-large', /above the limit of 1\.0 KB/, { maxBytes: 1024 });
    await expectRefused(path.join(dir, 'nowhere.txt'), 'file-not-found', /no such file/);
    const blank = path.join(dir, 'blank.txt');
    writeFileSync(blank, '\n\n   \n\t\n');
    await expectRefused(blank, 'document-empty', /no readable text/);
    const gutenbergOnly = path.join(dir, 'licence-only.txt');
    writeFileSync(gutenbergOnly, 'Title: Nothing\n\n*** START OF THE PROJECT GUTENBERG EBOOK NOTHING ***\n\n*** END OF THE PROJECT GUTENBERG EBOOK NOTHING ***\nlicence text\n');
    await expectRefused(gutenbergOnly, 'document-empty', /no readable text/);
  } finally {
    cleanup();
  }
});

test('page images without text, OCR off: all scanned is pdf-scanned; a few scanned pages are a warning', async () => {
  const { writePdf } = await import('./helpers/pdf-writer');
  const { dir, cleanup } = tempDir();
  try {
    const text = (n: number) => [{ x: 72, y: 700, text: `Page ${n} has a proper text layer with enough words to count.` }];
    const scanned = path.join(dir, 'scanned.pdf');
    writeFileSync(scanned, writePdf([[], [], [], []], { imagePages: [1, 2, 3, 4] }));
    await expectRefused(scanned, 'pdf-scanned', /looks scanned/, { ocr: false });

    const mixed = path.join(dir, 'mixed.pdf');
    writeFileSync(mixed, writePdf([text(1), text(2), [], []], { imagePages: [1, 3, 4] }));
    const d = await ingestFile(mixed, { ocr: false });
    assert.equal(d.pages.length, 4);
    assert.ok(d.text.includes('Page 2 has a proper text layer'));
    assert.deepEqual(d.warnings, ['Pages 3–4 look scanned; their text is missing (OCR is off).']);
  } finally {
    cleanup();
  }
});
