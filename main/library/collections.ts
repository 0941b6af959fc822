import { LongreadError } from '../../common/errors';
import type { Db } from './database';

/** A named set of documents; a document may be in several. */
export interface Collection {
  id: number;
  name: string;
  createdAt: number;
  updatedAt: number;
  /** Its documents, in the order they were put in. */
  documentIds: string[];
}

export const MAX_COLLECTION_NAME = 200;

interface Row {
  id: number;
  name: string;
  createdAt: number;
  updatedAt: number;
}

const SELECT = 'SELECT id, name, created_at AS createdAt, updated_at AS updatedAt FROM collections';

export class CollectionStore {
  constructor(private readonly db: Db) {}

  create(name: string): Collection {
    const clean = checkName(name);
    this.refuseTaken(clean);
    const now = Date.now();
    const { lastInsertRowid } = this.db.prepare('INSERT INTO collections (name, created_at, updated_at) VALUES (?, ?, ?)').run(clean, now, now);
    return { id: Number(lastInsertRowid), name: clean, createdAt: now, updatedAt: now, documentIds: [] };
  }

  rename(id: number, name: string): Collection {
    const clean = checkName(name);
    this.require(id);
    this.refuseTaken(clean, id);
    this.db.prepare('UPDATE collections SET name = ?, updated_at = ? WHERE id = ?').run(clean, Date.now(), id);
    return this.require(id);
  }

  /** Deletes the collection; its documents stay in the library. */
  remove(id: number): Collection {
    const collection = this.require(id);
    this.db.prepare('DELETE FROM collections WHERE id = ?').run(id);
    return collection;
  }

  /** Puts documents in the collection (those already in it stay where they are), in one transaction. */
  addDocuments(id: number, docIds: readonly string[]): Collection {
    this.db.transaction(() => {
      this.require(id);
      const exists = this.db.prepare('SELECT 1 FROM documents WHERE hash = ?').pluck();
      const insert = this.db.prepare('INSERT OR IGNORE INTO collection_documents (collection_id, doc_hash, added_at) VALUES (?, ?, ?)');
      const now = Date.now();
      for (const doc of docIds) {
        if (!exists.get(doc)) throw new LongreadError('document-not-found', `No document with id ${doc} is in the library.`);
        insert.run(id, doc, now);
      }
      this.db.prepare('UPDATE collections SET updated_at = ? WHERE id = ?').run(now, id);
    }).immediate();
    return this.require(id);
  }

  /** Takes documents out of the collection (not out of the library). */
  removeDocuments(id: number, docIds: readonly string[]): Collection {
    this.db.transaction(() => {
      this.require(id);
      const del = this.db.prepare('DELETE FROM collection_documents WHERE collection_id = ? AND doc_hash = ?');
      for (const doc of docIds) del.run(id, doc);
      this.db.prepare('UPDATE collections SET updated_at = ? WHERE id = ?').run(Date.now(), id);
    }).immediate();
    return this.require(id);
  }

  get(id: number): Collection | null {
    const row = this.db.prepare(`${SELECT} WHERE id = ?`).get(id) as Row | undefined;
    return row ? this.withDocuments(row) : null;
  }

  list(): Collection[] {
    return (this.db.prepare(`${SELECT} ORDER BY name COLLATE NOCASE, id`).all() as Row[]).map((r) => this.withDocuments(r));
  }

  /** The collections a document is in. */
  of(docId: string): Collection[] {
    const rows = this.db.prepare(`${SELECT} WHERE id IN (SELECT collection_id FROM collection_documents WHERE doc_hash = ?) ORDER BY name COLLATE NOCASE, id`).all(docId) as Row[];
    return rows.map((r) => this.withDocuments(r));
  }

  /** A collection to ask or summarize: a typed error when there is none with that id (a decimal string) or it has no documents. */
  nonEmpty(collectionId: string): Collection {
    const c = /^[1-9][0-9]*$/.test(collectionId) ? this.get(Number(collectionId)) : null;
    if (!c) throw new LongreadError('collection-not-found', `There is no collection ${collectionId}.`);
    if (c.documentIds.length === 0) throw new LongreadError('collection-empty', `The collection "${c.name}" has no documents; add some first (\`longread library collection add\`).`);
    return c;
  }

  /** A collection by its name (any case) or its number, for the command line. */
  resolve(nameOrId: string): Collection {
    const byName = this.db.prepare(`${SELECT} WHERE name = ? COLLATE NOCASE`).get(nameOrId.trim()) as Row | undefined;
    if (byName) return this.withDocuments(byName);
    if (/^\d+$/.test(nameOrId.trim())) {
      const byId = this.get(Number(nameOrId.trim()));
      if (byId) return byId;
    }
    throw new LongreadError('collection-not-found', `There is no collection "${nameOrId}" (\`longread library collection list\` shows them).`);
  }

  private require(id: number): Collection {
    const c = this.get(id);
    if (!c) throw new LongreadError('collection-not-found', `There is no collection ${id}.`);
    return c;
  }

  private refuseTaken(name: string, except?: number): void {
    const other = this.db.prepare('SELECT id FROM collections WHERE name = ? COLLATE NOCASE').pluck().get(name) as number | undefined;
    if (other !== undefined && other !== except) throw new LongreadError('collection-exists', `There is already a collection named "${name}".`);
  }

  private withDocuments(row: Row): Collection {
    const documentIds = this.db.prepare('SELECT doc_hash FROM collection_documents WHERE collection_id = ? ORDER BY added_at, rowid').pluck().all(row.id) as string[];
    return { ...row, documentIds };
  }
}

function checkName(name: string): string {
  const clean = name.trim().replace(/\s+/g, ' ');
  if (clean.length === 0) throw new LongreadError('invalid-argument', 'A collection needs a name.');
  if (clean.length > MAX_COLLECTION_NAME) throw new LongreadError('invalid-argument', `A collection name may have at most ${MAX_COLLECTION_NAME} characters (this one has ${clean.length}).`);
  return clean;
}
