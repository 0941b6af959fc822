import type { CountingModel, TokenCounter } from '../../common/document';
import { loadTokenizer, type T5Tokenizer } from '../../engine/tokenizer';

/** About this many characters are encoded at a time, so counting a long book holds one piece's tokens, not the book's. */
export const COUNT_CHUNK_CHARS = 256 * 1024;
/** A "word" longer than this is cut anyway (the count of such a pathological text may be off by a token per cut). */
const MAX_WORD_CHARS = 1024 * 1024;

/**
 * Counts a text's tokens as the engine feeds them (no </s>), piece by piece. Pieces are cut
 * just before a run of whitespace, where T5-family tokenizers start a new word whatever came
 * before, so the sum equals the count of the whole text (tested on the real T5 tokenizer).
 */
export function countTokens(tokenizer: Pick<T5Tokenizer, 'encode'>, text: string, chunkChars = COUNT_CHUNK_CHARS): number {
  let count = 0;
  let start = 0;
  while (start < text.length) {
    const end = cutPoint(text, start, chunkChars);
    count += tokenizer.encode(text.slice(start, end), { addEos: false }).length;
    start = end;
  }
  return count;
}

/** The end of the piece starting at `start`: the first whitespace after a non-space past `start + chunkChars`. */
function cutPoint(text: string, start: number, chunkChars: number): number {
  const limit = Math.min(text.length, start + Math.max(chunkChars, 1) + MAX_WORD_CHARS);
  for (let i = start + Math.max(chunkChars, 1); i < limit; i++) {
    if (/\s/.test(text[i]!) && !/\s/.test(text[i - 1]!)) return i;
  }
  return limit;
}

/** The counter for a model, with the model's own tokenizer. */
export async function tokenCounterFor(model: CountingModel): Promise<TokenCounter> {
  const tokenizer = await loadTokenizer(model.dir);
  return { modelId: model.modelId, count: (text) => countTokens(tokenizer, text) };
}

/** As tokenCounterFor, but null when the tokenizer cannot be loaded: the document is still added, its count unknown. */
export async function tokenCounterOrNull(model: CountingModel | null | undefined): Promise<TokenCounter | null> {
  if (!model) return null;
  try {
    return await tokenCounterFor(model);
  } catch {
    return null;
  }
}
