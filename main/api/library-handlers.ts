import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddedDocument, DocumentDetail, DocumentFile, DocumentInfo } from '../../common/api';
import type { CountingModel, DocumentType, TokenCount } from '../../common/document';
import { LongreadError } from '../../common/errors';
import { DEFAULT_MAX_FILE_BYTES, hashBytes, loadSource } from '../ingest/index';
import type { DocumentSummary } from '../library/documents';
import { PRIVATE_FILE_MODE } from '../../common/file-modes';
import { ensurePrivateDir } from '../library/paths';
import { checkApiDocumentPath } from './document-paths';
import { prepareAfterAdd } from './preparing';
import type { ApiContext, Handlers } from './types';

/** The largest upload: the largest file the library reads, so nothing is received only to be refused. */
export const MAX_UPLOAD_BYTES = DEFAULT_MAX_FILE_BYTES;

const MIME: Record<DocumentType, string> = {
  pdf: 'application/pdf',
  epub: 'application/epub+zip',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  text: 'text/plain; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

export function libraryHandlers(ctx: ApiContext): Handlers<'library.list' | 'library.add' | 'library.upload' | 'library.pick' | 'library.remove' | 'library.cancelAdd' | 'library.search' | 'document.get' | 'document.file'> {
  return {
    'library.list': async () => {
      const model = (await activeModel(ctx))?.modelId ?? null;
      return { documents: ctx.library.list().map((d) => documentInfo(d, model ? ctx.library.documents.tokenCount(d.id, model) : null)) };
    },

    'library.add': async ({ paths, password }) => {
      for (const file of paths) checkApiDocumentPath(file);
      return { added: await addPaths(ctx, paths, password) };
    },

    'library.upload': async ({ name, data, password }) => {
      const bytes = Buffer.from(data, 'base64');
      return addUpload(ctx, name, bytes, password);
    },

    'library.pick': async () => {
      const paths = await requireDesktop(ctx, 'Choosing files').pickDocuments();
      return { added: paths.length ? await addPaths(ctx, paths) : [] };
    },

    'library.remove': ({ id }) => {
      const removed = documentInfo(ctx.library.remove(id));
      ctx.emit({ type: 'library-changed' });
      return { removed };
    },

    'library.cancelAdd': ({ path: file }) => {
      const adding = ctx.adding.get(file);
      adding?.abort();
      return { cancelled: !!adding };
    },

    'library.search': ({ query, documentId, limit }) => {
      if (documentId) requireDocument(ctx, documentId);
      return { hits: ctx.library.documents.search(query, { docId: documentId, limit }) };
    },

    'document.get': async ({ id }): Promise<DocumentDetail> => {
      const info = requireDocument(ctx, id);
      const doc = ctx.library.documents.load(id)!;
      return {
        info: documentInfo(info),
        text: doc.text,
        sections: doc.sections,
        pages: doc.pages,
        tokens: await tokensFor(ctx, id),
        fileAvailable: candidateFiles(info).length > 0,
      };
    },

    'document.file': async ({ id }) => documentFile(ctx, id),
  };
}

/** Adds files one by one (each parsed on a worker thread), reporting progress as events; `password` opens protected PDFs. */
export async function addPaths(ctx: ApiContext, paths: string[], password?: string): Promise<AddedDocument[]> {
  const added: AddedDocument[] = [];
  const countWith = await activeModel(ctx);
  try {
    for (const file of paths) {
      const controller = new AbortController();
      ctx.adding.set(file, controller);
      let release: (() => void) | null = null;
      try {
        release = await ctx.gates.ingests.enter(controller.signal);
        const result = await ctx.library.add(file, {
          inOwnProcess: true,
          countWith,
          password,
          signal: controller.signal,
          ocr: ctx.settings.get().ocr,
          onProgress: (p) =>
            ctx.emit({ type: 'ingest-progress', path: file, phase: p.phase, done: p.done, total: p.total, ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}) }),
        });
        added.push({ status: result.status, document: documentInfo(result.document, result.tokens), path: result.path });
        void prepareAfterAdd(ctx, result.document.id);
      } finally {
        release?.();
        if (ctx.adding.get(file) === controller) ctx.adding.delete(file);
      }
    }
  } finally {
    if (added.length) ctx.emit({ type: 'library-changed' });
  }
  return added;
}

/** A file being received: bytes go to a temp file in the uploads' incoming folder, never straight to their final place. */
export function incomingFile(ctx: ApiContext): string {
  ensurePrivateDir(ctx.library.incomingDir);
  return path.join(ctx.library.incomingDir, `${Date.now()}-${randomBytes(8).toString('hex')}.part`);
}

/** An upload given as bytes (the JSON form, tests): written to a temp file, then added like a received one. */
export async function addUpload(ctx: ApiContext, name: string, bytes: Uint8Array, password?: string): Promise<AddedDocument> {
  if (bytes.length === 0) throw new LongreadError('document-empty', `${name}: the file is empty.`, { file: name });
  if (bytes.length > MAX_UPLOAD_BYTES) throw tooLarge(name, bytes.length);
  const temp = incomingFile(ctx);
  await writeFile(temp, bytes, { mode: PRIVATE_FILE_MODE });
  return addReceivedUpload(ctx, name, { file: temp, hash: hashBytes(bytes), size: bytes.length }, password);
}

/**
 * Adds a wholly received upload (a temp file from `incomingFile` with its SHA-256): it is moved
 * to `uploads/<hash>/<name>` and added. When the add fails (unreadable, cancelled, busy…) the
 * file is deleted again, unless a document already records that path.
 */
export async function addReceivedUpload(ctx: ApiContext, name: string, received: { file: string; hash: string; size: number }, password?: string): Promise<AddedDocument> {
  let file: string | null = null;
  try {
    if (received.size === 0) throw new LongreadError('document-empty', `${name}: the file is empty.`, { file: name });
    if (received.size > MAX_UPLOAD_BYTES) throw tooLarge(name, received.size);
    const dir = path.join(ctx.library.uploadsDir, received.hash);
    ensurePrivateDir(dir);
    file = path.join(dir, path.basename(name));
    await rename(received.file, file);
    const [added] = await addPaths(ctx, [file], password);
    return added!;
  } catch (e) {
    if (file) ctx.library.deleteUpload(file);
    await rm(received.file, { force: true });
    throw e;
  }
}

export function tooLarge(name: string, size: number): LongreadError {
  const mib = (n: number) => `${Math.round(n / 1024 / 1024)} MiB`;
  return new LongreadError('too-large', `${name}: the file is ${size > MAX_UPLOAD_BYTES ? mib(size) : 'too large'}, above the limit of ${mib(MAX_UPLOAD_BYTES)}.`, { file: name });
}

function requireDesktop(ctx: ApiContext, what: string) {
  if (!ctx.desktop) throw new LongreadError('unsupported', `${what} needs the desktop app; in the browser, drop the files on the page instead.`);
  return ctx.desktop;
}

export function requireDocument(ctx: ApiContext, id: string): DocumentSummary {
  const info = ctx.library.documents.get(id);
  if (!info) throw new LongreadError('document-not-found', `No document with id ${id} is in the library.`);
  return info;
}

export function documentInfo(d: DocumentSummary, tokens: TokenCount | null = null): DocumentInfo {
  return { ...d, files: d.files.map((f) => ({ ...f })), tokens };
}

/** The active model (tokens are counted with it), or null when there is none or the assistant cannot open. */
async function activeModel(ctx: ApiContext): Promise<CountingModel | null> {
  try {
    const active = (await (await ctx.assistant.get()).models.list()).find((m) => m.active);
    return active ? { modelId: active.id, dir: active.dir } : null;
  } catch {
    return null;
  }
}

async function tokensFor(ctx: ApiContext, id: string) {
  const model = (await activeModel(ctx))?.modelId;
  return model ? ctx.library.documents.tokenCount(id, model) : null;
}

/** Recorded files of the document that still exist with the stored size, newest first. */
function candidateFiles(info: DocumentSummary): string[] {
  return [...info.files]
    .reverse()
    .map((f) => f.path)
    .filter((p) => {
      try {
        const s = statSync(p);
        return s.isFile() && s.size === info.byteSize;
      } catch {
        return false;
      }
    });
}

/** The source file's bytes, checked against the document id (its SHA-256) so a changed file is never shown as this document. */
export async function documentFile(ctx: ApiContext, id: string): Promise<DocumentFile> {
  const info = requireDocument(ctx, id);
  for (const file of candidateFiles(info)) {
    const source = await loadSource(file).catch(() => null);
    if (source && source.hash === id) return { name: path.basename(file), mimeType: MIME[info.type], bytes: source.bytes };
  }
  const last = info.files.at(-1)?.path;
  throw new LongreadError(
    'document-file-missing',
    `The original file of “${info.title}” is no longer where it was added${last ? ` (${last})` : ''}, or it was changed since; add it again to view it.`,
    last === undefined ? {} : { file: last },
  );
}
