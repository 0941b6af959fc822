/**
 * Versioned schema. Each migration runs once, in order, inside a transaction, and bumps
 * `PRAGMA user_version`. Never edit a shipped migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: documents, their files, sections, pages, full-text search, token counts,
  //    chats and messages, answer and summary caches, engine-state file index.
  `
  CREATE TABLE documents (
    hash        TEXT PRIMARY KEY,            -- SHA-256 of the file's bytes: the document id
    type        TEXT NOT NULL CHECK (type IN ('pdf','epub','text','markdown','html')),
    title       TEXT NOT NULL,
    author      TEXT,
    text        TEXT NOT NULL,               -- stored once per content hash
    char_count  INTEGER NOT NULL,
    page_kind   TEXT NOT NULL CHECK (page_kind IN ('physical','virtual')),
    page_count  INTEGER NOT NULL,
    byte_size   INTEGER NOT NULL,
    warnings    TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    added_at    INTEGER NOT NULL             -- ms since epoch
  ) STRICT;

  -- Where a document was added from. The same path with other contents is a new version.
  CREATE TABLE document_files (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,
    doc_hash    TEXT NOT NULL REFERENCES documents(hash) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    byte_size   INTEGER NOT NULL,
    mtime_ms    REAL NOT NULL,
    added_at    INTEGER NOT NULL,
    UNIQUE (path, version),
    UNIQUE (path, doc_hash)
  ) STRICT;
  CREATE INDEX document_files_doc ON document_files(doc_hash);

  CREATE TABLE sections (
    doc_hash    TEXT NOT NULL REFERENCES documents(hash) ON DELETE CASCADE,
    ord         INTEGER NOT NULL,
    title       TEXT NOT NULL,
    level       INTEGER NOT NULL,
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    page        INTEGER NOT NULL,
    PRIMARY KEY (doc_hash, ord)
  ) STRICT;

  CREATE TABLE pages (
    id          INTEGER PRIMARY KEY,         -- rowid of the page in pages_fts
    doc_hash    TEXT NOT NULL REFERENCES documents(hash) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    label       TEXT,
    start       INTEGER NOT NULL,
    end         INTEGER NOT NULL,
    UNIQUE (doc_hash, number)
  ) STRICT;

  -- Contentless: the text lives once, in documents.text; pages give the ranges.
  CREATE VIRTUAL TABLE pages_fts USING fts5(
    text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
  );
  CREATE TRIGGER pages_fts_delete AFTER DELETE ON pages BEGIN
    DELETE FROM pages_fts WHERE rowid = old.id;
  END;

  -- Token counts belong to one model's tokenizer: a model change recounts instead of lying.
  CREATE TABLE token_counts (
    doc_hash    TEXT NOT NULL REFERENCES documents(hash) ON DELETE CASCADE,
    model_id    TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (doc_hash, model_id)
  ) STRICT;

  CREATE TABLE chats (
    id          INTEGER PRIMARY KEY,
    doc_hash    TEXT REFERENCES documents(hash) ON DELETE SET NULL,  -- a chat outlives its book
    title       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX chats_doc ON chats(doc_hash);

  CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    role        TEXT NOT NULL CHECK (role IN ('user','assistant','system')),
    content     TEXT NOT NULL,
    meta        TEXT,                        -- JSON: citations, evidence ranges, model, timings
    created_at  INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX messages_chat ON messages(chat_id, id);

  -- key = SHA-256 of (document hash, model id, engine settings, normalized question)
  CREATE TABLE answer_cache (
    key         TEXT PRIMARY KEY,
    doc_hash    TEXT NOT NULL REFERENCES documents(hash) ON DELETE CASCADE,
    model_id    TEXT NOT NULL,
    settings    TEXT NOT NULL,               -- canonical JSON of the engine settings
    question    TEXT NOT NULL,               -- normalized question
    answer      TEXT NOT NULL,               -- JSON
    created_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX answer_cache_doc ON answer_cache(doc_hash);

  -- key = SHA-256 of (document hash, model id, engine settings, scope)
  CREATE TABLE summary_cache (
    key         TEXT PRIMARY KEY,
    doc_hash    TEXT NOT NULL REFERENCES documents(hash) ON DELETE CASCADE,
    model_id    TEXT NOT NULL,
    settings    TEXT NOT NULL,
    scope       TEXT NOT NULL,               -- 'document', or a section/range the summary covers
    summary     TEXT NOT NULL,               -- JSON
    created_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX summary_cache_doc ON summary_cache(doc_hash);

  -- Large engine-state files (e.g. encoded documents) kept on disk in engine-state/.
  CREATE TABLE engine_state_files (
    key         TEXT PRIMARY KEY,
    doc_hash    TEXT REFERENCES documents(hash) ON DELETE CASCADE,
    model_id    TEXT NOT NULL,
    file_name   TEXT NOT NULL UNIQUE,
    byte_size   INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX engine_state_lru ON engine_state_files(used_at);
  `,

  // 2: Word documents ('docx'). SQLite cannot change a CHECK in place: the table is rebuilt
  //    (foreign keys are off while migrations run, so nothing referring to it is touched).
  `
  CREATE TABLE documents_new (
    hash        TEXT PRIMARY KEY,
    type        TEXT NOT NULL CHECK (type IN ('pdf','epub','docx','text','markdown','html')),
    title       TEXT NOT NULL,
    author      TEXT,
    text        TEXT NOT NULL,
    char_count  INTEGER NOT NULL,
    page_kind   TEXT NOT NULL CHECK (page_kind IN ('physical','virtual')),
    page_count  INTEGER NOT NULL,
    byte_size   INTEGER NOT NULL,
    warnings    TEXT NOT NULL DEFAULT '[]',
    added_at    INTEGER NOT NULL
  ) STRICT;
  INSERT INTO documents_new SELECT hash, type, title, author, text, char_count, page_kind, page_count, byte_size, warnings, added_at FROM documents;
  DROP TABLE documents;
  ALTER TABLE documents_new RENAME TO documents;
  `,

  // 3: collections of documents (a document may be in several).
  `
  CREATE TABLE collections (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE collection_documents (
    collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    doc_hash    TEXT NOT NULL REFERENCES documents(hash) ON DELETE CASCADE,
    added_at    INTEGER NOT NULL,
    PRIMARY KEY (collection_id, doc_hash)
  ) STRICT;
  CREATE INDEX collection_documents_doc ON collection_documents(doc_hash);
  `,

  // 4: a chat may be about a collection (its questions were asked of every document in it).
  `
  ALTER TABLE chats ADD COLUMN collection_id INTEGER REFERENCES collections(id) ON DELETE SET NULL;
  CREATE INDEX chats_collection ON chats(collection_id);
  `,
  // 5: the words OCR read on a page that had no text layer, with their boxes (JSON array of
  //    PageWord, common/document.ts); null for every other page.
  `
  ALTER TABLE pages ADD COLUMN words TEXT;
  `,
];
