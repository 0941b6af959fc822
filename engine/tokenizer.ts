import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { LongreadError } from '../common/errors';

export interface T5Tokenizer {
  /** Number of ids the tokenizer knows (pieces plus added tokens); the model's vocab_size may be larger. */
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  /** Token ids of `text`; like T5's tokenizer, appends </s> unless `addEos` is false. */
  encode(text: string, opts?: { addEos?: boolean }): number[];
  /**
   * Token ids of `text` (no </s> unless `addEos`) with each token's [start, end) range in `text`,
   * in UTF-16 code units. A token inside a word gets its exact characters when the word's pieces
   * spell it out; otherwise (normalization changed the word) every token of the word gets the
   * word's range. The added </s> gets the empty range at the end of the text.
   */
  encodeWithOffsets(text: string, opts?: { addEos?: boolean }): { ids: number[]; offsets: Array<[number, number]> };
  /** Text of `ids`; special tokens (and ids outside the tokenizer's vocabulary) dropped when `skipSpecial`. */
  decode(ids: readonly number[], opts?: { skipSpecial?: boolean }): string;
  /** The piece string of an id (e.g. '▁the'), or undefined. */
  piece(id: number): string | undefined;
}

const META = '\u2581';
/** The pre-tokenizer's word split: T5's WhitespaceSplit takes maximal runs of non-whitespace. */
const WORD = /\S+/g;

async function readJson(file: string, required: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (!required && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LongreadError(
      'tokenizer-missing',
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} is missing: the model folder needs a tokenizer.json` : `cannot read ${file}: ${(e as Error).message}`,
      { file, cause: e },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LongreadError('tokenizer-invalid', `${file} is not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new LongreadError('tokenizer-invalid', `${file} must hold a JSON object`, { file });
  }
  return json as Record<string, unknown>;
}

function tokenName(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/** True when the pre-tokenizer splits on whitespace and prefixes every word with ▁, as T5's does. */
function splitsWordsIndependently(json: Record<string, unknown>): boolean {
  const pre = json.pre_tokenizer as { type?: string; pretokenizers?: Array<Record<string, unknown>> } | null | undefined;
  if (!pre) return false;
  const steps = pre.type === 'Sequence' ? (pre.pretokenizers ?? []) : [pre as Record<string, unknown>];
  const hasSplit = steps.some((s) => s.type === 'WhitespaceSplit');
  const meta = steps.find((s) => s.type === 'Metaspace');
  if (!meta) return hasSplit;
  const scheme = meta.prepend_scheme ?? (meta.add_prefix_space === false ? 'never' : 'always');
  return hasSplit && scheme === 'always';
}

/** Loads `dir/tokenizer.json` (and tokenizer_config.json when present) for a T5-family model. */
export async function loadTokenizer(dir: string): Promise<T5Tokenizer> {
  const file = path.join(path.resolve(dir), 'tokenizer.json');
  const json = (await readJson(file, true))!;
  const configFile = path.join(path.dirname(file), 'tokenizer_config.json');
  const config = (await readJson(configFile, false)) ?? {};
  const model = json.model as { type?: unknown; vocab?: unknown } | undefined;
  if (!model || typeof model.type !== 'string' || !Array.isArray(model.vocab)) {
    throw new LongreadError('tokenizer-invalid', `${file} has no tokenizer model with a vocabulary`, { file });
  }
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json, config);
  } catch (e) {
    throw new LongreadError('tokenizer-invalid', `${file} could not be loaded: ${(e as Error).message}`, { file, cause: e });
  }
  const vocab = tok.get_vocab(true);
  const idOf = (name: string | undefined, fallback: string, what: string): number => {
    const id = vocab.get(name ?? fallback);
    if (id === undefined) throw new LongreadError('tokenizer-invalid', `${file} has no ${what} token ${JSON.stringify(name ?? fallback)}`, { file });
    return id;
  };
  const eosId = idOf(tokenName(config.eos_token), '</s>', 'end-of-sequence');
  const padId = idOf(tokenName(config.pad_token), '<pad>', 'padding');
  const unkId = idOf(tokenName(config.unk_token), '<unk>', 'unknown');
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  return new HfT5Tokenizer(tok, { vocabSize, eosId, padId, unkId, perWord: splitsWordsIndependently(json), file });
}

class HfT5Tokenizer implements T5Tokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  private readonly perWord: boolean;
  private readonly file: string;
  private readonly wordCache = new Map<string, { ids: number[]; local: Array<[number, number]> }>();
  private readonly pieces: Array<string | undefined> = [];

  constructor(
    private readonly tok: Tokenizer,
    o: { vocabSize: number; eosId: number; padId: number; unkId: number; perWord: boolean; file: string },
  ) {
    this.vocabSize = o.vocabSize;
    this.eosId = o.eosId;
    this.padId = o.padId;
    this.unkId = o.unkId;
    this.perWord = o.perWord;
    this.file = o.file;
  }

  piece(id: number): string | undefined {
    if (!(id in this.pieces)) this.pieces[id] = this.tok.id_to_token(id);
    return this.pieces[id];
  }

  encode(text: string, opts: { addEos?: boolean } = {}): number[] {
    const addEos = opts.addEos ?? true;
    if (!this.perWord) {
      const ids = this.tok.encode(text, { add_special_tokens: false }).ids;
      if (addEos) ids.push(this.eosId);
      return ids;
    }
    const ids: number[] = [];
    for (const m of text.matchAll(WORD)) {
      const w = this.word(m[0]);
      for (let i = 0; i < w.ids.length; i++) ids.push(w.ids[i]!);
    }
    if (addEos) ids.push(this.eosId);
    return ids;
  }

  encodeWithOffsets(text: string, opts: { addEos?: boolean } = {}): { ids: number[]; offsets: Array<[number, number]> } {
    const ids: number[] = [];
    const offsets: Array<[number, number]> = [];
    for (const m of text.matchAll(WORD)) {
      const start = m.index!;
      const w = this.word(m[0]);
      for (let i = 0; i < w.ids.length; i++) {
        ids.push(w.ids[i]!);
        offsets.push([start + w.local[i]![0], start + w.local[i]![1]]);
      }
    }
    if (!this.perWord) {
      const whole = this.tok.encode(text, { add_special_tokens: false }).ids;
      if (whole.length !== ids.length || whole.some((id, i) => id !== ids[i])) {
        const aligned = this.alignToWhole(whole, ids, offsets);
        ids.length = 0;
        offsets.length = 0;
        ids.push(...whole);
        offsets.push(...aligned);
      }
    }
    if (opts.addEos ?? false) {
      ids.push(this.eosId);
      offsets.push([text.length, text.length]);
    }
    return { ids, offsets };
  }

  decode(ids: readonly number[], opts: { skipSpecial?: boolean } = {}): string {
    const skip = opts.skipSpecial ?? false;
    // Ids past the tokenizer's pieces (the model's padded embedding rows) have no text.
    const known = ids.filter((id) => this.piece(id) !== undefined);
    // the library refuses an empty list; nothing decodes to nothing
    return known.length === 0 ? '' : this.tok.decode(known, { skip_special_tokens: skip });
  }

  /**
   * For tokenizers that do not split on whitespace first (e.g. a bare Metaspace pre-tokenizer), the
   * whole-text ids can hold extra bare "▁" tokens for runs of spaces; they get an empty range.
   * Any other disagreement means offsets cannot be derived word by word.
   */
  private alignToWhole(whole: number[], ids: number[], offsets: Array<[number, number]>): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    let j = 0;
    for (const id of whole) {
      if (j < ids.length && id === ids[j]) {
        out.push(offsets[j++]!);
        continue;
      }
      if (this.piece(id)?.replaceAll(META, '') === '') {
        const at = out.length > 0 ? out[out.length - 1]![1] : (offsets[j]?.[0] ?? 0);
        out.push([at, at]);
        continue;
      }
      throw new LongreadError('tokenizer-unsupported', `${this.file}: cannot map tokens back to the text word by word with this pre-tokenizer`, { file: this.file });
    }
    if (j !== ids.length) {
      throw new LongreadError('tokenizer-unsupported', `${this.file}: cannot map tokens back to the text word by word with this pre-tokenizer`, { file: this.file });
    }
    return out;
  }

  /** One word's ids and each token's [start, end) inside the word (memoized: books repeat words). */
  private word(w: string): { ids: number[]; local: Array<[number, number]> } {
    let hit = this.wordCache.get(w);
    if (hit) return hit;
    const ids = this.tok.encode(w, { add_special_tokens: false }).ids;
    hit = { ids, local: this.align(w, ids) };
    if (this.wordCache.size > 200_000) this.wordCache.clear();
    this.wordCache.set(w, hit);
    return hit;
  }

  /** Maps each piece back onto the word's characters; unknown pieces cover the gap up to the next match. */
  private align(w: string, ids: number[]): Array<[number, number]> {
    const bodies = ids.map((id) => (id === this.unkId ? null : (this.piece(id) ?? '').replaceAll(META, '')));
    const local: Array<[number, number]> = [];
    let cursor = 0;
    for (let i = 0; i < ids.length; i++) {
      const body = bodies[i];
      if (body !== null && body !== undefined && w.startsWith(body, cursor)) {
        local.push([cursor, cursor + body.length]);
        cursor += body.length;
        continue;
      }
      if (body === null) {
        let next = w.length;
        for (let j = i + 1; j < ids.length; j++) {
          const b = bodies[j];
          if (b === null || b === undefined || b.length === 0) continue;
          const at = w.indexOf(b, cursor + 1);
          if (at >= 0) next = at;
          break;
        }
        local.push([cursor, Math.max(next, Math.min(cursor + 1, w.length))]);
        cursor = local[local.length - 1]![1];
        continue;
      }
      // Normalization changed the text: fall back to the whole word for everything in it.
      return ids.map(() => [0, w.length]);
    }
    if (cursor !== w.length) return ids.map(() => [0, w.length]);
    return local;
  }
}
