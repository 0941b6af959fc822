import type { AskResult, Citation, CollectionRead } from '../../common/api';
import type { DocumentPage, TextRange } from '../../common/document';
import { citation } from './citations';
import { pagesOf, type ReadableDocument } from './reading';
import { charEnd, charStart, eosIdOf, textTokenCount, type TokenWindow } from './text-ranges';
import type { TokenizedText } from './types';

/** Between two documents in the joined text: no word, sentence or passage runs across it. */
const DOCUMENT_SEPARATOR = '\n\n';

/** One document of a collection, placed in the joined text and tokens. */
export interface CollectionMember {
  doc: ReadableDocument;
  tokens: TokenizedText;
  /** Where the document's text starts in the joined text. */
  charBase: number;
  /** Where the document's tokens start in the joined tokens. */
  tokenBase: number;
  /** Its tokens (without </s>). */
  tokenCount: number;
  /** Joined page number of the document's first page, minus one. */
  pageBase: number;
}

/**
 * A collection's documents joined in order into one readable text, so the single-document
 * machinery (windows chosen by full-text search, VCC, passage ranking) reads them as one; every
 * range found in it is mapped back to the document it falls in. Pages are numbered on across the
 * documents; sections are left out (a question of a collection reads no chapter by number).
 */
export interface JoinedCollection {
  id: string;
  name: string;
  doc: ReadableDocument;
  tokens: TokenizedText;
  members: CollectionMember[];
}

export function joinCollection(collection: { id: string; name: string }, docs: Array<{ doc: ReadableDocument; tokens: TokenizedText }>): JoinedCollection {
  const members: CollectionMember[] = [];
  const texts: string[] = [];
  const pages: DocumentPage[] = [];
  let charBase = 0;
  let tokenBase = 0;
  for (const { doc, tokens } of docs) {
    if (members.length > 0) charBase += DOCUMENT_SEPARATOR.length;
    const tokenCount = textTokenCount(tokens);
    members.push({ doc, tokens, charBase, tokenBase, tokenCount, pageBase: pages.length });
    for (const p of doc.pages) pages.push({ ...p, number: pages.length + 1, start: p.start + charBase, end: p.end + charBase });
    texts.push(doc.text);
    charBase += doc.text.length;
    tokenBase += tokenCount;
  }
  const text = texts.join(DOCUMENT_SEPARATOR);
  const ids = new Int32Array(tokenBase + 1);
  const offsets = new Int32Array(2 * (tokenBase + 1));
  for (const m of members) {
    ids.set(m.tokens.ids.subarray(0, m.tokenCount), m.tokenBase);
    for (let i = 0; i < 2 * m.tokenCount; i++) offsets[2 * m.tokenBase + i] = m.tokens.offsets[i]! + m.charBase;
  }
  ids[tokenBase] = eosIdOf(docs[0]!.tokens);
  offsets[2 * tokenBase] = text.length;
  offsets[2 * tokenBase + 1] = text.length;
  return {
    id: collection.id,
    name: collection.name,
    doc: { id: `collection:${collection.id}`, title: collection.name, text, pages, sections: [] },
    tokens: { ids, offsets },
    members,
  };
}

/** The joined page number of a document's page (1-based), or undefined when the document is no member. */
export function joinedPage(joined: JoinedCollection, docId: string, page: number): number | undefined {
  const m = joined.members.find((x) => x.doc.id === docId);
  return m && page >= 1 && page <= m.doc.pages.length ? m.pageBase + page : undefined;
}

/** The member a joined character range starts in (a separator belongs to the document after it). */
function memberAtChar(joined: JoinedCollection, char: number): CollectionMember {
  let found = joined.members[0]!;
  for (const m of joined.members) if (m.charBase <= char) found = m;
  return found;
}

/** Joined character ranges cut at the documents' edges (a range never spans two documents). */
export function splitAtDocuments(joined: JoinedCollection, ranges: TextRange[]): TextRange[] {
  const out: TextRange[] = [];
  for (const r of ranges) {
    for (const m of joined.members) {
      const start = Math.max(r.start, m.charBase);
      const end = Math.min(r.end, m.charBase + m.doc.text.length);
      if (end > start) out.push({ start, end });
    }
  }
  return out;
}

/** A citation of a joined range (inside one document, as passages are): that document's, with its title. */
export function collectionCitation(joined: JoinedCollection, start: number, end: number, score: number): Citation {
  const m = memberAtChar(joined, start);
  return { ...citation(m.doc, start - m.charBase, Math.min(end, m.charBase + m.doc.text.length) - m.charBase, score), documentTitle: m.doc.title };
}

/** Joined token windows as each document's own windows, in the collection's order. */
function memberWindows(joined: JoinedCollection, windows: TokenWindow[]): Array<{ member: CollectionMember; windows: TokenWindow[] }> {
  return joined.members.map((member) => ({
    member,
    windows: windows.flatMap((w) => {
      const start = Math.max(w.start, member.tokenBase) - member.tokenBase;
      const end = Math.min(w.end, member.tokenBase + member.tokenCount) - member.tokenBase;
      return end > start ? [{ start, end }] : [];
    }),
  }));
}

/** What was read of each document. */
export function collectionRead(joined: JoinedCollection, windows: TokenWindow[]): CollectionRead {
  return {
    id: joined.id,
    name: joined.name,
    documents: memberWindows(joined, windows).map(({ member, windows: ws }) => ({
      documentId: member.doc.id,
      title: member.doc.title,
      documentTokens: member.tokenCount,
      windows: ws.map((w) => ({ startToken: w.start, endToken: w.end, startChar: charStart(member.tokens, w.start), endChar: charEnd(member.tokens, w.end) })),
    })),
  };
}

/** Evidence blocks in joined ranges as each document's ranges, each block naming its document. */
export function collectionEvidence(joined: JoinedCollection, evidence: AskResult['evidence']): AskResult['evidence'] {
  return evidence.map((layer) => ({
    layer: layer.layer,
    blocks: layer.blocks.flatMap((b) =>
      memberWindows(joined, [{ start: b.startToken, end: b.endToken }]).flatMap(({ member, windows }) =>
        windows.map((w) => ({ startToken: w.start, endToken: w.end, start: charStart(member.tokens, w.start), end: charEnd(member.tokens, w.end), score: b.score, documentId: member.doc.id })),
      ),
    ),
  }));
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** How a read note names joined windows: per document, its tokens and pages. */
export function describeCollectionWindows(joined: JoinedCollection, windows: TokenWindow[]): string {
  return memberWindows(joined, windows)
    .filter((x) => x.windows.length > 0)
    .map(({ member, windows: ws }) => {
      const parts = ws.map((w) => {
        const pages = pagesOf(member.doc.pages, charStart(member.tokens, w.start), charEnd(member.tokens, w.end));
        return `tokens ${fmt(w.start)}–${fmt(w.end)}${pages ? ` (${pages})` : ''}`;
      });
      return `"${member.doc.title}" ${parts.join(', ')}`;
    })
    .join('; ');
}
