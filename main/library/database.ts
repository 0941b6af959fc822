import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LongreadError } from '../../common/errors';
import { MIGRATIONS } from './migrations';

export type Db = Database.Database;

/** Told to the user when a damaged library file was moved aside and a fresh one started. */
export interface RecoveryNotice {
  movedTo: string;
  reason: string;
  message: string;
}

class CorruptDatabase extends Error {}

/**
 * Opens (creating if needed) the library database: WAL journal, foreign keys on, integrity
 * check, then pending migrations. A damaged file is moved aside, never deleted, and a fresh
 * library is started; the returned notice says where the old file went.
 */
export function openDatabase(file: string, options: { fullCheck?: boolean } = {}): { db: Db; recovered: RecoveryNotice | null } {
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    return { db: openChecked(file, options.fullCheck ?? false), recovered: null };
  } catch (e) {
    if (!(e instanceof CorruptDatabase) && !isCorruptionError(e)) throw unavailable(file, e);
    const reason = e instanceof Error ? e.message : String(e);
    const movedTo = moveAside(file);
    const notice: RecoveryNotice = {
      movedTo,
      reason,
      message: `The library database was damaged (${reason}). It was moved to ${movedTo} and a new, empty library was started; the old file was kept so it can be recovered.`,
    };
    try {
      return { db: openChecked(file, false), recovered: notice };
    } catch (e2) {
      throw unavailable(file, e2);
    }
  }
}

function openChecked(file: string, fullCheck: boolean): Db {
  const db = new Database(file, { timeout: 5000 });
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    const rows = db.pragma(fullCheck ? 'integrity_check' : 'quick_check') as Record<string, string>[];
    const result = rows.map((r) => Object.values(r)[0]).join('; ');
    if (result !== 'ok') throw new CorruptDatabase(`integrity check: ${result.slice(0, 300)}`);
    migrate(db, file);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

export function migrate(db: Db, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new LongreadError(
      'library-too-new',
      `The library at ${file} was written by a newer Longread (schema ${current}; this one knows ${MIGRATIONS.length}). Update Longread to open it.`,
      { file },
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

function isCorruptionError(e: unknown): boolean {
  const code = (e as { code?: string })?.code ?? '';
  return /^SQLITE_(CORRUPT|NOTADB)/.test(code);
}

function unavailable(file: string, e: unknown): LongreadError {
  if (e instanceof LongreadError) return e;
  return new LongreadError('library-unavailable', `The library at ${file} cannot be opened (${e instanceof Error ? e.message : String(e)}).`, { file, cause: e });
}

/** Renames the database (and its WAL and shared-memory files) to library.db.corrupt-<time>. */
function moveAside(file: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  let target = `${file}.corrupt-${stamp}`;
  for (let i = 1; existsSync(target); i++) target = `${file}.corrupt-${stamp}-${i}`;
  renameSync(file, target);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix);
  }
  return target;
}
