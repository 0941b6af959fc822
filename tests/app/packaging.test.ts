import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import yaml from 'js-yaml';
import { minimatch } from 'minimatch';
import { tinyModelDir } from '../helpers/tiny-model';
import { tempHome, writeBook } from './helpers';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const config = yaml.load(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as Record<string, any>;
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const dist = path.join(root, 'dist-app');

before(async () => {
  const { buildApp } = (await import(pathToFileURL(path.join(root, 'main/app/build.mjs')).href)) as { buildApp(o: { quiet: boolean }): Promise<unknown> };
  await buildApp({ quiet: true });
});

test('electron-builder accepts the configuration (its own schema check)', async () => {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js');
  await validateConfiguration(config, { add() {}, isEnabled: false });
  await assert.rejects(validateConfiguration({ ...config, linux: { ...config.linux, targett: 'deb' } }, { add() {}, isEnabled: false }), /configuration/, 'the check itself can fail');
});

test('targets: Linux AppImage and deb, Windows NSIS, macOS dmg', () => {
  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.deepEqual(config.win.target, ['nsis']);
  assert.deepEqual(config.mac.target, ['dmg']);
  assert.ok(config.linux.maintainer, 'deb packages need a maintainer');
  assert.ok(config.appId && config.productName);
});

test('packaged builds flip Electron’s fuses: no running as Node, no NODE_OPTIONS or --inspect, only the integrity-checked asar', () => {
  assert.deepEqual(config.electronFuses, {
    runAsNode: false,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    enableCookieEncryption: true,
    grantFileProtocolExtraPrivileges: false,
  });
});

test('native modules are rebuilt for Electron and, with the models, unpacked from asar', () => {
  assert.equal(config.asar, true);
  assert.equal(config.npmRebuild, true);
  const unpacked = (file: string) => (config.asarUnpack as string[]).some((p) => minimatch(file, p, { dot: true }));
  const nativeFiles = (pkgDir: string) =>
    readdirSync(path.join(root, 'node_modules', pkgDir), { recursive: true })
      .map(String)
      .filter((f) => /\.(node|so(\.\d+)*|dylib|dll)$/.test(f))
      .map((f) => `node_modules/${pkgDir}/${f.split(path.sep).join('/')}`);
  const natives = [...nativeFiles('onnxruntime-node'), ...nativeFiles('better-sqlite3')];
  assert.ok(natives.some((f) => f.endsWith('onnxruntime_binding.node')), 'onnxruntime-node ships its binding');
  assert.ok(natives.some((f) => f.endsWith('better_sqlite3.node')), 'better-sqlite3 is built');
  for (const f of natives) assert.ok(unpacked(f), `${f} is unpacked from asar`);
  for (const f of ['models/default/model.safetensors', 'models/default/config.json', 'models/default/tokenizer.json']) assert.ok(unpacked(f), f);
  // the app's own code stays in the archive, workers next to main.mjs so their imports resolve alike
  for (const f of ['dist-app/main.mjs', 'dist-app/ingest-worker.mjs', 'renderer/dist/index.html', 'node_modules/zod/index.js']) assert.ok(!unpacked(f), `${f} stays in the archive`);
  // electron-builder needs Electron as a devDependency, and the app's entry point
  assert.ok(pkg.devDependencies.electron);
  assert.equal(pkg.main, 'dist-app/main.mjs');
  for (const dep of ['better-sqlite3', 'onnxruntime-node']) assert.ok(pkg.dependencies[dep], `${dep} is a production dependency (packaged)`);
});

test('every path the package lists exists after the build', () => {
  const files = (config.files as string[]).filter((f) => !f.startsWith('!'));
  assert.ok(files.includes('package.json'));
  for (const entry of files) {
    const base = entry.split('/').filter((part) => !/[*?{[]/.test(part)).join('/');
    if (base.startsWith('renderer/dist')) continue; // built by vite (the browser tests build and check it)
    if (base === 'models' && !existsSync(path.join(root, 'models'))) continue; // a checkout without the bundled model
    assert.ok(existsSync(path.join(root, base)), `${entry}: ${base} exists`);
  }
  assert.ok(files.some((f) => f.startsWith('renderer/dist')));
  assert.ok(files.some((f) => f.startsWith('dist-app')));
  assert.ok(config.files.includes('!dist-app/**/*.map') && config.files.includes('!dist-app/native/**'));
  for (const f of ['main.mjs', 'preload.cjs', 'ingest-process.mjs', 'engine-process.mjs']) assert.ok(existsSync(path.join(dist, f)), f);
  assert.equal(pkg.scripts.start, 'node main/app/start.mjs');
  assert.match(pkg.scripts.web, /build:renderer.*serve/);
});

test('the bundles: a one-file CommonJS preload that needs only electron; a main process whose workers are all next to it', () => {
  const preload = readFileSync(path.join(dist, 'preload.cjs'), 'utf8');
  assert.deepEqual([...new Set(preload.match(/require\(["'][^"']+["']\)/g))], ['require("electron")']);
  assert.ok(!/\bimport\b\s*[({'"]/.test(preload.replace(/\/\/.*$/gm, '')), 'no ESM import in the preload');
  assert.match(preload, /exposeInMainWorld\("longread"/);

  const main = readFileSync(path.join(dist, 'main.mjs'), 'utf8');
  const specifiers = [...main.matchAll(/(?:from|import\()\s*["']([^"']+)["']/g)].map((m) => m[1]!);
  // the assistant is bundled whenever it is in the checkout (until then its import fails at run time with a clear error)
  const assistantPresent = existsSync(path.join(root, 'main/assistant/assistant.ts'));
  for (const s of specifiers) {
    if (s === '../assistant/assistant' && !assistantPresent) continue;
    assert.ok(!s.startsWith('.') && !s.endsWith('.ts'), `bundled main imports no source file: ${s}`);
  }
  assert.ok(specifiers.includes('better-sqlite3') && specifiers.includes('electron'));
  const workers = [...main.matchAll(/new URL\(\s*["'](\.\/[^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)].map((m) => m[1]!);
  assert.ok(workers.length > 0);
  for (const w of workers) {
    assert.ok(existsSync(path.join(dist, w)), `the worker ${w} that main.mjs starts is in dist-app`);
    const code = readFileSync(path.join(dist, w), 'utf8');
    assert.ok(!/from ["']tsx/.test(code) && !/\.ts["']\)/.test(code), `${w} is bundled JavaScript, no TypeScript loader`);
  }
});

test('the bundled reader process reads a document without the TypeScript loader', async () => {
  const { dir, cleanup } = tempHome();
  try {
    const file = writeBook(dir);
    const bytes = new Uint8Array(readFileSync(file));
    const child = fork(path.join(dist, 'ingest-process.mjs'), [], {
      execArgv: [], // no tsx
      env: { ...process.env, NODE_OPTIONS: '' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    try {
      const doc = await new Promise<any>((resolve, reject) => {
        child.on('message', (m: any) => {
          if (m.type === 'ready') child.send({ type: 'read', source: { path: file, bytes, hash: 'x'.repeat(64), size: bytes.length, mtimeMs: 0 }, countWith: null });
          else if (m.type === 'done') resolve(m.doc);
          else if (m.type === 'error') reject(new Error(m.error.message));
        });
        child.on('exit', (code) => reject(new Error(`the reader process exited (${code})`)));
      });
      assert.equal(doc.title, 'The Test Voyage');
      assert.equal(doc.sections.length, 3);
    } finally {
      child.kill('SIGKILL');
    }
  } finally {
    cleanup();
  }
});

test('the bundled engine process serves a model without the TypeScript loader (as a forked child; typed arrays arrive typed)', async () => {
  const { dir, cleanup } = tempHome();
  try {
    const modelDir = await tinyModelDir({ layers: 2, dModel: 16 }, 'bundled-engine');
    const child = fork(path.join(dist, 'engine-process.mjs'), [], {
      execArgv: [], // no tsx
      env: { ...process.env, NODE_OPTIONS: '' },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const replies: any[] = [];
    const next = (type: string) =>
      new Promise<any>((resolve, reject) => {
        const check = () => {
          const i = replies.findIndex((m) => m.type === type || m.type === 'error');
          if (i < 0) return false;
          const [m] = replies.splice(i, 1);
          if (m.type === 'error') reject(new Error(m.error.message));
          else resolve(m);
          return true;
        };
        if (check()) return;
        const onMessage = () => check() && child.off('message', onMessage);
        child.on('message', onMessage);
        void exited.then((code) => reject(new Error(`the engine process exited (${code})`)));
      });
    child.on('message', (m) => replies.push(m));
    await next('ready');
    child.send({ type: 'init', init: { modelDir, graphCacheRoot: path.join(dir, 'graphs'), engineState: null, reportEncoderHash: false, threads: 1 } });
    child.send({ type: 'open', id: 1 });
    const opened = await next('opened');
    assert.equal(opened.facts.numLayers, 2);
    child.send({ type: 'tokenize', id: 2, text: 'hello world' });
    const tokenized = await next('tokenized');
    assert.ok(tokenized.ids instanceof Int32Array && tokenized.ids.length > 0);
    assert.equal(tokenized.offsets.length, tokenized.ids.length * 2);
    child.send({ type: 'close' });
    await next('closed');
    assert.equal(await exited, 0, 'it leaves on its own once closed');
  } finally {
    cleanup();
  }
});

test('the bundled main process wires the window, IPC, protocol, permissions and files from the OS as required (run against a stand-in Electron)', () => {
  const { dir, cleanup } = tempHome();
  try {
    const book = writeBook(dir);
    const out = execFileSync(process.execPath, ['--import', pathToFileURL(path.join(root, 'tests/app/electron-fake/register.mjs')).href, path.join(root, 'tests/app/electron-fake/drive-main.mjs'), path.join(dist, 'main.mjs'), book], {
      cwd: root,
      env: { ...process.env, LONGREAD_HOME: path.join(dir, 'home'), FAKE_APP_PATH: root, NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const r = JSON.parse(out.trim().split('\n').at(-1)!);
    assert.equal(r.singleInstanceLock, 1);
    assert.deepEqual(r.schemes, [{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]);
    assert.equal(r.windowCount, 1);
    assert.equal(r.webPreferences.contextIsolation, true);
    assert.equal(r.webPreferences.sandbox, true);
    assert.equal(r.webPreferences.nodeIntegration, false);
    assert.equal(r.webPreferences.webSecurity, true);
    assert.equal(r.webPreferences.devTools, false, 'no developer tools in a packaged app');
    assert.equal(r.webPreferences.preload, 'preload.cjs');
    assert.ok(existsSync(path.join(dist, r.webPreferences.preload)));
    assert.deepEqual(r.loaded, ['app://longread/index.html']);
    assert.deepEqual(r.windowOpen, { action: 'deny' });
    assert.equal(r.navigationPrevented, true);
    assert.equal(r.webviewPrevented, true);
    assert.equal(r.permission, false);
    assert.equal(r.permissionCheck, false);
    assert.equal(r.cancelRemote, true);
    assert.equal(r.cancelApp, false);
    assert.match(r.headersCsp[0], /^default-src 'self'; script-src 'self'/);
    assert.match(r.protocol.csp, /^default-src 'self'/);
    assert.deepEqual(r.ipcChannels, ['longread:invoke']);
    assert.equal(r.ipcFromApp.ok, true);
    assert.equal(r.ipcFromApp.value.mode, 'electron');
    assert.equal(r.ipcFromApp.value.version, '9.9.9');
    assert.equal(r.ipcFromElsewhere.error.code, 'forbidden');
    assert.equal(r.ipcMalformed.error.code, 'invalid-request');
    assert.equal(r.fileNavigationPrevented, true);
    assert.equal(r.secondInstanceError, null, 'bad argv from a second launch is skipped, not thrown');
    const types = r.sent.map((s: { type: string }) => s.type);
    assert.ok(r.sent.every((s: { channel: string }) => s.channel === 'longread:event'));
    assert.equal(types.filter((t: string) => t === 'open-document').length, 2, JSON.stringify(types));
    assert.ok(types.includes('library-changed'));
    assert.deepEqual(r.library.sort(), ['The Test Voyage.txt', 'second.txt'], 'the file navigated to is not added');
    assert.deepEqual(r.menuLabels, ['&File', '&Edit', '&View', '&Window', 'help']);
  } finally {
    cleanup();
  }
});

test('npm start without Electron’s binary says what to do and fails', () => {
  const r = spawnSync(process.execPath, ['main/app/start.mjs'], { cwd: root, encoding: 'utf8', env: { ...process.env } });
  if (existsSync(path.join(root, 'node_modules', 'electron', 'path.txt'))) {
    return; // Electron is installed here: start.mjs would launch the app
  }
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot start the desktop app: Electron's binary was not downloaded/);
  assert.match(r.stderr, /node node_modules\/electron\/install\.js/);
  assert.match(r.stderr, /npm run web/);
});

test('start.mjs finds an installed Electron binary by the package’s path.txt', async () => {
  const { electronBinary } = (await import(pathToFileURL(path.join(root, 'main/app/start.mjs')).href)) as { electronBinary(dir: string): { binary: string | null; reason: string | null } };
  const { dir, cleanup } = tempHome();
  try {
    assert.match(electronBinary(dir).reason!, /not installed/);
    writeFileSync(path.join(dir, 'package.json'), '{}');
    assert.match(electronBinary(dir).reason!, /not downloaded/);
    writeFileSync(path.join(dir, 'path.txt'), 'electron');
    assert.match(electronBinary(dir).reason!, /missing/);
    execFileSync('mkdir', ['-p', path.join(dir, 'dist')]);
    writeFileSync(path.join(dir, 'dist', 'electron'), '');
    assert.deepEqual(electronBinary(dir), { binary: path.join(dir, 'dist', 'electron'), reason: null });
  } finally {
    cleanup();
  }
});
