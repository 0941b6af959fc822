// Collections in a real browser, on a tiny random T5 imported through Settings: a collection is
// made in the sidebar, documents are put in it, a question asked of it answers with citations
// naming their documents, and a citation in another document opens that document at the passage
// while the collection's chat stays. Random weights: structure is checked, never content.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { tinyModelDir } from '../helpers/tiny-model';
import { addThroughUi, corpusFile, openSession, skipReason, type Session } from './harness';

const skip = skipReason();
if (skip) console.log(`# e2e skipped: ${skip}`);
const modelDir = !skip ? await tinyModelDir({ layers: 2, dModel: 32, seed: 1, biasStd: 0.1 }, 'tiny-e2e-collections') : '';

function documentRow(page: Page, title: RegExp) {
  return page.locator('[data-document-id]').filter({ hasText: title });
}

async function openDocument(page: Page, title: RegExp): Promise<void> {
  await documentRow(page, title).locator('.open').click();
  await page.locator('[data-document-id][class*="selected"]').filter({ hasText: title }).waitFor();
}

describe('collections in the browser', { skip: skip ?? false, timeout: 240_000 }, () => {
  let s: Session;

  before(async () => {
    s = await openSession();
    const { page } = s;
    await page.locator('header').getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    await dialog.getByLabel(/Import a model folder/).fill(modelDir);
    await dialog.getByRole('button', { name: 'Import' }).click();
    await dialog.locator('li').filter({ hasText: 'In use' }).waitFor({ timeout: 60_000 });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });
  after(async () => {
    await s?.close();
  });

  test('a collection is made, renamed and deleted in the sidebar; its documents stay', async () => {
    const { page } = s;
    const sidebar = page.getByRole('region', { name: 'Collections' });
    await sidebar.getByRole('button', { name: 'New…' }).click();
    await sidebar.getByLabel('New collection name').fill('Spare');
    await sidebar.getByRole('button', { name: 'Create' }).click();
    await sidebar.locator('[data-collection-id]').filter({ hasText: 'Spare' }).waitFor();
    await sidebar.getByRole('button', { name: 'Rename Spare' }).click();
    await sidebar.getByLabel('New name for Spare').fill('Old shelf');
    await sidebar.getByRole('button', { name: 'Save' }).click();
    const row = sidebar.locator('[data-collection-id]').filter({ hasText: 'Old shelf' });
    await row.waitFor();
    await sidebar.getByRole('button', { name: 'Delete Old shelf' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
  });

  test('a question asked of a collection cites its documents; a citation in another document opens it at the passage', async () => {
    const { page } = s;
    await addThroughUi(page, [corpusFile('books', 'alice.epub'), corpusFile('pdf', 'tracemonkey.pdf')]);
    await documentRow(page, /Alice/).waitFor({ timeout: 60_000 });
    await documentRow(page, /Trace-based/).waitFor({ timeout: 60_000 });
    const traceId = (await documentRow(page, /Trace-based/).getAttribute('data-document-id'))!;

    const sidebar = page.getByRole('region', { name: 'Collections' });
    await sidebar.getByRole('button', { name: 'New…' }).click();
    await sidebar.getByLabel('New collection name').fill('Reading');
    await sidebar.getByRole('button', { name: 'Create' }).click();
    const collection = sidebar.locator('[data-collection-id]').filter({ hasText: 'Reading' });
    await collection.waitFor();
    // the open document goes in with +, one after the other (a document may be in several collections)
    await openDocument(page, /Trace-based/);
    await collection.getByRole('button', { name: /^Add “Trace-based.*” to Reading$/ }).click();
    await collection.filter({ hasText: '1 document' }).waitFor();
    await openDocument(page, /Alice/);
    await collection.getByRole('button', { name: /^Add “Alice.*” to Reading$/ }).click();
    await collection.filter({ hasText: '2 documents' }).waitFor();
    await collection.getByRole('button', { name: /^Remove “Alice.*” from Reading$/ }).waitFor();

    // selected, the collection is what the chat panel asks; the reader keeps Alice
    await collection.getByRole('button', { name: /Reading/ }).first().click();
    await page.getByText('Ask anything about the collection “Reading”.').waitFor();
    await page.locator('[data-document-id][class*="selected"]').filter({ hasText: /Alice/ }).waitFor();
    await page.getByLabel('Your question').fill('What is a trace tree?');
    await page.getByLabel('Your question').press('Enter');
    const answer = page.locator('[data-testid="chat-messages"] [data-role="assistant"][data-state="final"]');
    await answer.waitFor({ timeout: 120_000 });
    await s.screenshot('21-collection-answer');

    const citations = answer.locator('button.citation');
    assert.ok((await citations.count()) >= 1, 'the answer has citations');
    for (const label of await citations.locator('.where').allInnerTexts()) {
      assert.match(label, /^(Alice|Trace-based)[^,]*, (p\. \d+|.+)$/, `each citation names its document: "${label}"`);
    }
    const other = answer.locator(`button.citation[data-cited-document="${traceId}"]`).first();
    await other.waitFor();
    const where = await other.locator('.where').innerText();
    const cited = Number(/p\. (\d+)$/.exec(where)?.[1]);
    assert.ok(cited >= 1, `a PDF citation names its page: "${where}"`);
    await other.click();
    // the cited document opens at its page with the passage highlighted
    await page.locator(`[data-document-id="${traceId}"][class*="selected"]`).waitFor();
    const pageEl = page.locator(`[data-page-number="${cited}"]`);
    await pageEl.locator('mark.hl').first().waitFor({ timeout: 30_000 });
    assert.ok(await pageEl.locator('mark.hl').first().isVisible(), 'the highlight is in view');
    assert.equal(await page.getByRole('textbox', { name: 'Page number' }).inputValue(), String(cited));
    // and the collection's chat is still the one in the panel
    assert.equal(await collection.getByRole('button', { name: /Reading/ }).first().getAttribute('aria-pressed'), 'true');
    await page.locator('[data-testid="chat-messages"]').getByText('What is a trace tree?').waitFor();
    await s.screenshot('22-collection-citation-jump');
  });

  test('the Summary tab summarizes a selected collection document by document', async () => {
    const { page } = s;
    await page.getByRole('tab', { name: 'Summary' }).click();
    await page.getByLabel('What to summarize').selectOption({ label: 'The collection “Reading”, document by document' });
    await page.locator('#tabpanel-summary').getByRole('button', { name: 'Summarize', exact: true }).click();
    const result = page.getByTestId('summary-result');
    await result.getByRole('heading', { name: 'Summary of the collection “Reading”' }).waitFor({ timeout: 180_000 });
    const parts = result.locator('section.collection-document');
    assert.equal(await parts.count(), 2, 'one summary per document');
    assert.match(await parts.nth(0).locator('h4').innerText(), /Trace-based/, 'in the collection order');
    assert.match(await parts.nth(1).locator('h4').innerText(), /Alice/);
    for (let i = 0; i < 2; i++) assert.ok((await parts.nth(i).locator('p.text').innerText()).trim().length > 40, 'each has its summary');
    await s.screenshot('23-collection-summary');
  });

  test('the page ran without console errors or CSP violations', () => {
    assert.deepEqual(s.problems, []);
  });
});
