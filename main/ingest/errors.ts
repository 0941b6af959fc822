import path from 'node:path';
import { LongreadError } from '../../common/errors';

/** Stable codes for files that cannot be read; the UI and scripts switch on them. */
export type IngestErrorCode =
  | 'file-not-found'
  | 'file-unreadable'
  | 'file-too-large'
  | 'unsupported-type'
  | 'docx-corrupt'
  | 'docx-encrypted'
  | 'document-empty'
  | 'pdf-password-required'
  | 'pdf-wrong-password'
  | 'pdf-corrupt'
  | 'pdf-scanned'
  | 'epub-corrupt'
  | 'epub-unsafe'
  | 'document-too-complex'
  | 'ingest-timeout'
  | 'ingest-failed';

export class IngestError extends LongreadError {
  declare readonly code: IngestErrorCode;

  constructor(code: IngestErrorCode, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'IngestError';
  }
}

/** The file's name as users know it, for messages. */
export function displayName(file: string): string {
  return path.basename(file) || file;
}

export function ingestError(code: IngestErrorCode, file: string, problem: string, cause?: unknown): IngestError {
  return new IngestError(code, `${displayName(file)}: ${problem}`, { file, cause });
}

/**
 * A problem found by a reader that is not told the file's name (text, Markdown, HTML);
 * ingestSource turns it into the IngestError that names the file.
 */
export class FileProblem extends Error {
  constructor(
    readonly code: IngestErrorCode,
    readonly problem: string,
  ) {
    super(problem);
  }
}

/** Most characters of text one document may have: 64 Mi, about 40 long novels and far beyond any model's context. */
export const MAX_TEXT_CHARS = 64 * 1024 * 1024;

/** Refuses text beyond MAX_TEXT_CHARS (`chars` may be an upper bound known before decoding). */
export function checkTextLength(chars: number, max = MAX_TEXT_CHARS): void {
  if (chars > max) {
    throw new FileProblem('file-too-large', `its text is longer than ${max / 1024 / 1024} M characters, more than Longread reads from one document.`);
  }
}
