// Books prepared for fast questions, in a real browser with the bundled model: a book added is
// prepared in the background and its row says so; with that setting off, the row's ⚡ button
// prepares it; the sidebar shows how much disk the prepared states use.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { addThroughUi, openSession, skipReason, type Session } from './harness';

const skip = skipReason();
if (skip) console.log(`# e2e skipped: ${skip}`);

/** A short book (a few thousand tokens): preparing it takes a moment. */
function shortBook(dir: string, name: string, title: string): string {
  const file = path.join(dir, name);
  const chapter = (n: number) => `CHAPTER ${n}\n\n` + Array.from({ length: 40 }, (_, i) => `In chapter ${n} the ${title} crew sailed past island ${i + 1} and counted its gulls.`).join('\n\n');
  writeFileSync(file, `${title}\n\n${chapter(1)}\n\n${chapter(2)}\n`);
  return file;
}

describe('prepared for fast questions, in the browser', { skip: skip ?? false }, () => {
  let s: Session;
  before(async () => {
    s = await openSession({ prepareAfterAdd: true });
  });
  after(async () => {
    await s?.close();
  });

  test('a book added is prepared in the background; the row and the sidebar say so', async () => {
    const { page } = s;
    await addThroughUi(page, [shortBook(s.home, 'voyage.txt', 'Voyage')]);
    const row = page.locator('[data-document-id]').filter({ hasText: 'Voyage' });
    await row.getByText('Ready for fast questions').waitFor({ timeout: 120_000 });
    assert.match(await page.locator('.prepared').innerText(), /1 ready for fast questions · \d+\.\d\d of 4\.00 GiB/);
    assert.equal(await row.getByRole('button', { name: /Prepare .* for fast questions/ }).count(), 0, 'nothing left to prepare');
    await s.screenshot('prepared-row');
  });

  test('with the setting off a new book waits; its ⚡ button prepares it', async () => {
    const { page } = s;
    await page.locator('header').getByRole('button', { name: 'Settings' }).click();
    const box = page.getByLabel('Prepare each book added, in the background');
    await box.uncheck();
    await page.keyboard.press('Escape');
    await addThroughUi(page, [shortBook(s.home, 'harbour.txt', 'Harbour')]);
    const row = page.locator('[data-document-id]').filter({ hasText: 'Harbour' });
    await row.waitFor();
    const prepare = row.getByRole('button', { name: /Prepare harbour for fast questions/i });
    await prepare.waitFor({ state: 'attached' });
    assert.match(await row.innerText(), /\bReady\b/);
    assert.doesNotMatch(await row.innerText(), /fast questions/);
    await row.hover();
    await prepare.click();
    await row.getByText('Ready for fast questions').waitFor({ timeout: 120_000 });
    assert.match(await page.locator('.prepared').innerText(), /2 ready for fast questions/);
    assert.deepEqual(s.problems, []);
  });
});
