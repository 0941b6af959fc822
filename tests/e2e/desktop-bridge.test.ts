// The renderer's desktop transport (window.longread, as main/app/preload.ts exposes it) in a real
// browser. A stand-in bridge, injected before the page's scripts, carries each call to the same
// API through the local server, the way the preload carries it over IPC: the renderer must pick
// it over the page's token, add dropped files by their path (pathForFile + library.add), read a
// PDF from its bytes (document.file's Uint8Array), and take events from onEvent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { corpusFile, openSession, skipReason, type Session } from './harness';

const skip = skipReason();
if (skip) console.log(`# e2e skipped: ${skip}`);

function bridgeScript(token: string, paths: Record<string, string>): string {
  return `(() => {
    const token = ${JSON.stringify(token)};
    const paths = ${JSON.stringify(paths)};
    const listeners = new Set();
    const ws = new WebSocket('ws://' + location.host + '/api/events?token=' + token);
    ws.onmessage = (m) => { const e = JSON.parse(m.data); for (const l of listeners) l(e); };
    const ready = new Promise((r) => ws.addEventListener('open', r, { once: true }));
    window.__bridgeCalls = [];
    window.longread = {
      platform: 'linux',
      async invoke(method, payload) {
        window.__bridgeCalls.push(method);
        await ready;
        const r = await fetch('/api/' + method, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + token }, body: JSON.stringify(payload) });
        if (method === 'document.file' && r.ok) {
          return { ok: true, value: { name: 'file', mimeType: r.headers.get('content-type'), bytes: new Uint8Array(await r.arrayBuffer()) } };
        }
        return r.json();
      },
      onEvent(listener) { listeners.add(listener); return () => listeners.delete(listener); },
      pathForFile(file) { return paths[file.name] || ''; },
    };
  })();`;
}

describe('the renderer over the desktop bridge', { skip: skip ?? false }, () => {
  let s: Session;
  before(async () => {
    s = await openSession();
    await s.context.addInitScript({ content: bridgeScript(s.server.token, { 'tracemonkey.pdf': corpusFile('pdf', 'tracemonkey.pdf') }) });
    await s.page.reload();
    await s.page.getByRole('heading', { name: /Read whole books/ }).waitFor();
  });
  after(async () => {
    await s?.close();
  });

  test('a dropped file is added by its path and the PDF is read from its bytes', async () => {
    const { page } = s;
    const bytes = readFileSync(corpusFile('pdf', 'tracemonkey.pdf')).toString('base64');
    const transfer = await page.evaluateHandle(
      `(() => {
        const bin = atob(${JSON.stringify(bytes)});
        const data = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i);
        const dt = new DataTransfer();
        dt.items.add(new File([data], 'tracemonkey.pdf', { type: 'application/pdf' }));
        return dt;
      })()`,
    );
    await page.dispatchEvent('main', 'drop', { dataTransfer: transfer });
    await page.locator('[data-page-number="1"][data-rendered="true"]').waitFor({ timeout: 30_000 });
    const calls = (await page.evaluate('window.__bridgeCalls')) as string[];
    assert.ok(calls.includes('library.add'), `added by path (${calls.join(', ')})`);
    assert.ok(!calls.includes('library.upload'), 'not uploaded');
    assert.ok(calls.includes('document.file'), 'the PDF came as bytes through the bridge');
    const added = (await s.server.api.call('library.list', {})) as { ok: true; value: { documents: Array<{ files: Array<{ path: string }> }> } };
    assert.equal(added.value.documents[0]!.files[0]!.path, corpusFile('pdf', 'tracemonkey.pdf'));
  });

  test('Add… asks the desktop for its open dialog (refused here: no desktop behind the server)', async () => {
    const { page } = s;
    await page.getByRole('button', { name: 'Add…' }).click();
    const toast = page.getByRole('alert').filter({ hasText: /desktop app/ });
    await toast.waitFor();
    assert.equal(await toast.getAttribute('data-code'), 'unsupported');
  });

  test('events come through onEvent', async () => {
    s.server.api.emit({ type: 'menu', command: 'open-settings' });
    await s.page.getByRole('dialog', { name: 'Settings' }).waitFor();
    await s.page.keyboard.press('Escape');
  });

  test('no console errors or CSP violations', () => {
    assert.deepEqual(s.problems, []);
  });
});
