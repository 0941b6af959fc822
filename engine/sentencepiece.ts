import { LongreadError } from '../common/errors';

/**
 * SentencePiece's own files, read without SentencePiece: the ModelProto of a `spiece.model`
 * (turned into the tokenizer.json Hugging Face's T5 converter would write) and the precompiled
 * character map of its normalizer (applied exactly as SentencePiece's normalizer.cc does, since
 * @huggingface/tokenizers only approximates it with String.prototype.normalize('NFKC')).
 */

const META = '\u2581';

/** Piece types of sentencepiece_model.proto. */
const enum PieceType {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface SentencePieceModel {
  pieces: Array<{ piece: string; score: number; type: number }>;
  /** trainer_spec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  unkId: number;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  normalizerName: string;
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

/** The few protobuf wire-format reads a ModelProto needs (varint, fixed32, length-delimited). */
class ProtoReader {
  private pos = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly file: string,
    private readonly end = buf.length,
    start = 0,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  private fail(what: string): never {
    throw new LongreadError('tokenizer-invalid', `${this.file} is not a SentencePiece model: ${what} at byte ${this.pos}`, { file: this.file });
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return result;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a field key; returns [field number, wire type]. */
  key(): [number, number] {
    const k = this.varint();
    return [Math.floor(k / 8), k % 8];
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.end) this.fail('length-delimited field runs past its message');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  message(): ProtoReader {
    const n = this.varint();
    if (this.pos + n > this.end) this.fail('sub-message runs past its message');
    const r = new ProtoReader(this.buf, this.file, this.pos + n, this.pos);
    this.pos += n;
    return r;
  }

  float(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const n = this.varint();
      this.pos += n;
    }
    else if (wire === 5) this.pos += 4;
    else this.fail(`unsupported wire type ${wire}`);
    if (this.pos > this.end) this.fail('field runs past its message');
  }
}

/** A varint field read as a signed int32 (SentencePiece writes bos_id = -1 as 2^64-1). */
function int32(v: number): number {
  return v >= 2 ** 31 ? Number(BigInt.asIntN(32, BigInt(Math.round(v % 2 ** 32)))) : v;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses the fields of a `spiece.model` (sentencepiece_model.proto ModelProto) this project uses. */
export function parseSentencePieceModel(buf: Uint8Array, file: string): SentencePieceModel {
  const m: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    unkId: 0,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    normalizerName: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      throw new LongreadError('tokenizer-invalid', `${file} is not a SentencePiece model: a piece is not UTF-8`, { file });
    }
  };
  const r = new ProtoReader(buf, file);
  let sawTrainer = false;
  while (!r.done()) {
    const [field, wire] = r.key();
    if (field === 1 && wire === 2) {
      const p = r.message();
      const piece = { piece: '', score: 0, type: PieceType.Normal as number };
      while (!p.done()) {
        const [f, w] = p.key();
        if (f === 1 && w === 2) piece.piece = text(p.bytes());
        else if (f === 2 && w === 5) piece.score = p.float();
        else if (f === 3 && w === 0) piece.type = p.varint();
        else p.skip(w);
      }
      m.pieces.push(piece);
    } else if (field === 2 && wire === 2) {
      sawTrainer = true;
      const t = r.message();
      while (!t.done()) {
        const [f, w] = t.key();
        if (f === 3 && w === 0) m.modelType = t.varint();
        else if (f === 40 && w === 0) m.unkId = int32(t.varint());
        else if (f === 35 && w === 0) m.byteFallback = t.varint() !== 0;
        else if (f === 24 && w === 0) m.treatWhitespaceAsSuffix = t.varint() !== 0;
        else t.skip(w);
      }
    } else if (field === 3 && wire === 2) {
      const n = r.message();
      while (!n.done()) {
        const [f, w] = n.key();
        if (f === 1 && w === 2) m.normalizerName = text(n.bytes());
        else if (f === 2 && w === 2) m.precompiledCharsmap = n.bytes();
        else if (f === 3 && w === 0) m.addDummyPrefix = n.varint() !== 0;
        else if (f === 4 && w === 0) m.removeExtraWhitespaces = n.varint() !== 0;
        else if (f === 5 && w === 0) m.escapeWhitespaces = n.varint() !== 0;
        else n.skip(w);
      }
    } else {
      r.skip(wire);
    }
  }
  if (m.pieces.length === 0 || !sawTrainer) {
    throw new LongreadError('tokenizer-invalid', `${file} is not a SentencePiece model: it has no pieces or no trainer spec`, { file });
  }
  return m;
}

function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/**
 * The tokenizer.json Hugging Face's T5 converter (convert_slow_tokenizer.T5Converter) makes of a
 * SentencePiece unigram model, in the current schema: the pieces with their scores, then
 * `<extra_id_{extraIds-1}>` … `<extra_id_0>` (so <extra_id_0> is the last id); the precompiled
 * charsmap normalizer; whitespace split then "▁" prefix; "$A </s>" post-processing.
 */
export function t5TokenizerJsonFromSentencePiece(m: SentencePieceModel, extraIds: number, file: string): Record<string, unknown> {
  const unsupported = (what: string): never => {
    throw new LongreadError('tokenizer-unsupported', `${file}: ${what}; only T5-style unigram SentencePiece models are supported`, { file });
  };
  if (m.modelType !== 1) unsupported(`its model type is ${m.modelType === 2 ? 'BPE' : String(m.modelType)}, not unigram`);
  if (m.byteFallback) unsupported('it uses byte fallback');
  if (m.treatWhitespaceAsSuffix) unsupported('it treats whitespace as a suffix');
  if (!m.addDummyPrefix || !m.removeExtraWhitespaces || !m.escapeWhitespaces) unsupported('its normalizer keeps whitespace as is');
  if (m.unkId < 0 || m.unkId >= m.pieces.length || m.pieces[m.unkId]!.type !== PieceType.Unknown) unsupported('its unknown piece is missing');
  const vocab: Array<[string, number]> = m.pieces.map((p) => [p.piece, p.score]);
  for (let i = extraIds - 1; i >= 0; i--) vocab.push([`<extra_id_${i}>`, 0]);
  const added = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const addedTokens = m.pieces.flatMap((p, id) => (p.type === PieceType.Control || p.type === PieceType.Unknown ? [added(id, p.piece)] : []));
  for (let i = m.pieces.length; i < vocab.length; i++) addedTokens.push(added(i, vocab[i]![0]));
  const eos = m.pieces.findIndex((p) => p.piece === '</s>');
  if (eos < 0) unsupported('it has no </s> piece');
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: m.precompiledCharsmap.length > 0 ? { type: 'Precompiled', precompiled_charsmap: base64(m.precompiledCharsmap) } : null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Metaspace', replacement: META, prepend_scheme: 'always', split: true }] },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }, { Sequence: { id: 'B', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      special_tokens: { '</s>': { id: '</s>', ids: [eos], tokens: ['</s>'] } },
    },
    decoder: { type: 'Metaspace', replacement: META, prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: m.unkId, vocab, byte_fallback: false },
  };
}

/**
 * SentencePiece's precompiled normalizer: a Darts double-array trie over UTF-8 byte strings whose
 * values index NUL-terminated replacements. At each position the longest matching key is
 * replaced; bytes with no match are copied one UTF-8 character at a time (normalizer.cc,
 * Normalizer::NormalizePrefix). Blob layout: uint32 trie size in bytes, the trie's uint32 units,
 * then the replacement strings.
 */
export class PrecompiledCharsmap {
  private readonly units: Uint32Array;
  private readonly strings: Uint8Array;
  private readonly replacements = new Map<number, string>();
  /** ASCII bytes no key starts with: they stand for themselves. */
  private readonly plainAscii = new Uint8Array(128);

  constructor(blob: Uint8Array, file: string) {
    const bad = (): never => {
      throw new LongreadError('tokenizer-invalid', `${file}: the precompiled normalizer charsmap is malformed`, { file });
    };
    if (blob.length < 4) bad();
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const trieBytes = view.getUint32(0, true);
    if (trieBytes % 4 !== 0 || trieBytes === 0 || 4 + trieBytes > blob.length) bad();
    this.units = new Uint32Array(trieBytes / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + i * 4, true);
    this.strings = blob.subarray(4 + trieBytes);
    const root = offset(this.units[0]!);
    for (let c = 0; c < 128; c++) {
      const node = root ^ c;
      this.plainAscii[c] = node >= this.units.length || (this.units[node]! & 0x800000ff) >>> 0 !== c ? 1 : 0;
    }
  }

  /** Longest key starting at `bytes[pos]`: [its length in bytes, its value], or [0, 0]. */
  private longestMatch(bytes: Uint8Array, pos: number): [number, number] {
    const u = this.units;
    let node = 0;
    let unit = u[0]!;
    node ^= offset(unit);
    let bestLen = 0;
    let bestValue = 0;
    for (let i = pos; i < bytes.length; i++) {
      const c = bytes[i]!;
      node ^= c;
      if (node >= u.length) break;
      unit = u[node]!;
      // label(): the low byte plus the top bit (set on value units, so they never match)
      if ((unit & 0x800000ff) >>> 0 !== c) break;
      node ^= offset(unit);
      if ((unit >>> 8) & 1) {
        bestLen = i - pos + 1;
        bestValue = u[node]! & 0x7fffffff;
      }
    }
    return [bestLen, bestValue];
  }

  private replacement(value: number): string {
    let s = this.replacements.get(value);
    if (s === undefined) {
      let end = value;
      while (end < this.strings.length && this.strings[end] !== 0) end++;
      s = new TextDecoder().decode(this.strings.subarray(value, end));
      this.replacements.set(value, s);
    }
    return s;
  }

  /**
   * Walks `text` as SentencePiece's normalizer does and calls `emit(out, start, end)` for each
   * step: `out` replaces text[start, end) (UTF-16 offsets). Ill-formed UTF-16 (lone surrogates)
   * reads as U+FFFD, as it would after UTF-8 encoding.
   */
  walk(text: string, emit: (out: string, start: number, end: number) => void): void {
    const bytes = new TextEncoder().encode(text);
    let pos = 0;
    let at = 0;
    while (pos < bytes.length) {
      const [n, value] = this.longestMatch(bytes, pos);
      const len = n > 0 ? n : utf8Length(bytes[pos]!);
      let units = 0;
      for (let i = pos; i < pos + len; i++) {
        const b = bytes[i]!;
        if ((b & 0xc0) !== 0x80) units += b >= 0xf0 ? 2 : 1;
      }
      emit(n > 0 ? this.replacement(value) : text.slice(at, at + units), at, at + units);
      pos += len;
      at += units;
    }
  }

  /** The charsmap applied to the whole text (no whitespace handling). */
  normalize(text: string): string {
    let out = '';
    this.walk(text, (s) => {
      out += s;
    });
    return out;
  }

  /**
   * The words SentencePiece's normalizer (remove_extra_whitespaces) separates with "▁": maximal runs
   * of normalized non-space characters, each with the [start, end) range of the original text
   * they came from. (The same walk as `walk`, inlined: a book has a million characters.)
   */
  words(text: string): Array<{ word: string; start: number; end: number }> {
    const out: Array<{ word: string; start: number; end: number }> = [];
    const bytes = new TextEncoder().encode(text);
    const plain = this.plainAscii;
    let start = -1; // start of the word being read, -1 between words
    let end = 0;
    // null while the word reads exactly as text[start, end); else its normalized pieces
    let parts: string[] | null = null;
    const flush = () => {
      if (start >= 0) out.push({ word: parts ? parts.join('') : text.slice(start, end), start, end });
      start = -1;
      parts = null;
    };
    let pos = 0;
    let at = 0;
    while (pos < bytes.length) {
      const b = bytes[pos]!;
      let n = 0;
      let value = 0;
      if (!(b < 0x80 && plain[b])) [n, value] = this.longestMatch(bytes, pos);
      const len = n > 0 ? n : utf8Length(b);
      let units = 0;
      for (let i = pos; i < pos + len; i++) {
        const c = bytes[i]!;
        if ((c & 0xc0) !== 0x80) units += c >= 0xf0 ? 2 : 1;
      }
      if (n === 0) {
        if (b === 0x20) flush();
        else {
          if (start < 0) start = at;
          else if (parts) parts.push(text.slice(at, at + units));
          end = at + units;
        }
      } else {
        const rep = this.replacement(value);
        // a deleted character inside a word: the word no longer reads as its range
        if (rep === '' && start >= 0 && !parts) parts = [text.slice(start, end)];
        for (const ch of rep) {
          if (ch === ' ') {
            flush();
            continue;
          }
          if (start < 0) {
            start = at;
            parts = [];
          } else if (!parts) parts = [text.slice(start, at)];
          parts.push(ch);
          end = at + units;
        }
      }
      pos += len;
      at += units;
    }
    flush();
    return out;
  }
}

function offset(unit: number): number {
  return (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
}

/** Bytes in the UTF-8 sequence a lead byte starts (TextEncoder output is always well formed). */
function utf8Length(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  return 2;
}

/**
 * SentencePiece's unigram segmentation (unigram_model.cc, Model::EncodeOptimized) with its exact
 * arithmetic: the best total to each position is kept as float32, a candidate (piece score plus
 * that float32 total) is compared in double, and the earliest start wins a tie. So segmentations
 * whose scores tie in exact arithmetic (e.g. "----" as "---"+"-" or "-"+"---") fall as
 * SentencePiece's do, by rounding. The JS library sums in float64 and breaks ties
 * otherwise. A character no single-character piece covers becomes <unk> (score: lowest piece
 * score − 10); runs of <unk> fuse into one, as SentencePieceProcessor::Encode does.
 */
export class UnigramSegmenter {
  private readonly byPiece = new Map<string, { id: number; score: number }>();
  private readonly maxChars: number;
  private readonly unkScore: number;

  /** `excluded`: ids the text never matches (control and added tokens, <unk>). */
  constructor(
    vocab: ReadonlyArray<readonly [string, number]>,
    private readonly unkId: number,
    excluded: ReadonlySet<number>,
  ) {
    let min = Infinity;
    let maxChars = 1;
    vocab.forEach(([piece, score], id) => {
      if (excluded.has(id) || id === unkId || piece === '' || this.byPiece.has(piece)) return;
      const s = Math.fround(score);
      this.byPiece.set(piece, { id, score: s });
      min = Math.min(min, s);
      maxChars = Math.max(maxChars, [...piece].length);
    });
    this.maxChars = maxChars;
    this.unkScore = Math.fround((Number.isFinite(min) ? min : 0) - 10);
  }

  /** Ids of one pre-tokenized word (already "▁"-prefixed). */
  encode(word: string): number[] {
    const chars = [...word];
    const n = chars.length;
    const best = new Float64Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    const ids = new Int32Array(n + 1);
    from[0] = 0;
    for (let start = 0; start < n; start++) {
      const till = best[start]!;
      let key = '';
      let single = false;
      for (let end = start + 1; end <= Math.min(n, start + this.maxChars); end++) {
        key += chars[end - 1]!;
        const hit = this.byPiece.get(key);
        if (!hit) continue;
        if (end === start + 1) single = true;
        // double sum compared with the float32 best kept so far, then kept as float32
        const score = hit.score + till;
        if (from[end] === -1 || score > best[end]!) {
          best[end] = Math.fround(score);
          from[end] = start;
          ids[end] = hit.id;
        }
      }
      if (!single) {
        const score = Math.fround(this.unkScore + till);
        if (from[start + 1] === -1 || score > best[start + 1]!) {
          best[start + 1] = score;
          from[start + 1] = start;
          ids[start + 1] = this.unkId;
        }
      }
    }
    const out: number[] = [];
    for (let end = n; end > 0; end = from[end]!) {
      const id = ids[end]!;
      if (!(id === this.unkId && out[out.length - 1] === this.unkId)) out.push(id);
    }
    return out.reverse();
  }
}
