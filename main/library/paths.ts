import { chmodSync, mkdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PRIVATE_DIR_MODE } from '../../common/file-modes';

/**
 * The user's Longread data folder: `LONGREAD_HOME` when set; otherwise the platform's place
 * for app data (Linux `$XDG_DATA_HOME/longread` or `~/.local/share/longread`, macOS
 * `~/Library/Application Support/Longread`, Windows `%APPDATA%\Longread`).
 */
export function dataHome(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  if (env.LONGREAD_HOME) return path.resolve(env.LONGREAD_HOME);
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Longread');
  if (platform === 'win32') return path.win32.join(env.APPDATA || path.win32.join(home, 'AppData', 'Roaming'), 'Longread');
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, '.local', 'share');
  return path.join(xdg, 'longread');
}

export const LIBRARY_FILE = 'library.db';
/** Engine-state cache files live here, next to the database. */
export const ENGINE_STATE_DIR = 'engine-state';
/** Uploaded files (browser mode) are kept here, one folder per content hash, so the PDF reader can serve them later. */
export const UPLOADS_DIR = 'uploads';
/** Uploads being received: a file moves into UPLOADS_DIR once it is whole. */
export const INCOMING_DIR = '.incoming';

/**
 * Creates the data home (and any missing parents) readable by the owner only. An existing home
 * is tightened too (a library made before this was done, or a LONGREAD_HOME folder the user made
 * first), when it is the user's own: a shared folder of someone else is left to its owner.
 */
export function ensureDataHome(home: string): void {
  mkdirSync(home, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (process.platform === 'win32') return; // ACLs, not modes; the profile folder is already private
  const info = statSync(home);
  if ((info.mode & 0o077) !== 0 && info.uid === process.getuid?.()) chmodSync(home, PRIVATE_DIR_MODE);
}

/** Creates a folder inside the data home, owner only. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}
