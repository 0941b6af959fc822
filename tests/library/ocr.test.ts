// Scanned PDFs read by OCR (main/ingest/ocr.ts) in the reader process: two pages of a real paper
// drawn to JPEG images and written as an image-only PDF, then added to a library.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { IngestProgress } from '../../common/document';
import { LongreadError } from '../../common/errors';
import { AppApi } from '../../main/api/api';
import { ingestSource, loadSource } from '../../main/ingest/index';
import { ingestSourceInProcess } from '../../main/ingest/ingest-process';
import { ocrWorkerOptions } from '../../main/ingest/ocr';
import { Library } from '../../main/library/library';
import { procAvailable, readerProcesses, until } from '../helpers/engine-processes';
import { corpus, needs, repoRoot, tempDir } from './helpers/corpus';
import { RecordingAssistant } from '../app/helpers';
import { scanPages, writeImagePdf } from './helpers/scanned-pdf';

const PAPER = 'pdf/tracemonkey.pdf';
/** On the paper's second page, near its top. */
const SENTENCE = 'recording and compiling a trace speculates that the path and typing will be exactly as they were during recording';

let scanned: Promise<Buffer> | null = null;
/** Pages 1 and 2 of the paper as an image-only PDF (made once per run of this file). */
const scannedPaper = () => (scanned ??= scanPages(corpus(PAPER), [1, 2]).then(writeImagePdf));

test('OCR starts from local files only: the English data of @tesseract.js-data/eng, no cache, no URL', () => {
  const options = ocrWorkerOptions();
  assert.equal(options.cacheMethod, 'none');
  assert.ok(path.isAbsolute(options.langPath), options.langPath);
  assert.doesNotMatch(options.langPath, /^[a-z]+:\/\//i, 'a URL would be fetched');
  const data = path.join(options.langPath, 'eng.traineddata.gz');
  assert.ok(existsSync(data) && statSync(data).size > 1_000_000, `${data} is the installed language data`);
});

test('a scanned PDF is read by OCR in the reader: its sentences are found by full-text search on their page, with word boxes where the words are printed', needs(PAPER), async () => {
  const { dir, cleanup } = tempDir();
  const lib = Library.open({ home: path.join(dir, 'home') });
  try {
    const file = path.join(dir, 'scan.pdf');
    writeFileSync(file, await scannedPaper());
    const progress: IngestProgress[] = [];
    const added = await lib.add(file, { inOwnProcess: true, onProgress: (p) => progress.push(p) });
    const id = added.document.id;
    assert.match(lib.documents.get(id)!.warnings.join(' '), /Pages 1–2 have no text layer and were read by OCR/);
    assert.equal(lib.documents.get(id)!.title, 'scan', 'no title is guessed from OCR boxes: the file name');

    const ocr = progress.filter((p) => p.phase === 'ocr');
    assert.deepEqual(
      ocr.map((p) => [p.done, p.total]),
      [
        [0, 2],
        [1, 2],
        [2, 2],
      ],
    );
    assert.equal(ocr[0]!.etaSeconds, undefined, 'no estimate before a page is done');
    assert.ok(ocr[1]!.etaSeconds! > 0, 'one page left: an estimate');
    assert.equal(ocr[2]!.etaSeconds, 0);

    const hits = lib.documents.search(SENTENCE, { docId: id });
    assert.equal(hits.length, 1, JSON.stringify(hits));
    assert.equal(hits[0]!.page, 2);
    assert.equal(lib.documents.search('Trace-based Just-in-Time Type Specialization', { docId: id })[0]?.page, 1);

    // the boxes, against where the original PDF's text layer prints the same word
    const pages = lib.documents.pages(id);
    assert.ok(pages.every((p) => (p.words?.length ?? 0) > 300), 'both pages keep their words');
    const ocrWord = pages[1]!.words!.find((w) => w.text === 'speculates');
    assert.ok(ocrWord, 'the word is among page 2’s boxes');
    const printed = await printedWord(corpus(PAPER), 2, 'speculates');
    assert.ok(Math.abs(ocrWord.x - printed.x) < 3, `x ${ocrWord.x} vs ${printed.x}`);
    assert.ok(Math.abs(ocrWord.y - printed.y) < 4, `bottom ${ocrWord.y} vs baseline ${printed.y}`);
    assert.ok(Math.abs(ocrWord.width - printed.width) < 4, `width ${ocrWord.width} vs ${printed.width}`);
    assert.ok(ocrWord.height > 3 && ocrWord.height < 12, `height ${ocrWord.height} of 10-point type`);
  } finally {
    lib.close();
    cleanup();
  }
});

test('with OCR off a scanned PDF is refused as pdf-scanned, naming the file: the ingest option, the app setting, the CLI flag', needs(PAPER), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'scan.pdf');
    writeFileSync(file, await scannedPaper());
    const refused = (e: { code?: string; message?: string; file?: string }) => {
      assert.equal(e.code, 'pdf-scanned', JSON.stringify(e));
      assert.match(e.message ?? '', /^scan\.pdf: this PDF looks scanned.*OCR is turned off/);
      return true;
    };
    await assert.rejects(ingestSource(await loadSource(file), { ocr: false }), (e: unknown) => {
      assert.ok(e instanceof LongreadError, String(e));
      assert.equal(e.file, file);
      return refused(e);
    });

    // Settings → Scanned PDFs off reaches the reader through library.add
    const api = AppApi.open({ home: path.join(dir, 'app'), mode: 'browser', openAssistant: async () => new RecordingAssistant() });
    try {
      assert.equal((await api.call('settings.set', { ocr: false })).ok, true);
      const result = await api.call('library.add', { paths: [file] });
      assert.ok(!result.ok && refused(result.error), JSON.stringify(result));
    } finally {
      await api.close();
    }

    const cli = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'longread.mjs'), 'library', 'add', file, '--no-ocr', '--json'], {
      env: { ...process.env, LONGREAD_HOME: path.join(dir, 'cli'), LONGREAD_MODEL: path.join(dir, 'no-model') },
      encoding: 'utf8',
    });
    assert.equal(cli.status, 1, cli.stderr);
    refused((JSON.parse(cli.stdout) as { error: { code: string; message: string } }).error);
  } finally {
    cleanup();
  }
});

test('cancel during OCR kills the reader with its OCR worker: the answer comes at once, no process is left', needs(PAPER), async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = path.join(dir, 'scan.pdf');
    writeFileSync(file, await scannedPaper());
    const controller = new AbortController();
    let abortedAt = 0;
    const after: number[] = [];
    const reading = ingestSourceInProcess(await loadSource(file), {
      signal: controller.signal,
      onProgress: (done, _total, ocr) => {
        if (abortedAt) after.push(done);
        else if (ocr) {
          abortedAt = performance.now();
          controller.abort(); // OCR of the first page has begun
        }
      },
    });
    const error = await reading.then(
      () => null,
      (e: unknown) => e,
    );
    const settledAt = performance.now();
    assert.ok(error instanceof LongreadError && error.code === 'cancelled', String(error));
    assert.ok(abortedAt > 0, 'OCR began');
    assert.ok(settledAt - abortedAt < 2000, `cancelled after ${(settledAt - abortedAt).toFixed(0)} ms`);
    assert.deepEqual(after, [], 'nothing is reported after the cancel');
    if (procAvailable) await until(() => readerProcesses().length === 0, 'the reader process (and the OCR worker thread in it) has ended');
  } finally {
    cleanup();
  }
});

/** Where a PDF's own text layer prints `word` on a page: x, baseline and width in points. */
async function printedWord(file: string, pageNumber: number, word: string): Promise<{ x: number; y: number; width: number }> {
  const task = getDocument({ data: new Uint8Array(readFileSync(file)), verbosity: 0, isEvalSupported: false });
  try {
    const page = await (await task.promise).getPage(pageNumber);
    for (const item of (await page.getTextContent()).items) {
      if (!('str' in item)) continue;
      const at = item.str.indexOf(word);
      if (at < 0) continue;
      // pdf.js gives a run of text; the word's place in it, by its share of the run's characters
      const perChar = item.width / item.str.length;
      return { x: item.transform[4] + at * perChar, y: item.transform[5], width: word.length * perChar };
    }
    throw new Error(`"${word}" is not on page ${pageNumber} of ${file}`);
  } finally {
    await task.destroy();
  }
}

