import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SETTINGS, settingsSchema, type Settings } from '../../common/api';
import { PRIVATE_FILE_MODE } from '../../common/file-modes';
import { ensureDataHome } from '../library/paths';

export const SETTINGS_FILE = 'settings.json';

/** The engine-state store's cap in bytes, from Settings → stateCacheGiB. */
export function stateCacheBytes(s: Settings): number {
  return Math.round(s.stateCacheGiB * 1024 ** 3);
}

/**
 * The app's settings, one JSON file in the data home. A missing file means defaults; a
 * damaged or partly invalid file keeps every valid field and says what was dropped (`notice`)
 * rather than refusing to start.
 */
export class SettingsStore {
  private current: Settings;
  readonly notice: string | null;

  constructor(readonly home: string) {
    const { settings, notice } = readSettings(path.join(home, SETTINGS_FILE));
    this.current = settings;
    this.notice = notice;
  }

  get(): Settings {
    return { ...this.current };
  }

  /** Applies a validated partial update, writes the file atomically and returns the whole settings. */
  set(update: Partial<Settings>): Settings {
    const next = settingsSchema.parse({ ...this.current, ...stripUndefined(update) });
    ensureDataHome(this.home);
    const file = path.join(this.home, SETTINGS_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(next, null, 2) + '\n', { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, file);
    this.current = next;
    return this.get();
  }
}

function readSettings(file: string): { settings: Settings; notice: string | null } {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    return { settings: { ...DEFAULT_SETTINGS }, notice: null };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { settings: { ...DEFAULT_SETTINGS }, notice: `The settings file ${file} is not valid JSON; the default settings are used.` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { settings: { ...DEFAULT_SETTINGS }, notice: `The settings file ${file} does not hold an object; the default settings are used.` };
  }
  const settings: Settings = { ...DEFAULT_SETTINGS };
  const dropped: string[] = [];
  const shape = settingsSchema.shape;
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in shape)) continue;
    const field = shape[key as keyof Settings].safeParse(value);
    if (field.success) (settings as Record<string, unknown>)[key] = field.data;
    else dropped.push(key);
  }
  return { settings, notice: dropped.length ? `The settings file ${file} had invalid values for ${dropped.join(', ')}; their defaults are used.` : null };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
