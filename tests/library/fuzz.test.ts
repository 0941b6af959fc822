import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { corpusFile, repoRoot, tempDir } from './helpers/corpus';
import { sampleDocx } from './helpers/docx-writer';
import { buildEpub, deepNav, random, readBytes, words } from './helpers/hostile';
import { readZipEntries, writeZip, type ZipEntrySpec } from './helpers/zip-writer';

/**
 * Seeded fuzzing of every reader: small valid documents of each format (text, Markdown, HTML,
 * EPUB, Word, PDF), mutated (hostile snippets repeated, ranges cut or repeated, bytes flipped,
 * truncation), each read whole on this thread (PDFs in a child process, below). Every input
 * must end with a document or a typed LongreadError (readBytes rethrows anything else) within
 * a CPU time proportional to its size. The run stops after two mutants of each seed and its
 * time budget; the inputs are the same on every run (seed below), only how many run varies.
 */
// LONGREAD_FUZZ_SEED and LONGREAD_FUZZ_MS run other inputs or longer, by hand
const SEED = Number(process.env.LONGREAD_FUZZ_SEED) || 3005;
const BUDGET_MS = Number(process.env.LONGREAD_FUZZ_MS) || 25_000;
/** CPU allowed per input: a fixed start-up plus time per byte (100 KB/s is over 10 times slower than the readers run). */
const allowedSeconds = (bytes: number, type: string) => (type === 'pdf' ? 3 : 1) + bytes / 100_000;

const SNIPPETS = [
  '<div>', '</div>', '<p>', '<br>', '<meta name=author ', '<title>', '<pre>', '<h1>', '</h1>', '<script>', '<!--', ']]>', '<![CDATA[',
  '**a ', '*', '_', '__', '`', '```\n', '# ', '#', '![a](', '[', ']', '(', ')', '<a', '>', '\\', '---\n', '> ', '- ', '1. ',
  ' ', '\t', '\n', '\n\n', '\r', '\u2028', '\u00a0', '&amp;', '&#', '&#x1F600;', 'é', '\ud83d', '\u0000', 'CHAPTER I\n\n',
  '*** START OF THE PROJECT GUTENBERG EBOOK X ***\n', '<ol><li><a href="ch1.xhtml">x</a>', '<navPoint>', 'href="../../x"', '%PDF-1.4',
  'obj', 'endobj', 'stream\n', 'endstream', '<<', '>>', '/Type /Page', 'xref', 'trailer', 'startxref',
];

interface Seed {
  name: string;
  type: string;
  text?: string;
  bytes?: Buffer;
  epub?: Parameters<typeof buildEpub>[0];
  /** A Word document's entries: its word/document.xml is mutated as text, or the whole archive as bytes. */
  docx?: ZipEntrySpec[];
}

async function seedDocuments(): Promise<Seed[]> {
  const rnd = random(SEED);
  const prose = words(3000, rnd);
  const docs: Seed[] = [
    { name: 'seed.txt', type: 'text', text: `Title: Seed\nAuthor: Someone\n\n*** START OF THE PROJECT GUTENBERG EBOOK SEED ***\n\nCHAPTER I\n\n${prose}\n\nCHAPTER II\n\n${prose}\n` },
    { name: 'seed.md', type: 'markdown', text: `---\ntitle: "Seed"\nauthor: Someone\n---\n# One\n\n**bold** *em* _em_ [link](http://x) ![img](y.png) \`code\`\n\n${prose}\n\n## Two\n\n\`\`\`\ncode block\n\`\`\`\n\n> quoted\n\n- a\n- b\n` },
    { name: 'seed.html', type: 'html', text: `<!doctype html><html><head><meta charset="utf-8"><meta name="author" content="Someone"><title>Seed</title><style>p{}</style></head><body><h1>One</h1><p>${prose}</p><pre>  kept\n  lines</pre><table><tr><td>a</td><td>b</td></tr></table><h2 id="two">Two</h2><p>x<br>y</p></body></html>` },
    {
      name: 'seed.epub',
      type: 'epub',
      epub: {
        nav: deepNav(3),
        files: [{ name: 'OEBPS/ch1.xhtml', data: `<html xmlns="http://www.w3.org/1999/xhtml"><body><h1>One</h1><p id="a">${prose}</p></body></html>` }],
      },
    },
    // written by the docx package as Word would store it: styles, numbering, a table, core properties
    { name: 'seed.docx', type: 'docx', docx: await readZipEntries(await sampleDocx()) },
  ];
  const pdfs = ['pdf/hello_world_rotated.pdf', 'pdf/nested_outline.pdf', 'bad/helloworld-bad.pdf', 'bad/bad-PageLabels.pdf'];
  for (const rel of pdfs) {
    const file = corpusFile(rel);
    if (file) docs.push({ name: rel.replace(/\//g, '-'), type: 'pdf', bytes: readFileSync(file) });
  }
  return docs;
}

/** One mutation of a string (text formats, the EPUB's XML parts, a Word document's body). */
function mutateText(s: string, rnd: () => number): string {
  const at = Math.floor(rnd() * (s.length + 1));
  switch (Math.floor(rnd() * 5)) {
    case 0: {
      // a hostile snippet repeated many times
      const snippet = SNIPPETS[Math.floor(rnd() * SNIPPETS.length)]!;
      const times = 1 + Math.floor(rnd() ** 2 * 20_000);
      return s.slice(0, at) + snippet.repeat(times) + s.slice(at);
    }
    case 1:
      return s.slice(0, at) + s.slice(Math.min(s.length, at + Math.floor(rnd() * 200)));
    case 2: {
      const end = Math.min(s.length, at + Math.floor(rnd() * 100));
      return s.slice(0, end) + s.slice(at, end).repeat(Math.floor(rnd() * 500)) + s.slice(end);
    }
    case 3:
      return s.slice(0, at);
    default: {
      let out = s;
      for (let k = Math.floor(rnd() * 8); k >= 0; k--) {
        const i = Math.floor(rnd() * out.length);
        out = out.slice(0, i) + SNIPPETS[Math.floor(rnd() * SNIPPETS.length)]! + out.slice(i + 1);
      }
      return out;
    }
  }
}

/** One mutation of raw bytes (PDFs, zipped EPUBs and Word documents). */
function mutateBytes(b: Buffer, rnd: () => number): Buffer {
  const at = Math.floor(rnd() * (b.length + 1));
  switch (Math.floor(rnd() * 4)) {
    case 0: {
      const out = Buffer.from(b);
      for (let k = 1 + Math.floor(rnd() * 16); k > 0; k--) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
      return out;
    }
    case 1:
      return b.subarray(0, at);
    case 2: {
      const snippet = Buffer.from(SNIPPETS[Math.floor(rnd() * SNIPPETS.length)]!.repeat(1 + Math.floor(rnd() ** 2 * 5000)), 'latin1');
      return Buffer.concat([b.subarray(0, at), snippet, b.subarray(at)]);
    }
    default: {
      const end = Math.min(b.length, at + Math.floor(rnd() * 64));
      return Buffer.concat([b.subarray(0, end), ...Array.from({ length: Math.floor(rnd() * 50) }, () => b.subarray(at, end)), b.subarray(end)]);
    }
  }
}

function mutant(seed: Seed, rnd: () => number): Buffer {
  if (seed.text !== undefined) {
    let s = seed.text;
    for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) s = mutateText(s, rnd);
    return Buffer.from(s, 'utf8');
  }
  if (seed.epub) {
    if (rnd() < 0.25) return mutateBytes(buildEpub(seed.epub), rnd);
    const parts = { ...seed.epub, files: seed.epub.files!.map((f) => ({ ...f })) };
    const which = Math.floor(rnd() * 3);
    if (which === 0) parts.nav = mutateText(parts.nav!, rnd);
    else if (which === 1) parts.files[0]!.data = mutateText(String(parts.files[0]!.data), rnd);
    else parts.spine = mutateText('<itemref idref="ch1"/>', rnd);
    return buildEpub(parts);
  }
  if (seed.docx) {
    if (rnd() < 0.25) return mutateBytes(writeZip(seed.docx), rnd);
    return writeZip(seed.docx.map((e) => (e.name === 'word/document.xml' ? { name: e.name, data: mutateText(String(e.data), rnd) } : e)));
  }
  let b = seed.bytes!;
  for (let k = 1 + Math.floor(rnd() * 2); k > 0; k--) b = mutateBytes(b, rnd);
  return b;
}

test('fuzz: mutated documents of every format end in proportional time with a document or a typed error', async (t) => {
  const seeds = await seedDocuments();
  const rnd = random(SEED);
  const ran = new Map<string, number>();
  const outcomes = new Map<string, number>();
  // the unmutated seeds read as documents (PDFs of the bad corpus may be refused)
  for (const seed of seeds) {
    const out = await readBytes(seed.name, seed.epub ? buildEpub(seed.epub) : seed.docx ? writeZip(seed.docx) : (seed.bytes ?? Buffer.from(seed.text!, 'utf8')));
    if (!seed.name.startsWith('bad-')) assert.ok(out.doc, `${seed.name}: ${out.error?.message}`);
  }
  // at least two mutants of every seed, then more until the budget is spent
  const deadline = performance.now() + BUDGET_MS;
  const pdfMutants: { i: number; name: string; bytes: Buffer }[] = [];
  for (let i = 0; i < 2 * seeds.length || performance.now() < deadline; i++) {
    const seed = seeds[i % seeds.length]!;
    const bytes = mutant(seed, rnd);
    if (seed.type === 'pdf') {
      // read in a child process: pdf.js rejects promises of its own on damaged files, which the
      // product drops (see pdf.ts) but node:test would report as this test's failure
      if (pdfMutants.length < 40) pdfMutants.push({ i, name: seed.name, bytes });
      continue;
    }
    const out = await readBytes(seed.name, bytes).catch((e: unknown) => {
      throw new Error(`input ${i} (${seed.name}, ${bytes.length} bytes, seed ${SEED}) threw an untyped ${String(e)}`, { cause: e });
    });
    const allowed = allowedSeconds(bytes.length, seed.type);
    assert.ok(out.cpuSeconds < allowed, `input ${i} (${seed.name}, ${bytes.length} bytes) took ${out.cpuSeconds.toFixed(2)} s of CPU (allowed ${allowed.toFixed(2)})`);
    ran.set(seed.type, (ran.get(seed.type) ?? 0) + 1);
    const key = out.doc ? 'document' : out.error!.code;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  const { dir, cleanup } = tempDir();
  try {
    const files = pdfMutants.map((m) => path.join(dir, `${m.i}-${m.name}`));
    pdfMutants.forEach((m, k) => writeFileSync(files[k]!, m.bytes));
    // an unmutated PDF first loads pdf.js (seconds of CPU), not counted
    const warmUp = corpusFile('pdf/hello_world_rotated.pdf');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'tests', 'library', 'helpers', 'read-child.ts'), ...(warmUp ? [warmUp] : []), ...files], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, `the PDF reader process ended: ${r.stderr.slice(-2000)}`);
    const lines = r.stdout.split('\n').filter(Boolean);
    if (warmUp) lines.shift();
    assert.equal(lines.pop(), 'alive');
    assert.equal(lines.length, pdfMutants.length);
    lines.forEach((line, k) => {
      const out = JSON.parse(line) as { document?: string; code?: string; untyped?: string; cpuSeconds: number };
      const m = pdfMutants[k]!;
      assert.equal(out.untyped, undefined, `input ${m.i} (${m.name}, ${m.bytes.length} bytes, seed ${SEED}) threw an untyped ${out.untyped}`);
      const allowed = allowedSeconds(m.bytes.length, 'pdf');
      assert.ok(out.cpuSeconds < allowed, `input ${m.i} (${m.name}, ${m.bytes.length} bytes) took ${out.cpuSeconds.toFixed(2)} s of CPU (allowed ${allowed.toFixed(2)})`);
      ran.set('pdf', (ran.get('pdf') ?? 0) + 1);
      const key = out.document !== undefined ? 'document' : out.code!;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    });
  } finally {
    cleanup();
  }
  t.diagnostic(`inputs per format: ${JSON.stringify(Object.fromEntries(ran))}; outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
});
