/**
 * Quoting: generation restricted to a contiguous span of a source (the document read), then EOS.
 * A state is the set of source positions where the tokens generated so far end as a span; the next
 * token may be any source token that continues one of them, and EOS where the span may end: not in the
 * middle of a word. States are immutable, so beams share them.
 */

/**
 * Whether a SentencePiece piece continues the word before it: no word-start mark and a letter or digit
 * first, except in scripts written without spaces (there every character may end a quote).
 */
export function pieceContinuesWord(piece: string | undefined): boolean {
  if (!piece || piece.startsWith('\u2581')) return false;
  return /^[\p{L}\p{N}]/u.test(piece) && !/^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]/u.test(piece);
}

export class QuoteState {
  private constructor(
    private readonly source: ArrayLike<number>,
    private readonly excluded: ReadonlySet<number>,
    private readonly eosId: number,
    /** Positions where the quote so far ends; null before the first token (a quote may start anywhere). */
    private readonly ends: Int32Array | null,
    private readonly firstTokens: readonly number[],
    private readonly continuesWord: (id: number) => boolean,
  ) {}

  /** The start state. `excluded` ids (EOS, padding) are never part of a quote; none ends before a token that `continuesWord`. */
  static start(source: ArrayLike<number>, eosId: number, excluded: Iterable<number> = [], continuesWord: (id: number) => boolean = () => false): QuoteState {
    const skip = new Set([eosId, ...excluded]);
    const first = new Set<number>();
    for (let i = 0; i < source.length; i++) if (!skip.has(source[i]!)) first.add(source[i]!);
    return new QuoteState(source, skip, eosId, null, [...first].sort((a, b) => a - b), continuesWord);
  }

  /** Token ids allowed next, ascending: continuations of the quote, and EOS where it may end (or cannot go on). */
  allowed(): number[] {
    if (this.ends === null) return this.firstTokens.length ? [...this.firstTokens] : [this.eosId];
    const next = new Set<number>();
    let mayEnd = false;
    for (const p of this.ends) {
      const t = this.source[p + 1];
      if (t === undefined || this.excluded.has(t)) mayEnd = true;
      else {
        next.add(t);
        if (!this.continuesWord(t)) mayEnd = true;
      }
    }
    if (mayEnd || next.size === 0) next.add(this.eosId);
    return [...next].sort((a, b) => a - b);
  }

  /** The state after `token` (not EOS). */
  advance(token: number): QuoteState {
    const ends: number[] = [];
    if (this.ends === null) {
      for (let i = 0; i < this.source.length; i++) if (this.source[i] === token) ends.push(i);
    } else {
      for (const p of this.ends) if (this.source[p + 1] === token) ends.push(p + 1);
    }
    return new QuoteState(this.source, this.excluded, this.eosId, Int32Array.from(ends), this.firstTokens, this.continuesWord);
  }
}
