#!/usr/bin/env node
// Finds every tests/**/*.test.ts and runs them with Node's test runner and tsx's loader.
// Usage: node tests/run.mjs [--e2e | --no-e2e] [filter...]
// The browser end-to-end tests (tests/e2e) run when Chromium is installed (/usr/bin/chromium, or
// LONGREAD_CHROMIUM); without it they are skipped with a message. --e2e or LONGREAD_E2E=1 always
// includes them, --no-e2e or LONGREAD_E2E=0 leaves them out. They need the built renderer
// (`npm test` builds it first).
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const chromium = process.env.LONGREAD_CHROMIUM ?? '/usr/bin/chromium';
const forced = args.includes('--e2e') || process.env.LONGREAD_E2E === '1';
const refused = args.includes('--no-e2e') || process.env.LONGREAD_E2E === '0';
const withE2e = forced || (!refused && existsSync(chromium));
if (!withE2e && !refused) console.log(`# browser end-to-end tests (tests/e2e) skipped: no Chromium at ${chromium} (apt-get install chromium, or set LONGREAD_CHROMIUM)`);
const filters = args.filter((a) => !a.startsWith('--'));

// tests/ and the renderer's own unit tests (renderer/tests: its pure logic, no browser)
const files = ['tests', path.join('renderer', 'tests')]
  .filter((dir) => existsSync(path.join(root, dir)))
  .flatMap((dir) => readdirSync(path.join(root, dir), { recursive: true }).map((f) => path.join(dir, String(f))))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => withE2e || !f.split(path.sep).includes('e2e'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
