// A scanned PDF in the browser: one page of a real paper as an image (no text layer) is added
// through the page, read by OCR, and found: the highlight lands on the printed words, over the
// page image, through the same pdf.js text layer a text-layer PDF gets.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scanPages, writeImagePdf } from '../library/helpers/scanned-pdf';
import { addThroughUi, corpusFile, openSession, skipReason, type Session } from './harness';

const skip = skipReason();
if (skip) console.log(`# e2e skipped: ${skip}`);

describe('a scanned PDF in the reader', { skip: skip ?? false }, () => {
  let s: Session;
  let dir: string;
  before(async () => {
    s = await openSession();
    dir = mkdtempSync(path.join(os.tmpdir(), 'longread-e2e-scan-'));
  });
  after(async () => {
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('its page, read by OCR, is found and highlighted where the words are printed', async () => {
    const { page } = s;
    const file = path.join(dir, 'scanned-tracemonkey.pdf');
    // page 2 of the paper, where "speculates" is printed at x 195.5 of 612 points, baseline 712 of 792
    writeFileSync(file, writeImagePdf(await scanPages(corpusFile('pdf', 'tracemonkey.pdf'), [2])));
    await addThroughUi(page, [file]);
    // a fresh library: the one document is this one (its title may come from the OCR text)
    const row = page.locator('[data-document-id]').first();
    await row.waitFor({ timeout: 120_000 });
    assert.match(await row.innerText(), /PDF/);
    await row.click();
    const first = page.locator('[data-page-number="1"][data-rendered="true"]');
    await first.waitFor({ timeout: 30_000 });
    assert.ok((await first.locator('.textLayer span').count()) > 300, 'the OCR words form the text layer');

    await page.getByRole('searchbox', { name: 'Find in document' }).fill('trace speculates that the path');
    await page.getByRole('searchbox', { name: 'Find in document' }).press('Enter');
    await page.getByRole('option').first().click();
    const marks = first.locator('.textLayer mark.hl');
    await marks.first().waitFor();
    const marked = (await marks.allInnerTexts()).join(' ').replace(/\s+/g, ' ').toLowerCase();
    assert.match(marked, /speculates/);
    const pageBox = (await first.boundingBox())!;
    const word = (await first.locator('.textLayer mark.hl', { hasText: 'speculates' }).first().boundingBox())!;
    const x = ((word.x - pageBox.x) / pageBox.width) * 612;
    const top = 792 - ((word.y - pageBox.y) / pageBox.height) * 792;
    const bottom = 792 - ((word.y + word.height - pageBox.y) / pageBox.height) * 792;
    assert.ok(Math.abs(x - 195.5) < 4, `the mark starts at x ${x.toFixed(1)} pt`);
    assert.ok(bottom < 712 && top > 712, `the mark spans the baseline (${bottom.toFixed(1)}–${top.toFixed(1)} pt)`);
    await s.screenshot('scanned-pdf-highlight');
  });
});
