import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CountingModel, DocumentType, IngestedDocument, TokenCounter } from '../../common/document';
import { throwIfAborted } from '../../common/errors';
import { looksBinary } from './decode';
import { isOleFile, readDocx } from './docx';
import { readEpub } from './epub';
import { checkTextLength, displayName, FileProblem, ingestError } from './errors';
import { readHtml } from './html';
import { readMarkdown } from './markdown';
import { sectionRanges, virtualPages } from './pagination';
import { readPdf } from './pdf';
import { readText } from './text';
import { tokenCounterOrNull } from './token-counter';
import type { ReadOptions, ReadResult } from './types';

export { IngestError, type IngestErrorCode } from './errors';

/** 512 MiB: far above any book, below what would exhaust memory. */
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 * 1024;

export interface IngestOptions extends ReadOptions {
  /** Files bigger than this are refused with `file-too-large`. */
  maxBytes?: number;
  /** The active model's tokenizer; without one the token count is null. */
  tokenCounter?: TokenCounter | null;
  /** The model to count tokens with, by folder (used when no tokenCounter is given; works in the worker too). */
  countWith?: CountingModel | null;
  /** Wall-clock limit for reading on a worker (see worker.ts), in ms. */
  timeoutMs?: number;
}

export interface SourceFile {
  path: string;
  bytes: Uint8Array;
  /** SHA-256 of the bytes, hex: the document id. */
  hash: string;
  size: number;
  mtimeMs: number;
}

/** Reads a file from disk (within the size limit) and hashes it. */
export async function loadSource(file: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<SourceFile> {
  let info;
  try {
    info = await stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw ingestError('file-not-found', file, 'there is no such file.', e);
    throw ingestError('file-unreadable', file, `the file cannot be read (${code ?? String(e)}).`, e);
  }
  if (!info.isFile()) throw ingestError('unsupported-type', file, 'this is a folder or a device, not a document file.');
  if (info.size > maxBytes) {
    throw ingestError('file-too-large', file, `the file is ${formatBytes(info.size)}, above the limit of ${formatBytes(maxBytes)}.`);
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw ingestError('file-unreadable', file, `the file cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)}).`, e);
  }
  return { path: file, bytes, hash: hashBytes(bytes), size: bytes.length, mtimeMs: info.mtimeMs };
}

export function hashBytes(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Which reader a file needs: by content first (PDF and ZIP signatures), then by extension. */
export function detectType(file: string, bytes: Uint8Array): DocumentType {
  const head = Buffer.from(bytes.subarray(0, 1024)).toString('latin1');
  const ext = path.extname(file).toLowerCase();
  // the PDF header may follow some junk, but a text file that merely mentions it is text
  if (head.startsWith('%PDF-') || (head.includes('%PDF-') && (ext === '.pdf' || looksBinary(bytes)))) return 'pdf';
  if (head.startsWith('PK\u0003\u0004')) {
    if (ext === '.epub' || head.includes('application/epub+zip')) return 'epub';
    if (ext === '.docx' || head.includes('word/')) return 'docx';
    throw ingestError('unsupported-type', file, `this ${ext || 'ZIP'} file is not a document Longread can read (PDF, EPUB, Word .docx, text, Markdown or HTML).`);
  }
  if (ext === '.pdf') return 'pdf'; // no signature: the PDF reader reports it as damaged
  if (ext === '.epub') return 'epub';
  if (ext === '.docx') return 'docx'; // not a ZIP: the Word reader says encrypted or damaged
  if (isOleFile(bytes) && ext === '.doc') {
    throw ingestError('unsupported-type', file, 'this is an older Word (.doc) file; open it in Word or LibreOffice and save it as .docx.');
  }
  if (looksBinary(bytes)) {
    throw ingestError('unsupported-type', file, `this ${ext ? ext + ' ' : ''}file is not a document Longread can read (PDF, EPUB, Word .docx, text, Markdown or HTML).`);
  }
  if (['.md', '.markdown', '.mdown', '.mkd'].includes(ext)) return 'markdown';
  if (['.html', '.htm', '.xhtml'].includes(ext) || /^\s*(<!doctype html|<html)/i.test(head)) return 'html';
  if (['', '.txt', '.text', '.asc'].includes(ext)) return 'text';
  throw ingestError('unsupported-type', file, `${ext} files are not supported; Longread reads PDF, EPUB, Word (.docx), text, Markdown and HTML.`);
}

/** Reads a file into the normalized document model. */
export async function ingestFile(file: string, options: IngestOptions = {}): Promise<IngestedDocument> {
  throwIfAborted(options.signal, 'Reading the file');
  const source = await loadSource(file, options.maxBytes);
  return ingestSource(source, options);
}

export async function ingestSource(source: SourceFile, options: IngestOptions = {}): Promise<IngestedDocument> {
  const file = source.path;
  const type = detectType(file, source.bytes);
  let read: ReadResult;
  try {
    read = await readByType(type, file, source.bytes, options);
    checkTextLength(read.text.length);
  } catch (e) {
    if (e instanceof FileProblem) throw ingestError(e.code, file, e.problem, e);
    throw e;
  }
  throwIfAborted(options.signal, 'Reading the file');
  const counter = options.tokenCounter ?? (await tokenCounterOrNull(options.countWith));
  return finalize(file, source, read, counter);
}

function readByType(type: DocumentType, file: string, bytes: Uint8Array, options: ReadOptions): Promise<ReadResult> {
  switch (type) {
    case 'pdf':
      return readPdf(file, bytes, options);
    case 'epub':
      return readEpub(file, bytes, options);
    case 'docx':
      return readDocx(file, bytes, options);
    case 'markdown':
      return readMarkdown(bytes, options);
    case 'html':
      return readHtml(bytes, options);
    case 'text':
      return readText(bytes, options);
  }
}

function finalize(file: string, source: SourceFile, read: ReadResult, counter: TokenCounter | null): IngestedDocument {
  if (read.text.trim().length === 0) {
    throw ingestError('document-empty', file, 'the document contains no readable text.');
  }
  const pages = read.pages ?? virtualPages(read.text);
  const fallbackTitle = path.basename(file, path.extname(file));
  return {
    id: source.hash,
    type: read.type,
    title: read.title?.trim() || fallbackTitle || displayName(file),
    author: read.author?.trim() || null,
    text: read.text,
    sections: sectionRanges(read.sectionStarts, read.text, pages),
    pages,
    pageKind: read.pages ? read.pageKind : 'virtual',
    byteLength: source.size,
    tokens: counter ? { modelId: counter.modelId, count: counter.count(read.text) } : null,
    warnings: read.warnings,
  };
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 * 1024) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}
