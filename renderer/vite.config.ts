import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const pdfjsDir = path.resolve(here, '../node_modules/pdfjs-dist');

/**
 * pdf.js loads its standard fonts, character maps and image decoders (WebAssembly) at run time;
 * they are copied into the build under `pdfjs/` so the reader never needs anything remote.
 */
function pdfjsResources(): Plugin {
  return {
    name: 'longread-pdfjs-resources',
    apply: 'build',
    generateBundle() {
      for (const folder of ['standard_fonts', 'cmaps', 'wasm', 'iccs']) {
        for (const name of readdirSync(path.join(pdfjsDir, folder))) {
          if (name.startsWith('LICENSE')) continue;
          this.emitFile({ type: 'asset', fileName: `pdfjs/${folder}/${name}`, source: readFileSync(path.join(pdfjsDir, folder, name)) });
        }
      }
    },
  };
}

export default defineConfig({
  root: here,
  // relative URLs: the same build is served from app://longread/ and from http://127.0.0.1:PORT/
  base: './',
  plugins: [svelte(), pdfjsResources()],
  build: {
    outDir: path.join(here, 'dist'),
    emptyOutDir: true,
    // nothing inlined as data: URLs (the CSP allows workers and scripts from the app's own files only)
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2000,
    target: 'es2022',
  },
  worker: { format: 'es' },
});
