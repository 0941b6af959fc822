/**
 * The one normalized document model every reader produces and everything later (citations,
 * evidence highlights, page jumps) hangs off. Dependency-free types only: the UI, the
 * assistant and the library all import this file.
 *
 * All ranges are offsets into `text` in UTF-16 code units (JavaScript string indices),
 * `start` inclusive and `end` exclusive, so `text.slice(start, end)` is the range's text.
 */

export type DocumentType = 'pdf' | 'epub' | 'docx' | 'text' | 'markdown' | 'html';

/**
 * `physical`: pages of the source file (PDF). `virtual`: the text cut into book-page-sized
 * pieces at paragraph boundaries, for formats that have no pages (EPUB, text, HTML), so page
 * jumps, full-text search hits and citations work the same way for every document.
 */
export type PageKind = 'physical' | 'virtual';

export interface TextRange {
  start: number;
  end: number;
}

export interface DocumentSection extends TextRange {
  title: string;
  /** 1 for top-level sections (chapters, top bookmarks), 2 for their children, … */
  level: number;
  /** The page (1-based `DocumentPage.number`) the section starts on. */
  page: number;
}

export interface DocumentPage extends TextRange {
  /** 1-based page number in reading order. */
  number: number;
  /** The page label printed in the source when it has one (PDF page labels such as "iv"). */
  label?: string;
  /**
   * Words read by OCR, when the page had no text layer: what a text-layer page's pdf.js text
   * items give the reader (positions to highlight over the page image), in the same page space.
   */
  words?: PageWord[];
}

/** A word found by OCR: its box in PDF page space (points, origin bottom-left, y up, as pdf.js text items). */
export interface PageWord {
  text: string;
  /** Bottom-left corner of the box. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TokenCount {
  /** Which model's tokenizer produced the count; counts are only valid for that model. */
  modelId: string;
  count: number;
}

export interface IngestedDocument {
  /** Stable id: SHA-256 (hex) of the file's bytes. The same bytes always give the same id. */
  id: string;
  type: DocumentType;
  title: string;
  author: string | null;
  /** The readable text the model sees (boilerplate such as Project Gutenberg licences removed). */
  text: string;
  sections: DocumentSection[];
  pages: DocumentPage[];
  pageKind: PageKind;
  /** Size of the source file in bytes. */
  byteLength: number;
  /** Null when no model (and so no tokenizer) is available. */
  tokens: TokenCount | null;
  /** Things the reader noticed but could work around (a damaged page, a skipped entry, …). */
  warnings: string[];
}

/** The active model's tokenizer, as ingest and the library need it. */
export interface TokenCounter {
  modelId: string;
  count(text: string): number;
}

/** A model to count tokens with, by folder: unlike a TokenCounter it can be sent to a worker thread. */
export interface CountingModel {
  modelId: string;
  /** The model's folder (its tokenizer.json is loaded). */
  dir: string;
}

export interface IngestProgress {
  /** What is being done: reading the source, reading page images by OCR, or writing it into the library. */
  phase: IngestPhase;
  done: number;
  total: number;
  /** OCR: the seconds the remaining pages will take, at the pace so far (after the first page). */
  etaSeconds?: number;
}

export type IngestPhase = 'read' | 'ocr' | 'store';
