#!/usr/bin/env node
// Bundles the Electron main process, its worker threads and the preload with esbuild into
// dist-app/. npm packages stay external (they ship in node_modules, native ones unpacked from
// asar); only this repo's TypeScript is bundled. The preload is sandboxed, so it must be one
// CommonJS file that requires nothing but 'electron'.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const outDir = path.join(root, 'dist-app');

/**
 * Worker threads are started as `new URL('./<name>.mjs', import.meta.url)` next to the code
 * that starts them; in the bundle that is dist-app/, so each worker's entry is bundled there
 * under the same name.
 */
export const WORKERS = [{ entry: 'main/ingest/ingest-worker-main.ts', out: 'ingest-worker.mjs' }];

const sqliteAlias = {
  name: 'sqlite-electron',
  setup(b) {
    const wrapper = path.join(root, 'main', 'app', 'sqlite-electron.ts');
    b.onResolve({ filter: /^better-sqlite3$/ }, (args) => (args.importer === wrapper ? { path: 'better-sqlite3', external: true } : { path: wrapper }));
  },
};

export async function buildApp({ quiet = false } = {}) {
  const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: quiet ? 'error' : 'info', absWorkingDir: root };
  const esm = {
    ...common,
    format: 'esm',
    packages: 'external',
    plugins: [sqliteAlias],
    // some dependencies are CommonJS and call require(); give ESM bundles one
    banner: { js: "import { createRequire as __lrCreateRequire } from 'node:module'; const require = __lrCreateRequire(import.meta.url);" },
  };
  await Promise.all([
    build({ ...esm, entryPoints: { main: 'main/app/main.ts' }, outdir: outDir, outExtension: { '.js': '.mjs' } }),
    ...WORKERS.map((w) => build({ ...esm, entryPoints: [w.entry], outfile: path.join(outDir, w.out) })),
    build({ ...common, format: 'cjs', entryPoints: ['main/app/preload.ts'], outfile: path.join(outDir, 'preload.cjs'), external: ['electron'] }),
  ]);
  return outDir;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildApp();
}
