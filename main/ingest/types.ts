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
  onProgress?: (done: number, total: number) => void;
  /** PDF user password, when the user gave one. */
  password?: string;
}
