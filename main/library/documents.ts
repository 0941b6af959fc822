import path from 'node:path';
import type { DocumentPage, DocumentSection, DocumentType, IngestedDocument, PageKind, PageWord, TextRange, TokenCount, TokenCounter } from '../../common/document';
import { LongreadError } from '../../common/errors';
import type { Db } from './database';

export interface DocumentFile {
  path: string;
  version: number;
  addedAt: number;
}

export interface DocumentSummary {
  id: string;
  type: DocumentType;
  title: string;
  author: string | null;
  pageKind: PageKind;
  pageCount: number;
  sectionCount: number;
  charCount: number;
  byteSize: number;
  addedAt: number;
  warnings: string[];
  files: DocumentFile[];
}

export interface StoredSource {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface SearchHit {
  docId: string;
  title: string;
  page: number;
  label: string | null;
  start: number;
  end: number;
  snippet: string;
}

interface DocumentRow {
  hash: string;
  type: DocumentType;
  title: string;
  author: string | null;
  char_count: number;
  page_kind: PageKind;
  page_count: number;
  byte_size: number;
  warnings: string;
  added_at: number;
  section_count: number;
}

const SUMMARY_SQL = `
  SELECT d.hash, d.type, d.title, d.author, d.char_count, d.page_kind, d.page_count, d.byte_size, d.warnings, d.added_at,
         (SELECT count(*) FROM sections s WHERE s.doc_hash = d.hash) AS section_count
  FROM documents d`;

/** Documents, their files, sections, pages and full-text index: reads and all-or-nothing writes. */
export class DocumentStore {
  constructor(private readonly db: Db) {}

  has(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM documents WHERE hash = ?').get(id) !== undefined;
  }

  /** Resolves a full id or an unambiguous prefix (at least 6 hex digits) to a full id. */
  resolveId(idOrPrefix: string): string {
    const id = idOrPrefix.trim().toLowerCase();
    if (!/^[0-9a-f]{6,64}$/.test(id)) throw new LongreadError('document-not-found', `"${idOrPrefix}" is not a document id (ids are hexadecimal; \`longread library list\` shows them).`);
    const rows = this.db.prepare("SELECT hash FROM documents WHERE hash >= ? AND hash < ? || 'g' LIMIT 2").all(id, id) as { hash: string }[];
    if (rows.length === 0) throw new LongreadError('document-not-found', `No document with id ${idOrPrefix} is in the library.`);
    if (rows.length > 1) throw new LongreadError('document-id-ambiguous', `More than one document id starts with ${idOrPrefix}; give more of the id.`);
    return rows[0]!.hash;
  }

  /** The path's newest version number, or 0 when the path was never added. */
  latestVersion(filePath: string): number {
    const row = this.db.prepare('SELECT max(version) AS v FROM document_files WHERE path = ?').get(filePath) as { v: number | null };
    return row.v ?? 0;
  }

  /** Whether any document records `filePath` as one of its files. */
  isRecordedPath(filePath: string): boolean {
    return this.db.prepare('SELECT 1 FROM document_files WHERE path = ? LIMIT 1').get(filePath) !== undefined;
  }

  fileVersion(filePath: string, id: string): number | null {
    const row = this.db.prepare('SELECT version FROM document_files WHERE path = ? AND doc_hash = ?').get(filePath, id) as { version: number } | undefined;
    return row?.version ?? null;
  }

  /** Records that `source` holds the already stored document `id` (a new version of its path). */
  recordFile(id: string, source: StoredSource): number {
    return this.db
      .transaction(() => {
        const existing = this.fileVersion(source.path, id);
        if (existing !== null) return existing;
        const version = this.latestVersion(source.path) + 1;
        this.db
          .prepare('INSERT INTO document_files (path, doc_hash, version, byte_size, mtime_ms, added_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(source.path, id, version, source.size, source.mtimeMs, Date.now());
        return version;
      })
      .immediate();
  }

  /**
   * Stores a whole document in one transaction: the document row, its file, sections, pages,
   * full-text index and token count. A crash part-way leaves the library as it was.
   * `onPage` runs after each page is written (inside the transaction).
   */
  insert(doc: IngestedDocument, source: StoredSource, onPage?: (done: number, total: number) => void): number {
    const insertDoc = this.db.prepare(
      'INSERT INTO documents (hash, type, title, author, text, char_count, page_kind, page_count, byte_size, warnings, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const insertSection = this.db.prepare('INSERT INTO sections (doc_hash, ord, title, level, start, end, page) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const insertPage = this.db.prepare('INSERT INTO pages (doc_hash, number, label, start, end, words) VALUES (?, ?, ?, ?, ?, ?)');
    const insertFts = this.db.prepare('INSERT INTO pages_fts (rowid, text) VALUES (?, ?)');
    const insertFile = this.db.prepare('INSERT INTO document_files (path, doc_hash, version, byte_size, mtime_ms, added_at) VALUES (?, ?, ?, ?, ?, ?)');
    const now = Date.now();
    return this.db
      .transaction(() => {
        if (this.has(doc.id)) return this.recordFile(doc.id, source);
        insertDoc.run(doc.id, doc.type, doc.title, doc.author, doc.text, doc.text.length, doc.pageKind, doc.pages.length, doc.byteLength, JSON.stringify(doc.warnings), now);
        doc.sections.forEach((s, i) => insertSection.run(doc.id, i, s.title, s.level, s.start, s.end, s.page));
        if (doc.tokens) this.putTokenCount(doc.id, doc.tokens);
        doc.pages.forEach((p, i) => {
          const { lastInsertRowid } = insertPage.run(doc.id, p.number, p.label ?? null, p.start, p.end, p.words ? JSON.stringify(p.words) : null);
          insertFts.run(lastInsertRowid, doc.text.slice(p.start, p.end));
          onPage?.(i + 1, doc.pages.length);
        });
        const version = this.latestVersion(source.path) + 1;
        insertFile.run(source.path, doc.id, version, source.size, source.mtimeMs, now);
        return version;
      })
      .immediate();
  }

  /** Removes a document and everything hanging off it; chats stay, detached. Returns engine-state files to delete. */
  remove(id: string): string[] {
    return this.db
      .transaction(() => {
        const files = this.db.prepare('SELECT file_name FROM engine_state_files WHERE doc_hash = ?').all(id) as { file_name: string }[];
        const { changes } = this.db.prepare('DELETE FROM documents WHERE hash = ?').run(id);
        if (changes === 0) throw new LongreadError('document-not-found', `No document with id ${id} is in the library.`);
        return files.map((f) => f.file_name);
      })
      .immediate();
  }

  list(): DocumentSummary[] {
    const rows = this.db.prepare(`${SUMMARY_SQL} ORDER BY d.added_at DESC, d.hash`).all() as DocumentRow[];
    return rows.map((r) => this.summaryOf(r));
  }

  get(id: string): DocumentSummary | null {
    const row = this.db.prepare(`${SUMMARY_SQL} WHERE d.hash = ?`).get(id) as DocumentRow | undefined;
    return row ? this.summaryOf(row) : null;
  }

  text(id: string): string | null {
    const row = this.db.prepare('SELECT text FROM documents WHERE hash = ?').get(id) as { text: string } | undefined;
    return row?.text ?? null;
  }

  sections(id: string): DocumentSection[] {
    return this.db.prepare('SELECT title, level, start, end, page FROM sections WHERE doc_hash = ? ORDER BY ord').all(id) as DocumentSection[];
  }

  pages(id: string): DocumentPage[] {
    const rows = this.db.prepare('SELECT number, label, start, end, words FROM pages WHERE doc_hash = ? ORDER BY number').all(id) as (TextRange & { number: number; label: string | null; words: string | null })[];
    return rows.map(({ label, words, ...p }) => ({ ...p, ...(label !== null ? { label } : {}), ...(words !== null ? { words: JSON.parse(words) as PageWord[] } : {}) }));
  }

  tokenCount(id: string, modelId: string): TokenCount | null {
    const row = this.db.prepare('SELECT count FROM token_counts WHERE doc_hash = ? AND model_id = ?').get(id, modelId) as { count: number } | undefined;
    return row ? { modelId, count: row.count } : null;
  }

  /** The count for the counter's model, computing and storing it the first time. */
  ensureTokenCount(id: string, counter: TokenCounter): TokenCount | null {
    const known = this.tokenCount(id, counter.modelId);
    if (known) return known;
    const text = this.text(id);
    if (text === null) return null;
    const count = { modelId: counter.modelId, count: counter.count(text) };
    this.putTokenCount(id, count);
    return count;
  }

  putTokenCount(id: string, count: TokenCount): void {
    this.db.prepare('INSERT OR REPLACE INTO token_counts (doc_hash, model_id, count) VALUES (?, ?, ?)').run(id, count.modelId, count.count);
  }

  /** The whole stored document in the model every reader produces (for the assistant and the UI). */
  load(id: string, modelId?: string): IngestedDocument | null {
    const row = this.db.prepare('SELECT hash, type, title, author, text, page_kind, byte_size, warnings FROM documents WHERE hash = ?').get(id) as
      | { hash: string; type: DocumentType; title: string; author: string | null; text: string; page_kind: PageKind; byte_size: number; warnings: string }
      | undefined;
    if (!row) return null;
    return {
      id: row.hash,
      type: row.type,
      title: row.title,
      author: row.author,
      text: row.text,
      sections: this.sections(id),
      pages: this.pages(id),
      pageKind: row.page_kind,
      byteLength: row.byte_size,
      tokens: modelId ? this.tokenCount(id, modelId) : null,
      warnings: JSON.parse(row.warnings) as string[],
    };
  }

  /**
   * Full-text search over pages; every word of the query must appear on the page. Scripts
   * written without spaces (Chinese, Japanese, Thai…) have no word boundaries for the index,
   * so such queries are matched as substrings of the page text instead.
   */
  search(query: string, options: { docId?: string; docIds?: readonly string[]; limit?: number } = {}): SearchHit[] {
    const words = query.match(/[\p{L}\p{N}]+/gu) ?? [];
    if (words.length === 0) return [];
    if (words.some((w) => UNSPACED.test(w))) return this.substringSearch(words, options);
    const match = words.map((w) => `"${w}"`).join(' ');
    const rows = this.db
      .prepare(
        `SELECT p.doc_hash AS docId, d.title, p.number AS page, p.label, p.start, p.end
         FROM pages_fts JOIN pages p ON p.id = pages_fts.rowid JOIN documents d ON d.hash = p.doc_hash
         WHERE pages_fts MATCH ? ${options.docId ? 'AND p.doc_hash = ?' : ''} ${options.docIds ? `AND p.doc_hash IN (SELECT value FROM json_each(?))` : ''}
         ORDER BY bm25(pages_fts) LIMIT ?`,
      )
      .all(...[match, ...(options.docId ? [options.docId] : []), ...(options.docIds ? [JSON.stringify(options.docIds)] : []), options.limit ?? 20]) as Omit<SearchHit, 'snippet'>[];
    const texts = new Map<string, string>();
    return rows.map((r) => {
      if (!texts.has(r.docId)) texts.set(r.docId, this.text(r.docId) ?? '');
      return { ...r, snippet: snippet(texts.get(r.docId)!.slice(r.start, r.end), words) };
    });
  }

  private substringSearch(words: string[], options: { docId?: string; docIds?: readonly string[]; limit?: number }): SearchHit[] {
    const limit = options.limit ?? 20;
    const lowered = words.map((w) => w.toLowerCase());
    const all = (options.docId ? [{ hash: options.docId }] : this.db.prepare('SELECT hash FROM documents ORDER BY added_at DESC').all()) as { hash: string }[];
    const docs = options.docIds ? all.filter((d) => options.docIds!.includes(d.hash)) : all;
    const hits: SearchHit[] = [];
    for (const { hash } of docs) {
      const text = this.text(hash);
      const title = this.get(hash)?.title ?? '';
      if (text === null) continue;
      for (const p of this.db.prepare('SELECT number AS page, label, start, end FROM pages WHERE doc_hash = ? ORDER BY number').all(hash) as { page: number; label: string | null; start: number; end: number }[]) {
        const pageText = text.slice(p.start, p.end);
        const lower = pageText.toLowerCase();
        if (!lowered.every((w) => lower.includes(w))) continue;
        hits.push({ docId: hash, title, ...p, snippet: snippet(pageText, words) });
        if (hits.length >= limit) return hits;
      }
    }
    return hits;
  }

  private summaryOf(r: DocumentRow): DocumentSummary {
    const files = this.db.prepare('SELECT path, version, added_at AS addedAt FROM document_files WHERE doc_hash = ? ORDER BY added_at, id').all(r.hash) as DocumentFile[];
    return {
      id: r.hash,
      type: r.type,
      title: r.title,
      author: r.author,
      pageKind: r.page_kind,
      pageCount: r.page_count,
      sectionCount: r.section_count,
      charCount: r.char_count,
      byteSize: r.byte_size,
      addedAt: r.added_at,
      warnings: JSON.parse(r.warnings) as string[],
      files,
    };
  }
}

const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

function snippet(pageText: string, words: string[]): string {
  const lower = pageText.toLowerCase();
  const at = Math.max(0, Math.min(...words.map((w) => lower.indexOf(w.toLowerCase())).filter((i) => i >= 0), pageText.length));
  const start = Math.max(0, at - 80);
  const end = Math.min(pageText.length, at + 160);
  return `${start > 0 ? '…' : ''}${pageText.slice(start, end).replace(/\s+/g, ' ').trim()}${end < pageText.length ? '…' : ''}`;
}

export function normalizePath(file: string): string {
  return path.resolve(file);
}
