#!/usr/bin/env node
// `npm start`: runs the desktop app with real Electron. Checks for Electron's binary first
// (npm install does not download it here), then builds the interface and the main process,
// makes sure better-sqlite3 exists for Electron's ABI, and starts Electron on this folder.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp, outDir, root } from './build.mjs';

const electronDir = path.join(root, 'node_modules', 'electron');

/** The Electron executable, or null with the reason when it is not installed. */
export function electronBinary(dir = electronDir) {
  const pathFile = path.join(dir, 'path.txt');
  if (!existsSync(path.join(dir, 'package.json'))) return { binary: null, reason: 'the electron package is not installed (run npm install)' };
  if (!existsSync(pathFile)) return { binary: null, reason: "Electron's binary was not downloaded (npm install skipped it)" };
  const binary = path.join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? { binary, reason: null } : { binary: null, reason: `Electron's binary is missing (${binary})` };
}

export function missingElectronMessage(reason) {
  return [
    `longread: cannot start the desktop app: ${reason}.`,
    '',
    "  To install Electron's binary (needs access to Electron's download site, github.com):",
    '',
    '      ELECTRON_SKIP_BINARY_DOWNLOAD= node node_modules/electron/install.js',
    '',
    '  (ELECTRON_SKIP_BINARY_DOWNLOAD must be unset or empty for that command.)',
    '',
    '  then run `npm start` again. Without it, use the same app in your browser:',
    '',
    '      npm run web',
    '',
  ].join('\n');
}

function run(command, args, options = {}) {
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

/**
 * better-sqlite3 in node_modules is built for Node; Electron has another ABI. Build a copy for
 * Electron once (prebuilt download, else compile) and keep it under dist-app/native/.
 */
function sqliteForElectron() {
  const abi = readFileSync(path.join(electronDir, 'abi_version'), 'utf8').trim();
  if (abi === process.versions.modules) return null;
  const target = path.join(outDir, 'native', `electron-abi-${abi}`, 'better_sqlite3.node');
  if (existsSync(target)) return target;
  const version = JSON.parse(readFileSync(path.join(electronDir, 'package.json'), 'utf8')).version;
  console.log(`Building better-sqlite3 for Electron ${version} (ABI ${abi}), once…`);
  const work = path.join(os.tmpdir(), `longread-sqlite-electron-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  cpSync(path.join(root, 'node_modules', 'better-sqlite3'), work, { recursive: true, filter: (src) => !src.includes(`${path.sep}build${path.sep}`) });
  const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
  const prebuilt = spawnSync(bin('prebuild-install'), ['--runtime', 'electron', '--target', version, '--arch', process.arch], { cwd: work, stdio: 'inherit', shell: process.platform === 'win32' });
  if (prebuilt.status !== 0) {
    run(bin('node-gyp'), ['rebuild', '--release', '--runtime=electron', `--target=${version}`, '--dist-url=https://electronjs.org/headers'], { cwd: work, shell: process.platform === 'win32' });
  }
  mkdirSync(path.dirname(target), { recursive: true });
  cpSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), target);
  rmSync(work, { recursive: true, force: true });
  return target;
}

async function main() {
  const { binary, reason } = electronBinary();
  if (!binary) {
    process.stderr.write(missingElectronMessage(reason));
    process.exit(1);
  }
  run(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'renderer/vite.config.ts']);
  await buildApp({ quiet: true });
  const binding = sqliteForElectron();
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  if (binding) env.LONGREAD_SQLITE_BINDING = binding;
  const child = spawn(binary, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env });
  child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
