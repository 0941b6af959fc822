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
  | 'epub-unsafe';

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
