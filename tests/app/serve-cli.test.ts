import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempHome } from './helpers';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('longread serve prints its address, serves the page and the API, and stops cleanly on SIGINT', async () => {
  const { dir, cleanup } = tempHome();
  try {
    const renderer = path.join(dir, 'dist');
    mkdirSync(renderer);
    writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><html><head></head><body>hi</body></html>');
    const child = spawn(process.execPath, ['bin/longread.mjs', 'serve', '--port', '0', '--renderer', renderer], {
      cwd: root,
      env: { ...process.env, LONGREAD_HOME: path.join(dir, 'home') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/);
        if (m) resolve(m[0]);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const token = new URL(url).searchParams.get('token')!;
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<meta name="longread-token" content="[^"]+">/);
    const info = await fetch(new URL('/api/app.info', url), { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    const body = (await info.json()) as { ok: boolean; value: { mode: string; dataHome: string } };
    assert.equal(body.value.mode, 'browser');
    assert.equal(body.value.dataHome, path.join(dir, 'home'));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0, err);
  } finally {
    cleanup();
  }
});

test('longread serve refuses a port that is not one', async () => {
  const child = spawn(process.execPath, ['bin/longread.mjs', 'serve', '--port', '70000'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 1);
  assert.match(err, /--port 70000 is not a port/);
});
