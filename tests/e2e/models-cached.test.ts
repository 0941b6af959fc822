// Settings lists the T5 models in the Hugging Face cache (a fake cache tree of blob links, found
// through HF_HUB_CACHE) and imports one with one click.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cacheRepo } from '../helpers/hf-cache';
import { tempDir, tinyModelDir } from '../helpers/tiny-model';
import { openSession, skipReason, type Session } from './harness';

const skip = skipReason();
if (skip) console.log(`# e2e skipped: ${skip}`);

const REPO = 'someone/flan-t5-e2e';
const hub = path.join(tempDir('longread-e2e-hf-'), 'hub');
if (!skip) cacheRepo(hub, REPO, await tinyModelDir({ layers: 2, dModel: 32, seed: 1 }, 'cached-e2e'), 'c'.repeat(40));

describe('models in the Hugging Face cache', { skip: skip ?? false, timeout: 120_000 }, () => {
  let s: Session;
  const before_ = process.env.HF_HUB_CACHE;

  before(async () => {
    process.env.HF_HUB_CACHE = hub; // the server runs in this process and reads the cache from its environment
    s = await openSession();
  });
  after(async () => {
    await s?.close();
    if (before_ === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = before_;
  });

  test('Settings offers the cached model; one click imports it and puts it in use', async () => {
    const { page } = s;
    await page.locator('header').getByRole('button', { name: 'Settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    const cached = dialog.getByRole('list', { name: 'In your Hugging Face cache' });
    await cached.getByText(REPO).waitFor();
    await s.screenshot('15-settings-cached-models');
    await cached.getByRole('button', { name: `Import ${REPO}` }).click();
    await dialog.locator('li.active').filter({ hasText: REPO }).waitFor({ timeout: 60_000 });
    await cached.locator('li').filter({ hasText: REPO }).getByText('Imported').waitFor();
    assert.deepEqual(s.problems, []);
  });

  test("a model's precision is chosen in its row and kept", async () => {
    const { page } = s;
    const dialog = page.getByRole('dialog', { name: 'Settings' });
    const precision = dialog.getByRole('combobox', { name: `Precision of ${REPO}` });
    assert.equal(await precision.inputValue(), 'fp32');
    const saved = page.waitForResponse((r) => r.url().endsWith('/api/models.setPrecision') && r.ok());
    await precision.selectOption('int8');
    await saved;
    await dialog.getByRole('button', { name: 'Close settings' }).click();
    await page.reload();
    await page.locator('header').getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('dialog', { name: 'Settings' }).getByRole('combobox', { name: `Precision of ${REPO}` }).waitFor();
    assert.equal(await page.getByRole('dialog', { name: 'Settings' }).getByRole('combobox', { name: `Precision of ${REPO}` }).inputValue(), 'int8');
    assert.deepEqual(s.problems, []);
  });
});
