// Browser mode's launch token: read from the page, dropped from the address bar at once, kept in
// the tab for reloads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchToken, TOKEN_STORAGE_KEY, type TokenPage } from '../src/lib/api/launch-token';

function tab(href: string, meta: string | null, stored: Record<string, string> = {}) {
  const storage = new Map(Object.entries(stored));
  const replaced: string[] = [];
  const location = { href };
  const page: TokenPage = {
    meta,
    storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    location,
    history: {
      state: { view: 'library' },
      replaceState: (_state, _unused, url) => {
        replaced.push(String(url));
        location.href = new URL(String(url), location.href).href;
      },
    },
  };
  return { page, storage, replaced, location };
}

test('the token leaves the address bar as soon as the page has it, and is kept in the tab', () => {
  const t = tab('http://127.0.0.1:4000/?token=SECRET&x=1#/doc/3', 'SECRET');
  assert.equal(launchToken(t.page), 'SECRET');
  assert.deepEqual(t.replaced, ['/?x=1#/doc/3'], 'other parameters and the view stay');
  assert.ok(!t.location.href.includes('SECRET'));
  assert.equal(t.storage.get(TOKEN_STORAGE_KEY), 'SECRET');
});

test('a reload (no token in the address or the page) uses the tab’s token; a new launch’s token replaces it', () => {
  const reload = tab('http://127.0.0.1:4000/#/doc/3', null, { [TOKEN_STORAGE_KEY]: 'SECRET' });
  assert.equal(launchToken(reload.page), 'SECRET');
  assert.deepEqual(reload.replaced, [], 'nothing to clean');
  const fresh = tab('http://127.0.0.1:4000/?token=NEW', 'NEW', { [TOKEN_STORAGE_KEY]: 'OLD' });
  assert.equal(launchToken(fresh.page), 'NEW');
  assert.equal(fresh.storage.get(TOKEN_STORAGE_KEY), 'NEW');
  assert.equal(launchToken(tab('http://127.0.0.1:4000/', null).page), null, 'no token anywhere: the page says to open the printed address');
});

test('storage that refuses does not stop the page', () => {
  const t = tab('http://127.0.0.1:4000/?token=SECRET', 'SECRET');
  t.page.storage = {
    getItem: () => {
      throw new Error('SecurityError');
    },
    setItem: () => {
      throw new Error('QuotaExceededError');
    },
  };
  assert.equal(launchToken(t.page), 'SECRET');
  assert.deepEqual(t.replaced, ['/']);
  assert.equal(launchToken({ ...t.page, meta: null }), null);
});
