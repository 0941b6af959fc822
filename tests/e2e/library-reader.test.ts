// The library and the reader in a real browser: adding a PDF and an EPUB through the page,
// reading them (pdf.js pages with a text layer, reflowed chapters), jumping, finding with a
// highlight, the password dialog for an encrypted PDF, removing, settings and themes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { ApiResult, MenuCommand } from '../../common/api';
import { addThroughUi, corpusFile, openSession, skipReason, type Session } from './harness';

const skip = skipReason();
if (skip) console.log(`# e2e skipped: ${skip}`);

describe('library and reader in the browser', { skip: skip ?? false }, () => {
  let s: Session;
  before(async () => {
    s = await openSession();
  });
  after(async () => {
    await s?.close();
  });

  test('a first-time user sees what to do', async () => {
    const { page } = s;
    await page.getByRole('heading', { name: /Read whole books/ }).waitFor();
    await page.getByText('No books yet').waitFor();
    assert.ok(await page.getByRole('button', { name: 'Add a document…' }).isVisible());
    await s.screenshot('01-welcome');
  });

  test('a PDF added through the page opens in the pdf.js reader with a selectable text layer', async () => {
    const { page } = s;
    await addThroughUi(page, [corpusFile('pdf', 'tracemonkey.pdf')]);
    const row = page.locator('[data-document-id]').filter({ hasText: /Trace/i });
    await row.waitFor();
    await assert.doesNotReject(row.getByText('PDF').waitFor());
    assert.match(await row.innerText(), /14 pages/);
    const first = page.locator('[data-page-number="1"][data-rendered="true"]');
    await first.waitFor({ timeout: 30_000 });
    const spans = await first.locator('.textLayer span').count();
    assert.ok(spans > 20, `page 1 has a text layer (${spans} spans)`);
    assert.match(await first.locator('.textLayer').innerText(), /Trace-based/i);
    // the canvas is painted (not blank white)
    const painted = await first.locator('canvas').evaluate((c) => {
      const canvas = c as unknown as { getContext(k: string): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } }; width: number; height: number };
      const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let dark = 0;
      for (let i = 0; i < d.length; i += 4 * 7) if (d[i]! < 128) dark++;
      return dark;
    });
    assert.ok(painted > 100, `page 1 is drawn (${painted} dark samples)`);
    await s.screenshot('02-pdf-reader');
  });

  test('jump to a page and find a passage: the reader scrolls there and highlights it', async () => {
    const { page } = s;
    const pageBox = page.getByRole('textbox', { name: 'Page number' });
    await pageBox.fill('5');
    await pageBox.press('Enter');
    await page.locator('[data-page-number="5"][data-rendered="true"]').waitFor();
    await page.getByRole('searchbox', { name: 'Find in document' }).fill('trace tree');
    await page.getByRole('searchbox', { name: 'Find in document' }).press('Enter');
    const hit = page.getByRole('option').first();
    await hit.waitFor();
    await hit.click();
    const marks = page.locator('.textLayer mark.hl');
    await marks.first().waitFor();
    const marked = (await marks.allInnerTexts()).join('').replace(/\s+/g, ' ').toLowerCase();
    assert.match(marked, /trace\W*tree/);
    assert.ok(await marks.first().isVisible(), 'the highlight is scrolled into view');
    await s.screenshot('03-pdf-find-highlight');
    // page 1 is far out of view now: its canvas is given back, and drawn again when it comes back
    await page.locator('[data-page-number="1"][data-drawn="false"]').waitFor({ timeout: 15_000 });
    await pageBox.fill('1');
    await pageBox.press('Enter');
    await page.locator('[data-page-number="1"][data-drawn="true"]').waitFor();
  });

  test('an EPUB is reflowed by chapter, with chapter and page jumps', async () => {
    const { page } = s;
    await addThroughUi(page, [corpusFile('books', 'alice.epub')]);
    const row = page.locator('[data-document-id]').filter({ hasText: /Alice/i });
    await row.waitFor();
    await row.locator('.open').click();
    const reader = page.getByTestId('text-reader');
    await reader.waitFor();
    const chapter = page.getByRole('combobox', { name: 'Chapter' });
    const options = await chapter.locator('option').allInnerTexts();
    assert.ok(options.length >= 10, `chapters: ${options.join(' | ')}`);
    const target = options.findIndex((o) => /rabbit-hole/i.test(o));
    assert.ok(target >= 0, 'the first chapter is listed');
    await chapter.selectOption(String(target));
    await assert.doesNotReject(reader.getByText(/Alice was beginning to get very tired/).waitFor());
    await page.getByRole('button', { name: 'Next chapter' }).first().click();
    await reader.getByText(/Curiouser and curiouser/).waitFor();
    const goTo = page.getByRole('textbox', { name: 'Go to page' });
    await goTo.fill('20');
    await goTo.press('Enter');
    await page.locator('[data-page-start="20"]').waitFor();
    assert.ok(await page.locator('[data-page-start="20"]').isVisible());
    await s.screenshot('04-epub-reader');
  });

  test('a file dropped on the window is added (with a drop hint while dragging)', async () => {
    const { page } = s;
    const bytes = readFileSync(corpusFile('pdf', 'hello_world_rotated.pdf')).toString('base64');
    // a DataTransfer holding a real File, as the OS gives the page on a drop
    const transfer = await page.evaluateHandle(
      `(() => {
        const bin = atob(${JSON.stringify(bytes)});
        const data = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i);
        const dt = new DataTransfer();
        dt.items.add(new File([data], 'hello_world_rotated.pdf', { type: 'application/pdf' }));
        return dt;
      })()`,
    );
    await page.dispatchEvent('main', 'dragenter', { dataTransfer: transfer });
    await page.getByText('Drop to add to your library').waitFor();
    await s.screenshot('05-drop-hint');
    await page.dispatchEvent('main', 'drop', { dataTransfer: transfer });
    await page.getByText('Drop to add to your library').waitFor({ state: 'detached' });
    await page.locator('[data-document-id]').filter({ hasText: /hello_world_rotated|Hello/i }).waitFor();
    assert.equal(await page.locator('[data-document-id]').count(), 3);
  });

  test('an encrypted PDF asks for its password; a wrong one is said so; giving up leaves the typed error in a toast', async () => {
    const { page } = s;
    await addThroughUi(page, [corpusFile('bad', 'encrypted-attachment.pdf')]);
    const dialog = page.getByRole('dialog', { name: 'Password needed' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /encrypted-attachment\.pdf is protected by a password/);
    assert.equal(await dialog.getByRole('button', { name: 'Open' }).isDisabled(), true, 'nothing to send yet');
    await dialog.getByLabel('Password').fill('not-the-password');
    await dialog.getByLabel('Password').press('Enter');
    await dialog.getByRole('alert').filter({ hasText: 'That password is wrong' }).waitFor();
    assert.equal(await dialog.getByLabel('Password').inputValue(), '', 'asked afresh');
    await s.screenshot('06-encrypted-password');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    const toast = page.getByRole('alert').filter({ hasText: /encrypted-attachment/ });
    await toast.waitFor();
    assert.match(await toast.innerText(), /password is wrong/i);
    assert.equal(await toast.getAttribute('data-code'), 'pdf-wrong-password');
    await toast.getByRole('button', { name: 'Dismiss' }).click();
    assert.equal(await page.locator('[data-document-id]').count(), 3, 'nothing was added');
  });

  test('settings: theme follows the choice, Esc closes the dialog', async () => {
    const { page } = s;
    await page.locator('header').getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    await dialog.waitFor();
    await dialog.getByLabel('Theme').selectOption('dark');
    await page.locator('html[data-theme="dark"]').waitFor({ state: 'attached' });
    await s.screenshot('07-settings-dark');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await s.screenshot('08-dark-reader');
    const stored = (await s.server.api.call('settings.get', {})) as ApiResult<'settings.get'>;
    assert.ok(stored.ok && stored.value.theme === 'dark', 'the theme is saved');
    await page.locator('header').getByRole('button', { name: 'Settings' }).click();
    await dialog.getByLabel('Theme').selectOption('system');
    await page.keyboard.press('Escape');
  });

  test('menu commands from the main side act on the page', async () => {
    const { page } = s;
    const menu = (command: MenuCommand) => s.server.api.emit({ type: 'menu', command });
    menu('open-settings');
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    menu('find');
    await page.locator('input[type="search"]:focus').waitFor();
    menu('focus-question');
    await page.locator('#question:focus').waitFor();
    const reader = page.getByRole('main', { name: 'Reader' }).getByRole('toolbar');
    await reader.waitFor();
    menu('toggle-reader');
    await reader.waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('button', { name: 'Show reader' }).getAttribute('aria-pressed'), 'false');
    await s.screenshot('09-reader-hidden');
    menu('toggle-reader');
    await reader.waitFor();
  });

  test('remove asks first, then the document leaves the library', async () => {
    const { page } = s;
    const row = page.locator('[data-document-id]').filter({ hasText: /Alice/i });
    await row.hover();
    await row.getByRole('button', { name: /^Remove/ }).click();
    const confirm = page.getByRole('dialog', { name: /Remove/ });
    await confirm.waitFor();
    await s.screenshot('10-remove-confirm');
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
    assert.equal(await page.locator('[data-document-id]').count(), 2);
  });

  test('the page ran without console errors or CSP violations', () => {
    assert.deepEqual(s.problems, []);
  });
});
