#!/usr/bin/env node
// Bundles the Electron main process, its worker threads and the preload with esbuild into
// dist-app/. npm packages stay external (they ship in node_modules, native ones unpacked from
// asar); only this repo's TypeScript is bundled. The preload is sandboxed, so it must be one
// CommonJS file that requires nothing but 'electron'.
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const outDir = path.join(root, 'dist-app');

/** Worker threads are started as `new URL('./<name>.mjs', import.meta.url)`; in the bundle that URL is in dist-app/. */
const WORKER_URL = /new URL\(\s*['"]\.\/([\w.-]+\.mjs)['"]\s*,\s*import\.meta\.url\s*\)/g;

const sqliteAlias = {
  name: 'sqlite-electron',
  setup(b) {
    const wrapper = path.join(root, 'main', 'app', 'sqlite-electron.ts');
    b.onResolve({ filter: /^better-sqlite3$/ }, (args) => (args.importer === wrapper ? { path: 'better-sqlite3', external: true } : { path: wrapper }));
  },
};

/** Worker entry files in the source run TypeScript through tsx; bundled, they need no loader. */
const noTsx = {
  name: 'no-tsx',
  setup(b) {
    b.onResolve({ filter: /^tsx\/esm\/api$/ }, () => ({ path: 'tsx-register', namespace: 'no-tsx' }));
    b.onLoad({ filter: /.*/, namespace: 'no-tsx' }, () => ({ contents: 'export function register() {}', loader: 'js' }));
  },
};

/** The assistant may not be committed yet: then its import stays a run-time import that fails with a clear error. */
const optionalAssistant = {
  name: 'optional-assistant',
  setup(b) {
    b.onResolve({ filter: /\/assistant\/assistant$/ }, (args) => {
      const file = path.resolve(args.resolveDir, `${args.path}.ts`);
      return existsSync(file) ? { path: file } : { path: args.path, external: true };
    });
  },
};

export async function buildApp({ quiet = false } = {}) {
  const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: quiet ? 'error' : 'info', absWorkingDir: root };
  const esm = {
    ...common,
    format: 'esm',
    packages: 'external',
    plugins: [sqliteAlias, noTsx, optionalAssistant],
    // some dependencies are CommonJS and call require(); give ESM bundles one
    banner: { js: "import { createRequire as __lrCreateRequire } from 'node:module'; const require = __lrCreateRequire(import.meta.url);" },
  };
  const [main] = await Promise.all([
    build({ ...esm, metafile: true, entryPoints: { main: 'main/app/main.ts' }, outdir: outDir, outExtension: { '.js': '.mjs' } }),
    build({ ...common, format: 'cjs', entryPoints: ['main/app/preload.ts'], outfile: path.join(outDir, 'preload.cjs'), external: ['electron'] }),
  ]);
  // each worker the bundled code starts, bundled under the name it is started by (workers of workers too)
  const built = new Map();
  let inputs = Object.keys(main.metafile.inputs);
  while (inputs.length) {
    const next = [];
    for (const [name, entry] of workersStartedBy(inputs)) {
      if (built.has(name)) {
        if (built.get(name) !== entry) throw new Error(`two workers are both named ${name}: ${built.get(name)} and ${entry}`);
        continue;
      }
      built.set(name, entry);
      const r = await build({ ...esm, metafile: true, entryPoints: [entry], outfile: path.join(outDir, name) });
      next.push(...Object.keys(r.metafile.inputs));
    }
    inputs = next;
  }
  return { outDir, workers: [...built.keys()] };
}

function workersStartedBy(inputs) {
  const found = [];
  for (const input of inputs) {
    if (input.includes('node_modules') || !/\.(ts|mjs|js)$/.test(input)) continue;
    const file = path.join(root, input);
    if (!existsSync(file)) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(WORKER_URL)) {
      const entry = path.join(path.dirname(file), m[1]);
      if (!existsSync(entry)) throw new Error(`${input} starts a worker from ${m[1]}, which does not exist`);
      found.push([m[1], entry]);
    }
  }
  return found;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { workers } = await buildApp();
  console.log(`dist-app: main.mjs, preload.cjs${workers.map((w) => `, ${w}`).join('')}`);
}
