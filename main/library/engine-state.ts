import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Db } from './database';
import { cacheKey, canonicalJson } from './cache-keys';
import { PRIVATE_FILE_MODE } from '../../common/file-modes';
import { ensurePrivateDir } from './paths';

/**
 * Files younger than this are left alone by the sweep: another process on the same library (the
 * engine worker, the CLI, a second app) may be writing one, or be between its rename and its
 * index row. A crash's leftovers are older and go at the next open.
 */
export const SWEEP_MIN_AGE_MS = 10 * 60 * 1000;

/** 4 GiB by default: engine state for a few dozen long books. */
export const DEFAULT_ENGINE_STATE_CAP = 4 * 1024 ** 3;

export interface EngineStateKey {
  docId: string | null;
  modelId: string;
  /** What the state is (e.g. 'encoder-output') and the settings it was made with. */
  kind: string;
  settings?: Record<string, unknown>;
}

/** The store's key for one segment's local-layer states (`segmentKey`: engine/vcc/encoder.ts localSegmentKey) read in a document. */
export function segmentStateKey(docId: string, modelId: string, segmentKey: string): EngineStateKey {
  return { docId, modelId, kind: 'vcc-local-segment', settings: { key: segmentKey } };
}

/** The list of segment keys a prepare run stored for a document (main/assistant/prepare.ts checks they are all there). */
export function preparedManifestKey(docId: string, modelId: string): EngineStateKey {
  return { docId, modelId, kind: 'vcc-prepared' };
}

interface Row {
  key: string;
  file_name: string;
  byte_size: number;
  sha256: string;
}

/**
 * Large engine-state files kept on disk next to the database, indexed in it. Size-capped
 * with least-recently-used eviction; every read is checked against the stored SHA-256, and a
 * missing or damaged file is simply a cache miss, so the folder is always safe to delete.
 */
export class EngineStateStore {
  constructor(
    private readonly db: Db,
    readonly dir: string,
    public capBytes = DEFAULT_ENGINE_STATE_CAP,
  ) {
    ensurePrivateDir(dir);
  }

  static key(k: EngineStateKey): string {
    return cacheKey('engine-state', k.docId ?? '', k.modelId, k.kind, canonicalJson(k.settings ?? {}));
  }

  /** Writes the file atomically (temp file, fsync, rename), indexes it, then evicts down to the cap. */
  put(k: EngineStateKey, data: Uint8Array): void {
    this.index([this.writeFile(k, data, true)]);
  }

  /**
   * Many entries at once (a document's segment states): files written and renamed into place,
   * indexed in one transaction, then one eviction. Not fsynced one by one (hundreds of files): a
   * file a crash leaves short fails its SHA-256 check at the next read and is a cache miss.
   */
  putMany(entries: Array<{ key: EngineStateKey; data: Uint8Array }>): void {
    if (entries.length > 0) this.index(entries.map((e) => this.writeFile(e.key, e.data, false)));
  }

  private writeFile(k: EngineStateKey, data: Uint8Array, sync: boolean) {
    const key = EngineStateStore.key(k);
    const fileName = `${key}.bin`;
    const temp = path.join(this.dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const fd = openSync(temp, 'w', PRIVATE_FILE_MODE);
    try {
      writeSync(fd, data);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path.join(this.dir, fileName));
    return { key, k, fileName, size: data.byteLength, sha: sha256(data) };
  }

  private index(rows: Array<ReturnType<EngineStateStore['writeFile']>>): void {
    const insert = this.db.prepare('INSERT OR REPLACE INTO engine_state_files (key, doc_hash, model_id, file_name, byte_size, sha256, created_at, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      const now = Math.max(Date.now(), this.newestUse() + 1);
      for (const r of rows) insert.run(r.key, r.k.docId, r.k.modelId, r.fileName, r.size, r.sha, now, now);
    })();
    this.evictKeeping(new Set(rows.map((r) => r.key)));
  }

  /** Whether every key has an entry (its file is not read). */
  hasAll(keys: EngineStateKey[]): boolean {
    const has = this.db.prepare('SELECT 1 FROM engine_state_files WHERE key = ?');
    return keys.every((k) => has.get(EngineStateStore.key(k)) !== undefined);
  }

  /** The stored bytes, or null when absent, missing on disk or damaged (then the entry is dropped). */
  get(k: EngineStateKey): Buffer | null {
    const key = EngineStateStore.key(k);
    const row = this.db.prepare('SELECT key, file_name, byte_size, sha256 FROM engine_state_files WHERE key = ?').get(key) as Row | undefined;
    if (!row) return null;
    let data: Buffer;
    try {
      data = readFileSync(path.join(this.dir, row.file_name));
    } catch {
      this.drop(row);
      return null;
    }
    if (data.length !== row.byte_size || sha256(data) !== row.sha256) {
      this.drop(row);
      return null;
    }
    this.db.prepare('UPDATE engine_state_files SET used_at = ? WHERE key = ?').run(Math.max(Date.now(), this.newestUse() + 1), key);
    return data;
  }

  totalBytes(): number {
    return (this.db.prepare('SELECT coalesce(sum(byte_size), 0) AS n FROM engine_state_files').get() as { n: number }).n;
  }

  /** Drops least-recently-used entries until the total is at most `cap` (never `keep`). */
  evict(cap = this.capBytes, keep?: string): string[] {
    return this.evictKeeping(new Set(keep === undefined ? [] : [keep]), cap);
  }

  private evictKeeping(keep: Set<string>, cap = this.capBytes): string[] {
    const victims = this.db
      .transaction(() => {
        let total = this.totalBytes();
        const out: Row[] = [];
        const rows = this.db.prepare('SELECT key, file_name, byte_size, sha256 FROM engine_state_files ORDER BY used_at, created_at').all() as Row[];
        for (const row of rows) {
          if (total <= cap) break;
          if (keep.has(row.key)) continue;
          this.db.prepare('DELETE FROM engine_state_files WHERE key = ?').run(row.key);
          total -= row.byte_size;
          out.push(row);
        }
        return out;
      })
      .immediate();
    for (const row of victims) rmSync(path.join(this.dir, row.file_name), { force: true });
    return victims.map((r) => r.key);
  }

  /** Deletes files nobody indexes (left by a crash between write and index; not recent ones, see SWEEP_MIN_AGE_MS) and entries whose file is gone. */
  sweep(now = Date.now()): void {
    const rows = this.db.prepare('SELECT key, file_name, byte_size, sha256 FROM engine_state_files').all() as Row[];
    const indexed = new Set(rows.map((r) => r.file_name));
    for (const name of readdirSync(this.dir)) {
      if (indexed.has(name)) continue;
      const file = path.join(this.dir, name);
      try {
        if (now - statSync(file).mtimeMs < SWEEP_MIN_AGE_MS) continue;
      } catch {
        continue; // gone already
      }
      rmSync(file, { force: true, recursive: true });
    }
    for (const row of rows) {
      try {
        statSync(path.join(this.dir, row.file_name));
      } catch {
        this.drop(row);
      }
    }
  }

  /** Deletes files whose rows are already gone (after a document was removed). */
  deleteFiles(fileNames: string[]): void {
    for (const name of fileNames) rmSync(path.join(this.dir, name), { force: true });
  }

  private newestUse(): number {
    return (this.db.prepare('SELECT coalesce(max(used_at), 0) AS t FROM engine_state_files').get() as { t: number }).t;
  }

  private drop(row: Row): void {
    this.db.prepare('DELETE FROM engine_state_files WHERE key = ?').run(row.key);
    rmSync(path.join(this.dir, row.file_name), { force: true });
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
