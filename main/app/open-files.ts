import path from 'node:path';

/** Extensions of the documents Longread reads; anything else on the command line is not a document. */
export const DOCUMENT_EXTENSIONS = ['.pdf', '.epub', '.txt', '.text', '.md', '.markdown', '.mdown', '.mkd', '.html', '.htm', '.xhtml'];

/**
 * The documents named on a command line (the OS passes opened files there on Linux and
 * Windows, and a second launch forwards its argv): flags, the executable and, when run
 * unpackaged, the app's own path are skipped; relative paths are taken from `cwd`.
 */
export function documentArgs(argv: string[], cwd: string, defaultApp: boolean): string[] {
  const args = argv.slice(defaultApp ? 2 : 1);
  return args
    .filter((a) => !a.startsWith('-') && DOCUMENT_EXTENSIONS.includes(path.extname(a).toLowerCase()))
    .map((a) => (a.startsWith('file://') ? decodeURIComponent(new URL(a).pathname) : path.resolve(cwd, a)));
}
