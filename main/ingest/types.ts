import type { DocumentPage, DocumentType, PageKind } from '../../common/document';
import type { SectionStart } from './pagination';

/** What a format reader hands back before ids, page cuts, section ranges and tokens are added. */
export interface ReadResult {
  type: DocumentType;
  title: string | null;
  author: string | null;
  text: string;
  sectionStarts: SectionStart[];
  /** Physical pages when the format has them; otherwise virtual pages are cut afterwards. */
  pages?: DocumentPage[];
  pageKind: PageKind;
  warnings: string[];
}

export interface ReadOptions {
  signal?: AbortSignal;
  /** Pages (or parts) read so far; OCR of page images reports its own pages, with an estimate of the time left. */
  onProgress?: (done: number, total: number, ocr?: OcrProgress) => void;
  /** Read PDF pages that have no text layer by OCR (default true); off, a scanned PDF is refused as `pdf-scanned`. */
  ocr?: boolean;
  /** PDF user password, when the user gave one. */
  password?: string;
}

export interface OcrProgress {
  phase: 'ocr';
  /** Seconds the remaining pages will take at the pace so far; absent before the first page is done. */
  etaSeconds?: number;
}
