import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MenuItemConstructorOptions } from 'electron';
import type { ApiResult } from '../../common/api';
import { AppApi } from '../../main/api/api';
import { handleInvoke } from '../../main/app/ipc';
import { menuTemplate } from '../../main/app/menu';
import { documentArgs } from '../../main/app/open-files';
import { appFileResponse } from '../../main/app/protocol';
import {
  APP_CSP,
  APP_INDEX_URL,
  isAppUrl,
  permissionAllowed,
  requestAllowed,
  senderAllowed,
  webPreferences,
  windowOptions,
} from '../../main/app/security';
import { RecordingAssistant, tempHome } from './helpers';

test('the window is isolated, sandboxed, without Node and with web security', () => {
  const prefs = webPreferences('/app/dist-app/preload.cjs');
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.nodeIntegrationInWorker, false);
  assert.equal(prefs.nodeIntegrationInSubFrames, false);
  assert.equal(prefs.webSecurity, true);
  assert.equal(prefs.allowRunningInsecureContent, false);
  assert.equal(prefs.webviewTag, false);
  assert.equal(prefs.experimentalFeatures, false);
  assert.equal(prefs.navigateOnDragDrop, false);
  assert.equal(prefs.preload, '/app/dist-app/preload.cjs');
  assert.deepEqual(windowOptions('/p.cjs').webPreferences, webPreferences('/p.cjs'));
  assert.equal(prefs.devTools, false, 'no developer tools unless asked for (a development run)');
  assert.equal(windowOptions('/p.cjs', true).webPreferences!.devTools, true);
  assert.equal(windowOptions('/p.cjs').show, false, 'shown when ready, no white flash');
});

test('the CSP allows only the app itself', () => {
  const directives = new Map(APP_CSP.split(';').map((d) => d.trim().split(/\s+/)).map(([n, ...v]) => [n!, v]));
  assert.deepEqual(directives.get('default-src'), ["'self'"]);
  assert.deepEqual(directives.get('script-src'), ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(directives.get('connect-src'), ["'self'"]);
  for (const d of ['object-src', 'frame-src', 'base-uri', 'form-action', 'frame-ancestors']) assert.deepEqual(directives.get(d), ["'none'"], d);
  assert.ok(!APP_CSP.includes('http'), 'no remote origins');
  assert.ok(!APP_CSP.includes("'unsafe-eval'"));
});

test('IPC is accepted only from the app’s own top frame', () => {
  const top = (url: string) => ({ senderFrame: { url, parent: null } });
  assert.equal(senderAllowed(top(APP_INDEX_URL)), true);
  assert.equal(senderAllowed(top('app://longread/index.html#/chat/3')), true);
  for (const url of ['https://longread/index.html', 'app://evil/index.html', 'app://longread.evil/index.html', 'file:///tmp/index.html', 'http://127.0.0.1:5173/', 'app://user:pw@longread/', 'about:blank', '', 'not a url']) {
    assert.equal(senderAllowed(top(url)), false, url);
  }
  assert.equal(senderAllowed({ senderFrame: { url: APP_INDEX_URL, parent: { url: APP_INDEX_URL } } }), false, 'a subframe');
  assert.equal(senderAllowed({ senderFrame: null }), false, 'a destroyed frame');
  assert.equal(isAppUrl(undefined), false);
});

test('IPC messages are checked for their sender, their shape and their payload before anything runs', async () => {
  const { dir, cleanup } = tempHome();
  const api = AppApi.open({ home: dir, mode: 'electron', openAssistant: async () => new RecordingAssistant() });
  try {
    const good = { senderFrame: { url: APP_INDEX_URL, parent: null } };
    const code = (r: ApiResult) => (r.ok ? 'ok' : r.error.code);
    assert.equal(code(await handleInvoke(api, good, { method: 'library.list', payload: {} })), 'ok');
    assert.equal(code(await handleInvoke(api, { senderFrame: { url: 'https://evil.example/', parent: null } }, { method: 'library.list', payload: {} })), 'forbidden');
    assert.equal(code(await handleInvoke(api, { senderFrame: null }, { method: 'library.list', payload: {} })), 'forbidden');
    for (const message of [null, 'library.list', [], { method: 'library.list' , payload: {}, extra: 1 }, { method: 3, payload: {} }, { payload: {} }]) {
      const r = await handleInvoke(api, good, message);
      assert.equal(code(r), 'invalid-request', JSON.stringify(message));
    }
    assert.equal(code(await handleInvoke(api, good, { method: 'nope', payload: {} })), 'unknown-method');
    const bad = await handleInvoke(api, good, { method: 'document.get', payload: { id: 42 } });
    assert.equal(code(bad), 'invalid-request');
    assert.equal(!bad.ok && bad.error.issues?.[0]?.path, 'id');
  } finally {
    await api.close();
    cleanup();
  }
});

test('no remote content, no permissions, dropped files are recognized', () => {
  for (const url of ['app://longread/assets/index.js', 'data:image/png;base64,AAAA', 'blob:app://longread/1234', 'devtools://devtools/bundled/inspector.html']) assert.equal(requestAllowed(url), true, url);
  for (const url of ['https://example.com/x.js', 'http://127.0.0.1:8080/', 'file:///etc/passwd', 'ws://127.0.0.1:1/', 'ftp://x/', 'app://other/x']) assert.equal(requestAllowed(url), false, url);
  for (const p of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen', 'hid', 'serial']) assert.equal(permissionAllowed(p), false, p);
});

test('documents on the command line (OS "open with", second launch) are picked out of argv', () => {
  assert.deepEqual(documentArgs(['/opt/Longread/longread', '--no-sandbox', 'book.pdf', '/abs/Moby Dick.EPUB', 'notes.docx', 'sheet.xlsx', '-psn_0_1234'], '/home/me', false), [
    '/home/me/book.pdf',
    '/abs/Moby Dick.EPUB',
    '/home/me/notes.docx',
  ]);
  // unpackaged: argv[1] is the app folder
  assert.deepEqual(documentArgs(['/x/electron', '/repo', 'chapter.md'], '/repo', true), ['/repo/chapter.md']);
  assert.deepEqual(documentArgs(['/x/electron', '/repo'], '/repo', true), []);
  assert.deepEqual(documentArgs(['/opt/l', 'file:///tmp/a%20b.txt'], '/', false), ['/tmp/a b.txt']);
  // argv comes from outside: what is no file URL is skipped, never thrown (it stopped the app from starting)
  assert.deepEqual(documentArgs(['/opt/l', 'file://[bad/x.pdf', 'file:///tmp/%E0%A4%A.pdf', 'file:///tmp/ok.pdf'], '/', false), ['/tmp/ok.pdf']);
  // a file URL with a host is a network share (Windows), not a local path without the host
  if (process.platform !== 'win32') assert.deepEqual(documentArgs(['/opt/l', 'file://host/share/x.pdf', 'file://localhost/tmp/y.pdf'], '/', false), ['/tmp/y.pdf']);
  // a plain path with a stray % is a plain path
  assert.deepEqual(documentArgs(['/opt/l', '%E0%A4%A.pdf'], '/home/me', false), ['/home/me/%E0%A4%A.pdf']);
});

test('the app protocol serves only the built renderer, always with the CSP', async () => {
  const { dir, cleanup } = tempHome();
  try {
    const dist = path.join(dir, 'dist');
    mkdirSync(path.join(dist, 'assets'), { recursive: true });
    writeFileSync(path.join(dist, 'index.html'), '<!doctype html><title>x</title>');
    writeFileSync(path.join(dist, 'assets', 'app.js'), 'void 0');
    writeFileSync(path.join(dir, 'secret.txt'), 'secret');
    const index = await appFileResponse(dist, APP_INDEX_URL);
    assert.equal(index.status, 200);
    assert.equal(index.headers['Content-Security-Policy'], APP_CSP);
    assert.match(index.headers['Content-Type']!, /^text\/html/);
    assert.equal((await appFileResponse(dist, 'app://longread/assets/app.js')).headers['Content-Type'], 'text/javascript; charset=utf-8');
    for (const url of ['app://longread/../secret.txt', 'app://longread/%2e%2e/secret.txt', 'app://longread/assets/..%2F..%2Fsecret.txt', 'app://other/index.html', 'https://longread/index.html']) {
      const r = await appFileResponse(dist, url);
      assert.equal(r.status, 404, url);
      assert.equal(r.headers['Content-Security-Policy'], APP_CSP);
    }
    assert.equal((await appFileResponse(dist, APP_INDEX_URL, 'POST')).status, 404);
    assert.equal((await appFileResponse(path.join(dir, 'none'), APP_INDEX_URL)).status, 503);
  } finally {
    cleanup();
  }
});

function flatten(items: MenuItemConstructorOptions[]): MenuItemConstructorOptions[] {
  return items.flatMap((i) => [i, ...(Array.isArray(i.submenu) ? flatten(i.submenu) : [])]);
}

test('the app menu has the usual roles and shortcuts, and its commands reach the renderer', () => {
  for (const platform of ['linux', 'win32', 'darwin'] as const) {
    const sent: string[] = [];
    let added = 0;
    const items = flatten(menuTemplate(platform, { send: (c) => sent.push(c), addDocuments: () => added++ }));
    const roles = new Set(items.map((i) => i.role).filter(Boolean));
    for (const role of ['undo', 'redo', 'cut', 'copy', 'paste', 'selectAll', 'zoomIn', 'zoomOut', 'resetZoom', 'togglefullscreen', 'minimize', 'about']) assert.ok(roles.has(role as never), `${platform}: ${role}`);
    if (platform === 'darwin') for (const role of ['hide', 'hideOthers', 'unhide', 'quit', 'services', 'front']) assert.ok(roles.has(role as never), `darwin: ${role}`);
    else assert.ok(roles.has('quit'), `${platform}: quit`);
    assert.ok(!roles.has('toggleDevTools') && !roles.has('reload'), 'no developer items in the packaged app');
    const byAccel = new Map(items.filter((i) => i.accelerator).map((i) => [i.accelerator, i]));
    (byAccel.get('CmdOrCtrl+O')!.click as () => void)();
    (byAccel.get('CmdOrCtrl+,')!.click as () => void)();
    (byAccel.get('CmdOrCtrl+F')!.click as () => void)();
    (byAccel.get('CmdOrCtrl+E')!.click as () => void)();
    assert.equal(added, 1);
    assert.deepEqual(sent, ['open-settings', 'find', 'export']);
    assert.equal(new Set(items.filter((i) => i.accelerator).map((i) => i.accelerator)).size, items.filter((i) => i.accelerator).length, 'no shortcut twice');
  }
  const dev = new Set(flatten(menuTemplate('linux', { send: () => {}, addDocuments: () => {} }, true)).map((i) => i.role));
  assert.ok(dev.has('toggleDevTools') && dev.has('reload'));
});
