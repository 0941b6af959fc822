import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { LongreadError } from '../common/errors';
import { parseSentencePieceModel, PrecompiledCharsmap, t5TokenizerJsonFromSentencePiece, UnigramSegmenter } from './sentencepiece';

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

/**
 * For a SentencePiece unigram model whose pre-tokenizer splits words independently:
 * SentencePiece's own segmentation of one word (see UnigramSegmenter; it breaks score ties as
 * SentencePiece does, where the library does not), used for words holding no added-token text
 * ("</s>", "<extra_id_0>", …: those the library splits out first).
 */
function wordSegmenter(json: Record<string, unknown>): ((word: string) => number[] | undefined) | undefined {
  const model = json.model as { type?: unknown; vocab?: unknown; unk_id?: unknown; byte_fallback?: unknown };
  // a normalizer left to the library (not SentencePiece's charsmap) must run first: keep the library
  if (json.normalizer) return undefined;
  if (model.type !== 'Unigram' || model.byte_fallback === true || typeof model.unk_id !== 'number' || !Array.isArray(model.vocab)) return undefined;
  const vocab = model.vocab as unknown[];
  if (!vocab.every((v) => Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'number')) return undefined;
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Array<{ id?: unknown; content?: unknown }>) : [];
  const excluded = new Set(added.map((t) => t.id).filter((id): id is number => typeof id === 'number'));
  const contents = added.map((t) => t.content).filter((c): c is string => typeof c === 'string' && c !== '');
  type Step = { type?: unknown; replacement?: unknown; pretokenizers?: Step[] };
  const pre = json.pre_tokenizer as Step;
  const meta = (pre.pretokenizers ?? [pre]).find((step) => step.type === 'Metaspace');
  const replacement = typeof meta?.replacement === 'string' ? meta.replacement : META;
  const seg = new UnigramSegmenter(vocab as Array<[string, number]>, model.unk_id, excluded);
  return (word) => (contents.some((c) => word.includes(c)) ? undefined : seg.encode(word.startsWith(replacement) ? word : replacement + word));
}

/**
 * Older tokenizers releases wrote tokenizer.json without `model.type` (the Rust library tells
 * the model apart by its fields) and with Metaspace's `add_prefix_space` instead of
 * `prepend_scheme` (the Rust library reads true as "always", false as "never"), e.g. the
 * files of google-t5/t5-base and Flan-T5. The JS library needs the current schema.
 */
function toCurrentSchema(json: Record<string, unknown>): Record<string, unknown> {
  const out = { ...json };
  const model = json.model as Record<string, unknown> | undefined;
  if (model && typeof model === 'object' && model.type === undefined) {
    let type: string;
    if (Array.isArray(model.vocab)) type = 'Unigram';
    else if ('merges' in model) type = 'BPE';
    else if ('continuing_subword_prefix' in model || 'max_input_chars_per_word' in model) type = 'WordPiece';
    else type = 'WordLevel';
    out.model = { ...model, type };
  }
  const metaspace = (step: unknown): unknown => {
    if (!step || typeof step !== 'object') return step;
    const s = step as Record<string, unknown>;
    if (s.type === 'Sequence') {
      const key = Array.isArray(s.pretokenizers) ? 'pretokenizers' : 'decoders';
      return Array.isArray(s[key]) ? { ...s, [key]: (s[key] as unknown[]).map(metaspace) } : s;
    }
    if (s.type !== 'Metaspace' || s.prepend_scheme !== undefined || s.add_prefix_space === undefined) return s;
    const { add_prefix_space: addPrefix, ...rest } = s;
    return { ...rest, prepend_scheme: addPrefix === false ? 'never' : 'always' };
  };
  out.pre_tokenizer = metaspace(json.pre_tokenizer);
  out.decoder = metaspace(json.decoder);
  return out;
}

/**
 * Takes a leading SentencePiece "Precompiled" normalizer out of `json` (this module applies it
 * exactly; the JS library's stand-in is NFKC, which differs from SentencePiece's charsmap on
 * e.g. U+000B and U+200B). Other normalizers stay with the library.
 */
function takePrecompiled(json: Record<string, unknown>, file: string): { json: Record<string, unknown>; charsmap?: PrecompiledCharsmap } {
  const n = json.normalizer as { type?: unknown; precompiled_charsmap?: unknown; normalizers?: unknown[] } | null | undefined;
  const isPrecompiled = (x: unknown): x is { precompiled_charsmap: string } =>
    !!x && (x as { type?: unknown }).type === 'Precompiled' && typeof (x as { precompiled_charsmap?: unknown }).precompiled_charsmap === 'string';
  let charsmap: string | undefined;
  let rest: unknown = n;
  if (isPrecompiled(n)) {
    charsmap = n.precompiled_charsmap;
    rest = null;
  } else if (n?.type === 'Sequence' && Array.isArray(n.normalizers) && isPrecompiled(n.normalizers[0])) {
    charsmap = n.normalizers[0].precompiled_charsmap;
    rest = n.normalizers.length > 1 ? { ...n, normalizers: n.normalizers.slice(1) } : null;
  }
  if (charsmap === undefined) return { json };
  // An empty charsmap (identity) is what converters write for models without a normalizer.
  if (charsmap === '') return { json: { ...json, normalizer: rest } };
  return { json: { ...json, normalizer: rest }, charsmap: new PrecompiledCharsmap(Buffer.from(charsmap, 'base64'), file) };
}

/**
 * How many `<extra_id_N>` sentinels a T5 SentencePiece folder has: tokenizer_config.json's
 * `extra_ids`, else those listed in additional_special_tokens, else T5's 100.
 */
function extraIdCount(config: Record<string, unknown>, specialMap: Record<string, unknown>): number {
  if (typeof config.extra_ids === 'number' && Number.isInteger(config.extra_ids) && config.extra_ids >= 0) return config.extra_ids;
  for (const src of [config, specialMap]) {
    const list = src.additional_special_tokens;
    if (Array.isArray(list)) {
      const n = list.filter((t) => /^<extra_id_\d+>$/.test(tokenName(t) ?? '')).length;
      if (n > 0) return n;
    }
  }
  return 100;
}

async function readSentencePiece(file: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LongreadError('tokenizer-missing', `cannot read ${file}: ${(e as Error).message}`, { file, cause: e });
  }
}

/**
 * Loads a T5-family tokenizer from `dir`: tokenizer.json (legacy or current schema), or, when the
 * folder has none, `spiece.model` converted as Hugging Face's T5 converter does. tokenizer_config.json
 * and special_tokens_map.json name the special tokens when present.
 */
export async function loadTokenizer(dir: string): Promise<T5Tokenizer> {
  const root = path.resolve(dir);
  let file = path.join(root, 'tokenizer.json');
  const configFile = path.join(root, 'tokenizer_config.json');
  const config = (await readJson(configFile, false)) ?? {};
  const specialMap = (await readJson(path.join(root, 'special_tokens_map.json'), false)) ?? {};
  let json = await readJson(file, false);
  const fromSpiece = !json;
  if (!json) {
    const spiece = path.join(root, 'spiece.model');
    const bytes = await readSentencePiece(spiece);
    if (!bytes) {
      throw new LongreadError('tokenizer-missing', `${file} is missing: the model folder needs a tokenizer.json (or a SentencePiece spiece.model)`, { file });
    }
    json = t5TokenizerJsonFromSentencePiece(parseSentencePieceModel(bytes, spiece), extraIdCount(config, specialMap), spiece);
    file = spiece;
    checkAddedTokensDecoder(json, config, configFile);
  }
  const model = json.model as { vocab?: unknown } | undefined;
  if (!model || typeof model !== 'object' || (!Array.isArray(model.vocab) && (typeof model.vocab !== 'object' || model.vocab === null))) {
    throw new LongreadError('tokenizer-invalid', `${file} has no tokenizer model with a vocabulary`, { file });
  }
  const current = takePrecompiled(toCurrentSchema(json), file);
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(current.json, config);
  } catch (e) {
    throw new LongreadError('tokenizer-invalid', `${file} could not be loaded: ${(e as Error).message}`, { file, cause: e });
  }
  const vocab = tok.get_vocab(true);
  const idOf = (name: string | undefined, fallback: string, what: string): number => {
    const id = vocab.get(name ?? fallback);
    if (id === undefined) throw new LongreadError('tokenizer-invalid', `${file} has no ${what} token ${JSON.stringify(name ?? fallback)}`, { file });
    return id;
  };
  const special = (key: string): string | undefined => tokenName(config[key]) ?? tokenName(specialMap[key]);
  const eosId = idOf(special('eos_token'), '</s>', 'end-of-sequence');
  const padId = idOf(special('pad_token'), '<pad>', 'padding');
  const unkId = idOf(special('unk_token'), '<unk>', 'unknown');
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  const perWord = splitsWordsIndependently(current.json);
  // SentencePiece's arithmetic for SentencePiece tokenizers (a charsmap or a spiece.model); the
  // library's for others, e.g. the bundled model's tokenizer.json
  const segment = perWord && (current.charsmap || fromSpiece) ? wordSegmenter(current.json) : undefined;
  return new HfT5Tokenizer(tok, { vocabSize, eosId, padId, unkId, perWord, charsmap: current.charsmap, segment, file });
}

/** A newer tokenizer_config.json lists `added_tokens_decoder` (id → token); a converted spiece.model must agree. */
function checkAddedTokensDecoder(json: Record<string, unknown>, config: Record<string, unknown>, configFile: string): void {
  const listed = config.added_tokens_decoder;
  if (!listed || typeof listed !== 'object') return;
  const vocab = (json.model as { vocab: Array<[string, number]> }).vocab;
  for (const [id, v] of Object.entries(listed as Record<string, unknown>)) {
    const want = tokenName(v);
    const have = vocab[Number(id)]?.[0];
    if (want !== undefined && have !== want) {
      throw new LongreadError(
        'tokenizer-invalid',
        `${configFile} says token ${id} is ${JSON.stringify(want)} but spiece.model (with its <extra_id_N> tokens) has ${have === undefined ? 'no such id' : JSON.stringify(have)}`,
        { file: configFile },
      );
    }
  }
}

class HfT5Tokenizer implements T5Tokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkId: number;
  private readonly perWord: boolean;
  private readonly charsmap: PrecompiledCharsmap | undefined;
  private readonly segment: ((word: string) => number[] | undefined) | undefined;
  private readonly file: string;
  private readonly wordCache = new Map<string, { ids: number[]; local: Array<[number, number]> }>();
  private readonly pieces: Array<string | undefined> = [];

  constructor(
    private readonly tok: Tokenizer,
    o: {
      vocabSize: number;
      eosId: number;
      padId: number;
      unkId: number;
      perWord: boolean;
      charsmap: PrecompiledCharsmap | undefined;
      segment: ((word: string) => number[] | undefined) | undefined;
      file: string;
    },
  ) {
    this.vocabSize = o.vocabSize;
    this.eosId = o.eosId;
    this.padId = o.padId;
    this.unkId = o.unkId;
    this.perWord = o.perWord;
    this.charsmap = o.charsmap;
    this.segment = o.segment;
    this.file = o.file;
  }

  piece(id: number): string | undefined {
    if (!(id in this.pieces)) this.pieces[id] = this.tok.id_to_token(id);
    return this.pieces[id];
  }

  /**
   * The words the pre-tokenizer encodes one by one: runs of non-whitespace, or with a SentencePiece
   * charsmap, runs of normalized non-space characters (as SentencePiece splits them: normalization
   * may delete a character such as U+000B, joining its neighbours, or turn one into a space).
   * `start`/`end` is the word's range in `text`.
   */
  private words(text: string): Array<{ word: string; start: number; end: number }> {
    if (this.charsmap) return this.charsmap.words(text);
    return [...text.matchAll(WORD)].map((m) => ({ word: m[0], start: m.index!, end: m.index! + m[0].length }));
  }

  /** The library's ids for the whole text (tokenizers that do not split words independently). */
  private wholeIds(text: string): number[] {
    return this.tok.encode(this.charsmap ? this.charsmap.normalize(text) : text, { add_special_tokens: false }).ids;
  }

  encode(text: string, opts: { addEos?: boolean } = {}): number[] {
    const addEos = opts.addEos ?? true;
    if (!this.perWord) {
      const ids = this.wholeIds(text);
      if (addEos) ids.push(this.eosId);
      return ids;
    }
    const ids: number[] = [];
    for (const { word } of this.words(text)) {
      const w = this.word(word);
      for (let i = 0; i < w.ids.length; i++) ids.push(w.ids[i]!);
    }
    if (addEos) ids.push(this.eosId);
    return ids;
  }

  encodeWithOffsets(text: string, opts: { addEos?: boolean } = {}): { ids: number[]; offsets: Array<[number, number]> } {
    const ids: number[] = [];
    const offsets: Array<[number, number]> = [];
    for (const { word, start, end } of this.words(text)) {
      const w = this.word(word);
      const same = end - start === word.length && text.startsWith(word, start);
      for (let i = 0; i < w.ids.length; i++) {
        ids.push(w.ids[i]!);
        offsets.push(same ? [start + w.local[i]![0], start + w.local[i]![1]] : [start, end]);
      }
    }
    if (!this.perWord) {
      const whole = this.wholeIds(text);
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
    const ids = this.segment?.(w) ?? this.tok.encode(w, { add_special_tokens: false }).ids;
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
