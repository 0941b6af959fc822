import { chmodSync, closeSync, existsSync, openSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { LongreadError } from '../../common/errors';
import { MIGRATIONS } from './migrations';
import { PRIVATE_FILE_MODE } from '../../common/file-modes';
import { ensureDataHome } from './paths';

export type Db = Database.Database;

/** `PRAGMA application_id` of a Longread library ("LnRd"): a SQLite file of another program is never taken for one. */
export const LIBRARY_APPLICATION_ID = 0x4c6e5264;
/** Tables every Longread library has had since schema 1: how a library made before the application id was set is recognized. */
const LIBRARY_TABLES = ['documents', 'document_files', 'sections', 'pages', 'pages_fts', 'chats', 'messages'];

/** Told to the user when a damaged library file was repaired, or moved aside and a fresh one started. */
export interface RecoveryNotice {
  /** Where the damaged file went; null when it was repaired in place. */
  movedTo: string | null;
  reason: string;
  message: string;
}

class CorruptDatabase extends Error {}

/**
 * Opens (creating if needed) the library database: owner-only file modes, WAL journal, foreign
 * keys on, a check that the file is a Longread library, integrity check, then pending
 * migrations. A damaged file is first repaired (indexes and the full-text index are rebuilt
 * from the tables); if that is not enough it is moved aside, never deleted, and a fresh library
 * is started, unless another process still has it open. The notice says what happened.
 */
export function openDatabase(file: string, options: { fullCheck?: boolean } = {}): { db: Db; recovered: RecoveryNotice | null } {
  try {
    ensureDataHome(path.dirname(file));
  } catch (e) {
    throw unavailable(file, e); // the folder cannot be made (a file in its place, no permission)
  }
  makePrivate(file);
  let damage: string;
  try {
    return { db: openChecked(file, options.fullCheck ?? false), recovered: null };
  } catch (e) {
    if (!(e instanceof CorruptDatabase) && !isCorruptionError(e)) throw unavailable(file, e);
    damage = e instanceof Error ? e.message : String(e);
  }
  const repaired = tryRepair(file, options.fullCheck ?? false);
  if (repaired) {
    return {
      db: repaired,
      recovered: { movedTo: null, reason: damage, message: `The library database was damaged (${damage}); its indexes were rebuilt from the stored documents and it passed the check again.` },
    };
  }
  if (heldElsewhere(file)) {
    throw new LongreadError(
      'library-unavailable',
      `The library at ${file} is damaged (${damage}), and another program (another Longread?) still has it open, so it was left where it is. Close the other program and start Longread again.`,
      { file },
    );
  }
  const movedTo = moveAside(file);
  const notice: RecoveryNotice = {
    movedTo,
    reason: damage,
    message: `The library database was damaged (${damage}). It was moved to ${movedTo} and a new, empty library was started; the old file was kept so it can be recovered.`,
  };
  try {
    makePrivate(file);
    return { db: openChecked(file, false), recovered: notice };
  } catch (e2) {
    throw unavailable(file, e2);
  }
}

/**
 * The database and its WAL and shared-memory files are the owner's only. A new database file is
 * created 0600 before SQLite opens it, and SQLite gives the -wal and -shm files it creates the
 * database file's mode; files from before this was done are tightened.
 */
function makePrivate(file: string): void {
  if (!existsSync(file)) {
    try {
      closeSync(openSync(file, 'wx', PRIVATE_FILE_MODE));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw unavailable(file, e);
    }
  }
  if (process.platform === 'win32') return;
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, PRIVATE_FILE_MODE);
    } catch {
      // absent (no WAL yet), or not ours to change: SQLite reports what matters on open
    }
  }
}

function openChecked(file: string, fullCheck: boolean): Db {
  const db = new Database(file, { timeout: 5000 });
  try {
    checkIsLibrary(db, file); // before anything writes to the file
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    checkIntegrity(db, fullCheck);
    migrate(db, file);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

function checkIntegrity(db: Db, fullCheck: boolean): void {
  const rows = db.pragma(fullCheck ? 'integrity_check' : 'quick_check') as Record<string, string>[];
  const result = rows.map((r) => Object.values(r)[0]).join('; ');
  if (result !== 'ok') throw new CorruptDatabase(`integrity check: ${result.slice(0, 300)}`);
}

/**
 * A SQLite file that is not a Longread library (another program's database at this path, or a
 * library folder pointed at the wrong place) is refused, never migrated into. A library made
 * before the application id was written is recognized by its tables and gets the id.
 */
function checkIsLibrary(db: Db, file: string): void {
  const id = db.pragma('application_id', { simple: true }) as number;
  if (id === LIBRARY_APPLICATION_ID) return;
  const tables = new Set((db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
  const version = db.pragma('user_version', { simple: true }) as number;
  const fresh = id === 0 && version === 0 && tables.size === 0;
  const earlyLibrary = id === 0 && version > 0 && LIBRARY_TABLES.every((t) => tables.has(t));
  if (fresh || earlyLibrary) {
    db.pragma(`application_id = ${LIBRARY_APPLICATION_ID}`);
    return;
  }
  throw new LongreadError(
    'library-foreign',
    `${file} is a SQLite database of another program${id !== 0 ? ` (application id ${id})` : ''}, not a Longread library; it was left untouched. Move it away, or set LONGREAD_HOME to another folder.`,
    { file },
  );
}

/**
 * Rebuilds what can be rebuilt from the tables (every index, and the full-text index from the
 * stored text and page ranges), then checks again. The open database, or null when the damage
 * is elsewhere (the tables themselves) or the repair failed.
 */
function tryRepair(file: string, fullCheck: boolean): Db | null {
  let db: Db;
  try {
    db = new Database(file, { timeout: 5000 });
  } catch {
    return null;
  }
  try {
    checkIsLibrary(db, file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.exec('REINDEX');
    rebuildFullText(db);
    checkIntegrity(db, fullCheck);
    migrate(db, file);
    return db;
  } catch {
    db.close();
    return null;
  }
}

/** The page index is contentless (the text lives once, in documents.text): it is refilled from the page ranges. */
function rebuildFullText(db: Db): void {
  const insert = db.prepare('INSERT INTO pages_fts (rowid, text) VALUES (?, ?)');
  db.transaction(() => {
    db.exec("INSERT INTO pages_fts(pages_fts) VALUES('delete-all')");
    const textOf = db.prepare('SELECT text FROM documents WHERE hash = ?').pluck();
    for (const hash of db.prepare('SELECT hash FROM documents').pluck().all() as string[]) {
      const text = textOf.get(hash) as string;
      for (const p of db.prepare('SELECT id, start, end FROM pages WHERE doc_hash = ?').all(hash) as { id: number; start: number; end: number }[]) {
        insert.run(p.id, text.slice(p.start, p.end));
      }
    }
  }).immediate();
}

/**
 * Whether another connection (another Longread, the CLI) has the file open: SQLite then holds a
 * shared lock on it, so an exclusive lock cannot be had. Moving a file aside under a process
 * that still writes to it would split the library in two.
 */
function heldElsewhere(file: string): boolean {
  let db: Db;
  try {
    db = new Database(file, { timeout: 250 });
  } catch {
    return false;
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('ROLLBACK');
    return false;
  } catch (e) {
    return /^SQLITE_(BUSY|LOCKED)/.test((e as { code?: string }).code ?? '');
  } finally {
    db.close();
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
  if (current === MIGRATIONS.length) return;
  // Off while tables are rebuilt (a DROP would otherwise cascade); checked before each commit.
  db.pragma('foreign_keys = OFF');
  try {
    for (let v = current; v < MIGRATIONS.length; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v]!);
        const broken = db.pragma('foreign_key_check') as unknown[];
        if (broken.length > 0) throw new LongreadError('library-unavailable', `The library at ${file} could not be updated to schema ${v + 1}: ${broken.length} rows would refer to nothing.`, { file });
        db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  } finally {
    db.pragma('foreign_keys = ON');
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
