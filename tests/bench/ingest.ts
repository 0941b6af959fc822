/**
 * Benchmark (not a test): ingest throughput on the shared corpus. For each readable file,
 * reading (parse to the document model) and adding (read + one-transaction store into a
 * fresh library) are timed, best of --runs; then totals per file type in pages/s and MB/s.
 * Pages are the PDF's pages, or ~2,000-character book pages for other formats.
 *   node bin/run-ts.mjs tests/bench/ingest.ts [--runs 3]
 * With --ocr N, only OCR is measured instead: the first N pages of tracemonkey.pdf drawn to
 * images (200 dpi JPEG) and written as an image-only PDF, read by OCR (pages/s of the OCR phase,
 * best of --runs, with the load average, since 2 shared cores make this vary a lot):
 *   node bin/run-ts.mjs tests/bench/ingest.ts --ocr 4 --runs 1
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LongreadError } from '../../common/errors';
import { ingestFile } from '../../main/ingest/index';
import { Library } from '../../main/library/library';
import { corpusDir, corpusFile, tempDir } from '../library/helpers/corpus';
import { scanPages, writeImagePdf } from '../library/helpers/scanned-pdf';

const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;

const ocrArg = process.argv.indexOf('--ocr');
if (ocrArg > 0) {
  await benchOcr(Number(process.argv[ocrArg + 1] ?? 4));
  process.exit(0);
}

async function benchOcr(pageCount: number): Promise<void> {
  const paper = corpusFile('pdf/tracemonkey.pdf');
  if (!paper) {
    console.log(`No corpus under ${corpusDir}; nothing to measure.`);
    return;
  }
  const { dir, cleanup } = tempDir('longread-bench-');
  try {
    const file = path.join(dir, 'scan.pdf');
    writeFileSync(file, writeImagePdf(await scanPages(paper, Array.from({ length: pageCount }, (_, i) => i + 1))));
    let best = Infinity;
    for (let r = 0; r < runs; r++) {
      const load = os.loadavg()[0]!;
      let ocrStart = 0;
      let ocrEnd = 0;
      const t0 = performance.now();
      const doc = await ingestFile(file, {
        onProgress: (done, total, ocr) => {
          if (!ocr) return;
          if (done === 0) ocrStart = performance.now();
          if (done === total) ocrEnd = performance.now();
        },
      });
      const totalMs = performance.now() - t0;
      const ocrMs = ocrEnd - ocrStart;
      best = Math.min(best, ocrMs);
      const words = doc.pages.reduce((n, p) => n + (p.words?.length ?? 0), 0);
      console.log(
        `OCR run ${r + 1}: ${pageCount} pages in ${(ocrMs / 1000).toFixed(1)} s (whole read ${(totalMs / 1000).toFixed(1)} s): ${((pageCount * 1000) / ocrMs).toFixed(3)} pages/s, ${(ocrMs / pageCount / 1000).toFixed(1)} s a page, ${words} words; load average before ${load.toFixed(2)}, after ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} CPUs`,
      );
    }
    console.log(`OCR best: ${((pageCount * 1000) / best).toFixed(3)} pages/s`);
  } finally {
    cleanup();
  }
}

interface Row {
  file: string;
  type: string;
  bytes: number;
  pages: number;
  readMs: number;
  addMs: number;
}

const files = ['books', 'pdf']
  .flatMap((d) => {
    try {
      return readdirSync(path.join(corpusDir, d)).map((f) => path.join(corpusDir, d, f));
    } catch {
      return [];
    }
  })
  .sort();
if (files.length === 0) {
  console.log(`No corpus under ${corpusDir}; nothing to measure.`);
  process.exit(0);
}

const rows: Row[] = [];
for (const file of files) {
  let readMs = Infinity;
  let addMs = Infinity;
  let doc;
  try {
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      doc = await ingestFile(file);
      readMs = Math.min(readMs, performance.now() - t0);
      const { dir, cleanup } = tempDir('longread-bench-');
      const lib = Library.open({ home: dir });
      const t1 = performance.now();
      await lib.add(file);
      addMs = Math.min(addMs, performance.now() - t1);
      lib.close();
      cleanup();
    }
  } catch (e) {
    console.log(`${path.basename(file)}: skipped (${e instanceof LongreadError ? e.code : String(e)})`);
    continue;
  }
  rows.push({ file: path.basename(file), type: doc!.type, bytes: statSync(file).size, pages: doc!.pages.length, readMs, addMs });
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(9);
const rate = (pages: number, bytes: number, ms: number) => `${fmt(pages / (ms / 1000))} ${fmt(bytes / 1024 / 1024 / (ms / 1000), 2)}`;
console.log(`Ingest throughput, best of ${runs} (node ${process.version}, ${process.platform}/${process.arch})`);
console.log(`${'file'.padEnd(26)}${'type'.padEnd(6)}${'MB'.padStart(7)}${'pages'.padStart(7)} | read: ${'pages/s'.padStart(9)} ${'MB/s'.padStart(9)} | read+store: ${'pages/s'.padStart(9)} ${'MB/s'.padStart(9)}`);
for (const r of rows) {
  console.log(`${r.file.padEnd(26)}${r.type.padEnd(6)}${(r.bytes / 1024 / 1024).toFixed(2).padStart(7)}${String(r.pages).padStart(7)} | read: ${rate(r.pages, r.bytes, r.readMs)} | read+store: ${rate(r.pages, r.bytes, r.addMs)}`);
}
console.log('\nTotals per type');
for (const type of [...new Set(rows.map((r) => r.type))]) {
  const of = rows.filter((r) => r.type === type);
  const sum = (k: keyof Row) => of.reduce((a, r) => a + (r[k] as number), 0);
  console.log(`${type.padEnd(6)} ${String(of.length).padStart(2)} files ${String(sum('pages')).padStart(6)} pages ${(sum('bytes') / 1024 / 1024).toFixed(2).padStart(6)} MB | read: ${rate(sum('pages'), sum('bytes'), sum('readMs'))} | read+store: ${rate(sum('pages'), sum('bytes'), sum('addMs'))}`);
}
