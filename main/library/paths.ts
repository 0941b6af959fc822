import os from 'node:os';
import path from 'node:path';

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
