// Browser end-to-end harness: the real local server (startServer) on a temp LONGREAD_HOME, the
// built renderer, and Debian's Chromium driven by playwright-core.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../main/server/server';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.LONGREAD_CHROMIUM ?? '/usr/bin/chromium';
export const CORPUS = path.resolve(ROOT, '../shared/corpus');
export const ARTIFACTS = path.join(ROOT, 'tests/e2e/artifacts');
const RENDERER_INDEX = path.join(ROOT, 'renderer/dist/index.html');

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** Why these tests cannot run here, or null when they can. */
export function skipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM} (apt-get install chromium)`;
  if (!existsSync(CORPUS)) return `the shared corpus is absent (${CORPUS})`;
  if (!existsSync(RENDERER_INDEX)) return 'the renderer is not built: run `npm run build:renderer` first';
  return null;
}

export function corpusFile(...parts: string[]): string {
  return path.join(CORPUS, ...parts);
}

export interface Session {
  server: RunningServer;
  context: BrowserContext;
  page: Page;
  home: string;
  /** Console errors and CSP violations the page reported. */
  problems: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the server on a fresh home and opens its URL in a fresh Chromium profile. Books added
 * are not prepared for fast questions in the background unless `prepareAfterAdd` (the app's
 * default; off here so that other tests' timings do not share the 2 cores with it).
 */
export async function openSession(options: { colorScheme?: 'light' | 'dark'; prepareAfterAdd?: boolean } = {}): Promise<Session> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'longread-e2e-home-'));
  writeFileSync(path.join(home, 'settings.json'), JSON.stringify({ prepareAfterAdd: options.prepareAfterAdd ?? false }));
  const profile = mkdtempSync(path.join(os.tmpdir(), 'longread-e2e-profile-'));
  const server = await startServer({ home });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 880 },
    colorScheme: options.colorScheme ?? 'light',
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (m: ConsoleMessage) => {
    // failed API calls log "Failed to load resource" (their typed errors are expected); other failed loads are caught below
    if (/^Failed to load resource/.test(m.text())) return;
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/api/')) problems.push(`${r.status()} for ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.setDefaultTimeout(20_000);
  await page.goto(server.url);
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    server,
    context,
    page,
    home,
    problems,
    async screenshot(name) {
      const file = path.join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      await context.close().catch(() => {});
      await server.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Adds files through the page's file input (what the Add… button opens in browser mode). */
export async function addThroughUi(page: Page, files: string[]): Promise<void> {
  await page.locator('#file-input').setInputFiles(files);
}

export function fileSize(file: string): number {
  return statSync(file).size;
}
