import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { LongreadError } from '../../common/errors';
import type { F32Tensor } from './types';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

const DTYPE_SIZE: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** Every dtype the safetensors format defines; the ones we cannot convert get a specific error. */
const KNOWN_DTYPES = new Set(['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']);
/** Larger headers are certainly not a safetensors file (the reference implementation caps at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
const READ_CHUNK = 64 * 1024 * 1024;

export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  file: string;
  fileSize: number;
  /** Offset of the data section in the file: 8 + header length. */
  dataStart: number;
  /** Sorted by `begin`. */
  tensors: TensorEntry[];
  metadata: Record<string, string>;
}

function corrupt(file: string, problem: string): never {
  throw new LongreadError('safetensors-corrupt', `${file} is not a valid safetensors file: ${problem}`, { file });
}

function truncated(file: string, problem: string): never {
  throw new LongreadError('safetensors-truncated', `${file} is truncated: ${problem}`, { file });
}

function readExactly(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, Math.min(READ_CHUNK, target.length - done), position + done);
    if (n === 0) truncated(file, `expected ${target.length} bytes at offset ${position}, file ended after ${done}`);
    done += n;
  }
}

/** Parses and validates the header of an open safetensors file (sizes, dtypes, contiguous offsets). */
export function readHeaderFd(fd: number, file: string): SafetensorsHeader & { headerBytes: Uint8Array } {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) truncated(file, `${fileSize} bytes, shorter than the 8-byte header length`);
  const lenBytes = new Uint8Array(8);
  readExactly(fd, lenBytes, 0, file);
  const headerLength = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
  if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) corrupt(file, `header length ${headerLength} is not plausible`);
  if (8 + headerLength > fileSize) truncated(file, `header of ${headerLength} bytes does not fit in the ${fileSize}-byte file`);
  const headerBytes = new Uint8Array(headerLength);
  readExactly(fd, headerBytes, 8, file);

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (e) {
    corrupt(file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) corrupt(file, 'header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataSize = fileSize - dataStart;
  const tensors: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) corrupt(file, '__metadata__ is not an object');
      metadata = value as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (v === null || typeof v !== 'object') corrupt(file, `entry "${name}" is not an object`);
    if (typeof v.dtype !== 'string') corrupt(file, `tensor "${name}" has no dtype`);
    if (!Array.isArray(v.shape) || !v.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) {
      corrupt(file, `tensor "${name}" has an invalid shape ${JSON.stringify(v.shape)}`);
    }
    const offs = v.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      corrupt(file, `tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    }
    if (!(v.dtype in DTYPE_SIZE)) {
      const what = KNOWN_DTYPES.has(v.dtype) ? 'is not a floating-point dtype Longread can load' : 'is not a safetensors dtype';
      throw new LongreadError('safetensors-dtype', `${file}: tensor "${name}" has dtype ${v.dtype}, which ${what} (expected F32, F16 or BF16)`, { file });
    }
    const dtype = v.dtype as SafetensorsDtype;
    const shape = v.shape as number[];
    const [begin, end] = offs as [number, number];
    const elements = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== elements * DTYPE_SIZE[dtype]) {
      corrupt(file, `tensor "${name}" (${dtype} ${JSON.stringify(shape)}) needs ${elements * DTYPE_SIZE[dtype]} bytes but data_offsets span ${end - begin}`);
    }
    tensors.push({ name, dtype, shape, begin, end });
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);

  // As in the reference implementation: tensors tile the data section exactly, with no gaps or overlaps.
  let cursor = 0;
  for (const t of tensors) {
    if (t.begin < cursor) corrupt(file, `tensor "${t.name}" overlaps the previous tensor (starts at ${t.begin}, previous ends at ${cursor})`);
    if (t.begin > cursor) corrupt(file, `gap of ${t.begin - cursor} bytes before tensor "${t.name}"`);
    cursor = t.end;
  }
  if (cursor > dataSize) {
    const last = tensors[tensors.length - 1]!;
    truncated(file, `tensor "${last.name}" ends at data offset ${cursor} but the data section has only ${dataSize} bytes`);
  }
  if (cursor < dataSize) corrupt(file, `${dataSize - cursor} bytes after the last tensor are not described by the header`);
  return { file, fileSize, dataStart, tensors, metadata, headerBytes };
}

/** Reads only the header of a safetensors file. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openWeights(file);
  try {
    const { headerBytes: _unused, ...header } = readHeaderFd(fd, file);
    return header;
  } finally {
    closeSync(fd);
  }
}

function openWeights(file: string): number {
  try {
    return openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LongreadError(
      'model-file-missing',
      code === 'ENOENT' ? `weights file ${file} is missing` : `cannot open weights file ${file}: ${(e as Error).message}`,
      { file, cause: e },
    );
  }
}

export interface ReadSafetensorsOptions {
  /** Called with every byte of the file, in order (for hashing while reading). */
  onBytes?: (bytes: Uint8Array) => void;
  /** Only tensors for which this returns true are converted (all bytes are still read for `onBytes`). */
  want?: (name: string) => boolean;
}

export interface SafetensorsContents {
  tensors: Map<string, F32Tensor>;
  dtypes: Map<string, SafetensorsDtype>;
}

/**
 * Reads a safetensors file tensor by tensor, converting each to float32. Memory stays at one copy
 * of the converted weights plus one tensor's raw bytes.
 */
export function readSafetensors(file: string, opts: ReadSafetensorsOptions = {}): SafetensorsContents {
  if (os.endianness() !== 'LE') throw new LongreadError('unsupported-platform', 'safetensors loading needs a little-endian CPU');
  const fd = openWeights(file);
  try {
    const header = readHeaderFd(fd, file);
    const lenBytes = new Uint8Array(8);
    new DataView(lenBytes.buffer).setBigUint64(0, BigInt(header.headerBytes.length), true);
    opts.onBytes?.(lenBytes);
    opts.onBytes?.(header.headerBytes);

    const tensors = new Map<string, F32Tensor>();
    const dtypes = new Map<string, SafetensorsDtype>();
    for (const t of header.tensors) {
      const byteLength = t.end - t.begin;
      const elements = byteLength / DTYPE_SIZE[t.dtype];
      const out = new Float32Array(elements);
      // F32 is read straight into the output; half-precision goes through one raw buffer per tensor.
      const raw = t.dtype === 'F32' ? new Uint8Array(out.buffer) : new Uint8Array(byteLength);
      readExactly(fd, raw, header.dataStart + t.begin, file);
      opts.onBytes?.(raw);
      if (opts.want && !opts.want(t.name)) continue;
      if (t.dtype === 'F16') f16BytesToF32(raw, out);
      else if (t.dtype === 'BF16') bf16BytesToF32(raw, out);
      if (tensors.has(t.name)) corrupt(file, `tensor "${t.name}" appears twice`);
      tensors.set(t.name, { shape: t.shape, data: out });
      dtypes.set(t.name, t.dtype);
    }
    return { tensors, dtypes };
  } finally {
    closeSync(fd);
  }
}

// ---------- half-precision conversions ----------

/** IEEE-754 binary16 bits → number: sign, 5-bit exponent (bias 15), 10-bit fraction. */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** bfloat16 is the upper half of a float32. */
export function bf16ToF32(bits: number): number {
  const u = new Uint32Array([(bits & 0xffff) << 16]);
  return new Float32Array(u.buffer)[0]!;
}

let f16Table: Float32Array | undefined;
function f16Lookup(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16ToF32(i);
  }
  return f16Table;
}

export function f16BytesToF32(raw: Uint8Array, out: Float32Array): void {
  const table = f16Lookup();
  for (let i = 0, j = 0; i < out.length; i++, j += 2) out[i] = table[raw[j]! | (raw[j + 1]! << 8)]!;
}

export function bf16BytesToF32(raw: Uint8Array, out: Float32Array): void {
  const u = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0, j = 0; i < out.length; i++, j += 2) u[i] = ((raw[j]! | (raw[j + 1]! << 8)) << 16) >>> 0;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** float32 → bfloat16 bits, round to nearest even (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0]!;
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** number → binary16 bits, round to nearest even, with overflow to infinity and subnormals. */
export function f32ToF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -24 * 0.5) return sign; // rounds to zero (exact half goes to even = 0)
  if (a < 2 ** -14) {
    // subnormal: value = m * 2^-24
    const m = roundHalfEven(a * 2 ** 24);
    return sign | m; // m may reach 1024 = smallest normal, which encodes correctly
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e += 1;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** Rounds to the nearest integer, ties to even (IEEE 754's default, as NumPy and PyTorch round). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

// ---------- writing ----------

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Writes tensors in the safetensors layout, converting to `dtype`; the header is space-padded to 8 bytes. */
export function writeSafetensors(file: string, tensors: TensorToWrite[], dtype: SafetensorsDtype, metadata: Record<string, string> = { format: 'pt' }): void {
  const size = DTYPE_SIZE[dtype];
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n * size] };
    offset += n * size;
  }
  let headerText = JSON.stringify(header);
  headerText += ' '.repeat((8 - ((8 + Buffer.byteLength(headerText)) % 8)) % 8);
  const headerBytes = Buffer.from(headerText, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    if (dtype === 'F32') {
      Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
      pos += t.data.byteLength;
    } else {
      const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < t.data.length; i++, pos += 2) out.writeUInt16LE(conv(t.data[i]!), pos);
    }
  }
  writeFileSync(file, out);
}
