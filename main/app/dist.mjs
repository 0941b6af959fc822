#!/usr/bin/env node
// `npm run dist` (after the builds): runs electron-builder, which rebuilds native modules in
// node_modules for Electron's ABI, then rebuilds better-sqlite3 for Node again so the CLI and
// the tests keep working. Arguments go to electron-builder (e.g. --linux AppImage).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { root } from './build.mjs';

const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const shell = process.platform === 'win32';
const built = spawnSync(bin('electron-builder'), ['--config', 'electron-builder.yml', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', shell });
const restored = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['rebuild', 'better-sqlite3'], { cwd: root, stdio: 'inherit', shell });
if (restored.status !== 0) console.error('longread: could not rebuild better-sqlite3 for Node; run `npm rebuild better-sqlite3` before using the CLI.');
process.exit(built.status ?? 1);
