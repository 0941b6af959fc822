import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOCUMENT_EXTENSIONS } from '../api/document-paths';

/**
 * The documents named on a command line (the OS passes opened files there on Linux and
 * Windows, and a second launch forwards its argv): flags, the executable and, when run
 * unpackaged, the app's own path are skipped; relative paths are taken from `cwd`; `file:`
 * URLs become paths the way the platform maps them (a host is a UNC share on Windows, refused
 * elsewhere). An argument that is no path at all is skipped: argv comes from outside and must
 * never stop the app from starting.
 */
export function documentArgs(argv: string[], cwd: string, defaultApp: boolean): string[] {
  const files: string[] = [];
  for (const arg of argv.slice(defaultApp ? 2 : 1)) {
    if (arg.startsWith('-')) continue;
    const file = argPath(arg, cwd);
    if (file !== null && DOCUMENT_EXTENSIONS.includes(path.extname(file).toLowerCase())) files.push(file);
  }
  return files;
}

function argPath(arg: string, cwd: string): string | null {
  if (!/^file:/i.test(arg)) return arg.includes('\0') ? null : path.resolve(cwd, arg);
  try {
    return fileURLToPath(arg);
  } catch {
    return null; // not a valid file URL (bad escapes, a host this platform cannot open, …)
  }
}
