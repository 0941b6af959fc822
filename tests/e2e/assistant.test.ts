// The assistant in a real browser, on a tiny random T5 imported through Settings: the answer
// streams in from `token` events, citations open the reader at the cited page with the passage
// highlighted, a chapter summary appears, and jobs can be cancelled (queued and running).
// Random weights answer gibberish: these tests check structure, never content.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page, WebSocket as PageSocket } from 'playwright-core';
import { NO_CONFIDENT_ANSWER } from '../../common/api';
import { tinyModelDir } from '../helpers/tiny-model';
import { addThroughUi, corpusFile, openSession, ROOT, skipReason, type Session } from './harness';

const skip = skipReason();
if (skip) console.log(`# e2e skipped: ${skip}`);
const hasAssistant = existsSync(path.join(ROOT, 'main/assistant/assistant.ts'));
// made at the top level: tempDir's cleanup then runs when the whole file is done. This seed's
// random weights do write tokens (others stop at once with an empty answer).
const modelDir = !skip && hasAssistant ? await tinyModelDir({ layers: 2, dModel: 32, seed: 1, biasStd: 0.1 }, 'tiny-e2e') : '';

interface WireEvent {
  type: string;
  jobId?: string;
  text?: string;
  stage?: string;
  result?: { answer?: string; confident?: boolean; answeredFrom?: string; summary?: string; citations?: Array<{ page?: number }> };
}

/** Every event the page receives over its WebSocket, as the page sees it. */
function recordEvents(page: Page): WireEvent[] {
  const events: WireEvent[] = [];
  page.on('websocket', (ws: PageSocket) => {
    ws.on('framereceived', (frame) => {
      try {
        events.push(JSON.parse(String(frame.payload)) as WireEvent);
      } catch {
        // not an event
      }
    });
  });
  return events;
}

/** Waits until an event matching `match` has arrived (or fails after `ms`). */
async function waitForEvent(events: WireEvent[], match: (e: WireEvent) => boolean, ms = 60_000): Promise<WireEvent> {
  const end = Date.now() + ms;
  for (;;) {
    const found = events.find(match);
    if (found) return found;
    if (Date.now() > end) throw new Error('the expected event did not arrive');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function openDocument(page: Page, title: RegExp): Promise<void> {
  await page.locator('[data-document-id]').filter({ hasText: title }).locator('.open').click();
  await page.locator('[data-document-id][class*="selected"]').filter({ hasText: title }).waitFor();
}

describe('the assistant without main/assistant', { skip: skip ?? (hasAssistant ? 'main/assistant exists' : false) }, () => {
  test('asking shows the typed error and keeps the question', async () => {
    const s = await openSession();
    try {
      await addThroughUi(s.page, [corpusFile('pdf', 'tracemonkey.pdf')]);
      await s.page.locator('[data-document-id]').first().waitFor();
      await s.page.getByLabel('Your question').fill('What is a trace tree?');
      await s.page.getByLabel('Your question').press('Enter');
      const toast = s.page.getByRole('alert').filter({ hasText: /assistant/i });
      await toast.waitFor();
      assert.equal(await toast.getAttribute('data-code'), 'assistant-unavailable');
      assert.equal(await s.page.getByLabel('Your question').inputValue(), 'What is a trace tree?');
    } finally {
      await s.close();
    }
  });
});

describe('the assistant in the browser', { skip: skip ?? (hasAssistant ? false : 'main/assistant is not there yet'), timeout: 180_000 }, () => {
  let s: Session;
  let events: WireEvent[];

  before(async () => {
    // this session's OS prefers dark: the app follows it (theme "system")
    s = await openSession({ colorScheme: 'dark' });
    events = recordEvents(s.page);
    // the WebSocket opened with the page, before recordEvents: reload so it is recorded from the start
    await s.page.reload();
    await s.page.getByRole('heading', { name: /Read whole books/ }).waitFor();
    const background = await s.page.evaluate(`getComputedStyle(document.body).backgroundColor`);
    const [r, g, b] = String(background).match(/\d+/g)!.map(Number);
    assert.ok(r! + g! + b! < 150, `a dark OS gives a dark page (${background})`);
  });
  after(async () => {
    await s?.close();
  });

  test('a model is imported through Settings and becomes the one in use', async () => {
    const { page } = s;
    await page.locator('header').getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    await dialog.getByLabel(/Import a model folder/).fill(modelDir);
    await dialog.getByRole('button', { name: 'Import' }).click();
    const row = dialog.locator('li').filter({ hasText: 'In use' });
    await row.waitFor({ timeout: 60_000 });
    await s.screenshot('11-settings-models');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  test('a question is answered as a stream, with citations that open the cited page highlighted', async () => {
    const { page } = s;
    await addThroughUi(page, [corpusFile('pdf', 'tracemonkey.pdf')]);
    await openDocument(page, /Trace-based/);
    const question = page.getByLabel('Your question');
    await question.fill('What is a trace tree?');
    await question.press('Enter');
    const answer = page.locator('[data-testid="chat-messages"] [data-role="assistant"][data-state="final"]');
    await answer.waitFor({ timeout: 120_000 });
    await s.screenshot('12-chat-answer');

    const done = events.find((e) => e.type === 'done' && e.result?.answer !== undefined);
    assert.ok(done?.jobId, 'the job finished');
    const tokens = events.filter((e) => e.type === 'token' && e.jobId === done.jobId);
    // an answer is sent once its confidence is known: as one token event when shown, none when not
    assert.equal(tokens.map((e) => e.text).join(''), done.result!.answer, 'the token events are the answer shown');
    assert.equal(typeof done.result!.confident, 'boolean');
    assert.ok(
      events.some((e) => e.type === 'progress' && e.jobId === done.jobId),
      'progress events came before the answer',
    );
    const shown = (await answer.locator('.text').innerText()).trim();
    const expected = done.result!.confident ? done.result!.answer! : NO_CONFIDENT_ANSWER;
    assert.equal(shown.replace(/\s+/g, ' '), expected.trim().replace(/\s+/g, ' '), 'the answer, or that there is no confident one, is shown');
    // the model imported above answers from the whole compressed text: no "quoted from the passages" line
    assert.equal(done.result!.answeredFrom, 'whole');
    assert.equal(await answer.getByTestId('answered-from').count(), 0);

    const citations = answer.locator('button.citation');
    const count = await citations.count();
    assert.equal(count, done.result!.citations!.length, 'every citation is listed');
    assert.ok(count >= 1, 'the answer has citations');
    const cited = done.result!.citations![0]!;
    await citations.first().click();
    const pageEl = page.locator(`[data-page-number="${cited.page}"]`);
    await pageEl.locator('mark.hl').first().waitFor({ timeout: 30_000 });
    assert.ok(await pageEl.locator('mark.hl').first().isVisible(), 'the highlight is in view');
    assert.equal(await page.getByRole('textbox', { name: 'Page number' }).inputValue(), String(cited.page));
    await s.screenshot('13-citation-jump');
  });

  test('the chat is exported as Markdown (a download in browser mode)', async () => {
    const { page } = s;
    const download = page.waitForEvent('download');
    await page.getByRole('tabpanel', { name: 'Chat' }).getByRole('button', { name: 'Export' }).click();
    const file = await download;
    assert.match(file.suggestedFilename(), /\.md$/);
    const { readFile } = await import('node:fs/promises');
    const markdown = await readFile((await file.path())!, 'utf8');
    assert.match(markdown, /What is a trace tree\?/);
    await page.getByRole('status').filter({ hasText: /saved as/ }).waitFor();
  });

  test('the chat is kept per document: reopening the document shows it', async () => {
    const { page } = s;
    await addThroughUi(page, [corpusFile('books', 'alice.epub')]);
    await openDocument(page, /Alice/);
    await page.getByText(/Ask anything about/).waitFor();
    await openDocument(page, /Trace-based/);
    await page.locator('[data-testid="chat-messages"] [data-role="assistant"]').first().waitFor();
    assert.match(await page.getByLabel('Chat history').inputValue(), /^[1-9][0-9]*$/);
  });

  test('a chapter is summarized', async () => {
    const { page } = s;
    await openDocument(page, /Alice/);
    await page.getByRole('tab', { name: 'Summary' }).click();
    const scope = page.getByLabel('What to summarize');
    const options = await scope.locator('option').allInnerTexts();
    const chapter = options.findIndex((o) => /rabbit-hole/i.test(o));
    assert.ok(chapter > 0, 'chapters are offered');
    await scope.selectOption({ index: chapter });
    await page.getByRole('button', { name: 'Summarize', exact: true }).click();
    const heading = page.getByTestId('summary-result').getByRole('heading', { name: /Summary of .*Rabbit-Hole/i });
    await heading.waitFor({ timeout: 120_000 });
    const done = events.filter((e) => e.type === 'done' && e.result?.summary !== undefined).at(-1);
    assert.ok(done, 'the summary job finished');
    assert.ok((await page.getByTestId('summary-result').locator('p.text').first().innerText()).trim().length > 0, 'the summary text is shown');
    await s.screenshot('14-summary-chapter');

    const download = page.waitForEvent('download');
    await page.getByRole('tabpanel', { name: 'Summary' }).getByRole('button', { name: 'Export' }).click();
    const { readFile } = await import('node:fs/promises');
    const markdown = await readFile((await (await download).path())!, 'utf8');
    assert.match(markdown, /Rabbit-Hole/i, 'the exported summary names its chapter');

    // asked again it comes from the saved summaries; Regenerate writes a new one
    const result = page.getByTestId('summary-result');
    await page.getByRole('button', { name: 'Summarize', exact: true }).click();
    await result.locator('.badge', { hasText: 'Saved' }).waitFor();
    const before = events.length;
    await page.getByRole('button', { name: 'Regenerate' }).click();
    const fresh = (await waitForEvent(events, (e) => e.type === 'done' && events.indexOf(e) >= before)) as WireEvent & { result: { cached?: boolean } };
    assert.equal(fresh.result.cached, false, 'Regenerate made a new summary');
    await result.locator('.badge', { hasText: 'Saved' }).waitFor({ state: 'detached' });
  });

  test('in a reflowed book a citation opens its chapter with the passage highlighted', async () => {
    const { page } = s;
    await openDocument(page, /Alice/);
    await page.getByRole('tab', { name: 'Chat' }).click();
    await page.getByLabel('Your question').fill('Where does Alice fall?');
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    const answer = page.locator('[data-testid="chat-messages"] [data-role="assistant"][data-state="final"]').last();
    await answer.waitFor({ timeout: 120_000 });
    const citation = answer.locator('button.citation').first();
    await citation.click();
    const mark = page.getByTestId('text-reader').locator('mark.hl-text');
    await mark.first().waitFor();
    assert.ok(await mark.first().isVisible(), 'the passage is highlighted in view');
    const done = events.filter((e) => e.type === 'done' && e.result?.answer !== undefined).at(-1)!;
    const cited = done.result!.citations![0] as { start: number; end: number; quote: string };
    const marked = (await mark.allInnerTexts()).join('');
    // a cited passage may run from a chapter heading into its text: the reader's blocks join them without a space
    assert.equal(marked.replace(/\s+/g, ''), cited.quote.replace(/\s+/g, ''), 'exactly the cited range is marked');
    await s.screenshot('15-epub-citation');
  });

  test('jobs are cancelled: a queued question and a running summary', async () => {
    const { page } = s;
    await addThroughUi(page, [corpusFile('books', 'pg2701.txt')]);
    // adding a long book shows its progress in the task tray
    await page.getByRole('region', { name: 'Tasks' }).getByRole('group', { name: /Adding pg2701/ }).waitFor();
    await s.screenshot('16-ingest-progress');
    await page.locator('[data-document-id]').filter({ hasText: /Moby/i }).waitFor({ timeout: 60_000 });
    await openDocument(page, /Moby/i);
    await page.getByRole('tab', { name: 'Summary' }).click();
    await page.getByLabel('Detailed').check();
    await page.getByRole('button', { name: 'Summarize', exact: true }).click();
    // while it runs, a question waits behind it (one job at a time per model)
    await page.getByRole('tab', { name: 'Chat' }).click();
    await page.getByLabel('Your question').fill('Who is Ishmael?');
    await page.getByLabel('Your question').press('Enter');
    const tray = page.getByRole('region', { name: 'Tasks' });
    const queued = tray.locator('[data-job-id][data-stage="queued"]');
    await queued.waitFor();
    await s.screenshot('17-jobs-queued');
    await queued.getByRole('button', { name: /^Cancel/ }).click();
    await page.locator('[data-testid="chat-messages"] [data-state="cancelled"]').waitFor();

    const running = tray.locator('[data-job-id][data-stage="summarizing"]');
    await running.waitFor({ timeout: 60_000 });
    const jobId = await running.getAttribute('data-job-id');
    await running.getByRole('button', { name: /^Cancel/ }).click();
    await waitForEvent(events, (e) => e.type === 'cancelled' && e.jobId === jobId, 30_000);
    assert.ok(!events.some((e) => e.type === 'done' && e.jobId === jobId), 'and did not finish');
    await page.getByRole('tab', { name: 'Summary' }).click();
    await page.getByText(/Summarize “Moby/).waitFor();
  });

  test('the page ran without console errors or CSP violations', () => {
    assert.deepEqual(s.problems, []);
  });
});
