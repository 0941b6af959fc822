import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import os from 'node:os';
import yauzl from 'yauzl';
import { LongreadError } from '../../common/errors';
import { bf16BytesToF32, f16BytesToF32, type SafetensorsContents, type SafetensorsDtype } from './safetensors';
import type { F32Tensor } from './types';

/**
 * A restricted reader for PyTorch's `pytorch_model.bin`. torch.save's zip format (torch >= 1.6):
 * `<name>/data.pkl` is a pickle of the state dict whose tensors point, through persistent ids,
 * at raw storages `<name>/data/<key>`; the legacy format before it is a run of pickles followed by
 * the raw storages. The pickle is interpreted by a small machine that knows
 * only the opcodes torch.save emits for a state dict and only the globals that rebuild tensors;
 * it builds plain data and never imports or calls anything, so a hostile file can only be refused.
 */

const STORAGE_DTYPES: Record<string, SafetensorsDtype> = { FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16' };
/** Storage types torch saves that are not floating point Longread can load: named in the refusal. */
const OTHER_STORAGES = new Set(['DoubleStorage', 'LongStorage', 'IntStorage', 'ShortStorage', 'CharStorage', 'ByteStorage', 'BoolStorage', 'ComplexFloatStorage', 'ComplexDoubleStorage', 'QInt8Storage', 'QUInt8Storage', 'QInt32Storage']);
const ELEMENT_SIZE: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** A state dict's pickle is a few hundred bytes per tensor; anything this large is not one. */
const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
const MAX_ENTRIES = 200_000;
const MAX_STACK = 100_000;

type Global = { kind: 'global'; name: 'OrderedDict' | 'rebuild_tensor_v2' | 'rebuild_parameter' | 'storage'; storage?: string };
export interface StorageRef {
  kind: 'storage';
  key: string;
  /** torch's storage class name, e.g. FloatStorage. */
  type: string;
  numel: number;
}
export interface TensorRef {
  kind: 'tensor';
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}
interface PTuple {
  kind: 'tuple';
  items: PValue[];
}
interface PList {
  kind: 'list';
  items: PValue[];
}
interface PDict {
  kind: 'dict';
  map: Map<string | number | boolean | null, PValue>;
}
type PValue = string | number | bigint | boolean | null | PTuple | PList | PDict | Global | StorageRef | TensorRef;
const MARK = Symbol('mark');

function unsupported(file: string, problem: string): never {
  throw new LongreadError('torch-bin-unsupported', `${file} cannot be loaded: ${problem}`, { file });
}
function corrupt(file: string, problem: string): never {
  throw new LongreadError('torch-bin-corrupt', `${file} is not a valid PyTorch checkpoint: ${problem}`, { file });
}

function describe(v: PValue | typeof MARK): string {
  if (v === MARK) return 'a mark';
  if (v === null) return 'None';
  if (typeof v === 'bigint') return `integer ${v}`;
  if (typeof v !== 'object') return `${typeof v} ${JSON.stringify(v)}`;
  return v.kind === 'global' ? `the global ${v.name}` : `a ${v.kind}`;
}

function allowedGlobal(module: string, name: string, file: string): Global {
  const full = `${module}.${name}`;
  if (full === 'collections.OrderedDict') return { kind: 'global', name: 'OrderedDict' };
  if (full === 'torch._utils._rebuild_tensor_v2') return { kind: 'global', name: 'rebuild_tensor_v2' };
  if (full === 'torch._utils._rebuild_parameter') return { kind: 'global', name: 'rebuild_parameter' };
  if (module === 'torch' && (name in STORAGE_DTYPES || OTHER_STORAGES.has(name))) return { kind: 'global', name: 'storage', storage: name };
  unsupported(file, `its pickle refers to ${JSON.stringify(full)}, which is not part of a plain state dict of tensors (Longread never runs code from a checkpoint)`);
}

function isInt(v: PValue | typeof MARK): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}
function intTuple(v: PValue, what: string, file: string): number[] {
  if (typeof v !== 'object' || v === null || v.kind !== 'tuple' || !v.items.every((x) => isInt(x) && x >= 0)) {
    corrupt(file, `a tensor's ${what} is ${describe(v)}, not a tuple of non-negative integers`);
  }
  return v.items as number[];
}

/**
 * Interprets a state dict's pickle and returns its tensors by name (storage references, not data).
 * Exported for tests; `file` names the checkpoint in errors.
 */
export function parseStateDictPickle(bytes: Uint8Array, file: string): Map<string, TensorRef> {
  return stateDictOf(interpret(bytes, 0, file, false).value, file);
}

/**
 * Runs one pickle starting at `start`; returns its value and where it ended. `legacy`: the
 * pre-1.6 format, whose header pickles hold a big magic integer and a list of storage keys
 * (LONG1 past 7 bytes, EMPTY_LIST, APPEND(S)) and whose persistent ids carry a sixth field.
 */
function interpret(bytes: Uint8Array, start: number, file: string, legacy: boolean): { value: PValue; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: Array<PValue | typeof MARK> = [];
  const memo = new Map<number, PValue>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = start;

  const need = (n: number) => {
    if (n < 0 || pos + n > bytes.length) corrupt(file, `its pickle ends inside an instruction at byte ${pos}`);
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) corrupt(file, `a length of ${v} bytes in its pickle is larger than the pickle`);
    return Number(v);
  };
  const text = (n: number) => {
    need(n);
    try {
      return utf8.decode(bytes.subarray(pos, (pos += n)));
    } catch {
      corrupt(file, `a string in its pickle is not valid UTF-8`);
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > 256) corrupt(file, `a GLOBAL name in its pickle is not terminated`);
    const s = String.fromCharCode(...bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const push = (v: PValue) => {
    if (stack.length >= MAX_STACK) unsupported(file, `its pickle nests more than ${MAX_STACK} values`);
    stack.push(v);
  };
  const pop = (): PValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) corrupt(file, `its pickle pops ${v === MARK ? 'a mark' : 'an empty stack'} at byte ${pos - 1}`);
    return v;
  };
  const top = (): PValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) corrupt(file, `its pickle reads an empty stack at byte ${pos - 1}`);
    return v;
  };
  const popMark = (): PValue[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) corrupt(file, `its pickle closes a mark that was never opened (byte ${pos - 1})`);
    const items = stack.splice(at) as Array<PValue | typeof MARK>;
    return items.slice(1) as PValue[];
  };
  const memoGet = (i: number): PValue => {
    const v = memo.get(i);
    if (v === undefined) corrupt(file, `its pickle reads memo slot ${i}, which was never written`);
    return v;
  };
  const setItems = (dict: PValue, items: PValue[]) => {
    if (typeof dict !== 'object' || dict === null || dict.kind !== 'dict') corrupt(file, `its pickle sets items on ${describe(dict)}`);
    if (items.length % 2 !== 0) corrupt(file, 'its pickle sets a key without a value');
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i]!;
      if ((k !== null && typeof k === 'object') || typeof k === 'bigint') unsupported(file, `its pickle uses ${describe(k)} as a dictionary key`);
      dict.map.set(k, items[i + 1]!);
    }
  };
  const persistentLoad = (pid: PValue): StorageRef => {
    const items = typeof pid === 'object' && pid !== null && pid.kind === 'tuple' ? pid.items : null;
    const [tag, type, key, , numel, viewMetadata] = items ?? [];
    // legacy ids end with view metadata: None unless the tensor was a view of a storage view (torch < 0.4)
    if (legacy && items && (items.length !== 6 || viewMetadata !== null)) unsupported(file, 'its pickle refers to a storage view (a torch < 0.4 layout)');
    if (!items || items.length !== (legacy ? 6 : 5) || tag !== 'storage' || typeof type !== 'object' || type === null || type.kind !== 'global' || type.name !== 'storage') {
      unsupported(file, `its pickle has a persistent id that is not a torch storage (${describe(pid)})`);
    }
    if (typeof key !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(key)) corrupt(file, `a storage key ${JSON.stringify(key)} is not a plain name`);
    if (!isInt(numel) || numel < 0) corrupt(file, `storage ${key} has an invalid size ${describe(numel)}`);
    return { kind: 'storage', key, type: type.storage!, numel };
  };
  const call = (fn: PValue, argsValue: PValue): PValue => {
    if (typeof fn !== 'object' || fn === null || fn.kind !== 'global') unsupported(file, `its pickle calls ${describe(fn)}`);
    if (typeof argsValue !== 'object' || argsValue === null || argsValue.kind !== 'tuple') corrupt(file, `its pickle calls ${fn.name} without an argument tuple`);
    const args = argsValue.items;
    if (fn.name === 'OrderedDict') {
      if (args.length !== 0) unsupported(file, 'its pickle builds an OrderedDict from arguments');
      return { kind: 'dict', map: new Map() };
    }
    if (fn.name === 'rebuild_parameter') {
      const t = args[0];
      if (args.length !== 3 || typeof t !== 'object' || t === null || t.kind !== 'tensor') unsupported(file, 'its pickle rebuilds a parameter from something other than a tensor');
      return t;
    }
    if (fn.name === 'rebuild_tensor_v2') {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      const [storage, offset, size, stride, , hooks] = args;
      if (args.length < 6 || args.length > 7) corrupt(file, `a tensor is rebuilt from ${args.length} arguments (expected 6 or 7)`);
      if (typeof storage !== 'object' || storage === null || storage.kind !== 'storage') corrupt(file, `a tensor's storage is ${describe(storage!)}`);
      if (!isInt(offset) || offset < 0) corrupt(file, `a tensor's storage offset is ${describe(offset!)}`);
      if (typeof hooks !== 'object' || hooks === null || hooks.kind !== 'dict' || hooks.map.size > 0) unsupported(file, 'a tensor carries backward hooks');
      const shape = intTuple(size!, 'size', file);
      const strides = intTuple(stride!, 'stride', file);
      if (shape.length !== strides.length) corrupt(file, `a tensor has ${shape.length} sizes but ${strides.length} strides`);
      return { kind: 'tensor', storage, offset, shape, stride: strides };
    }
    unsupported(file, `its pickle calls the storage type ${fn.storage}`);
  };

  for (;;) {
    if (pos >= bytes.length) corrupt(file, 'its pickle ends without STOP');
    const at = pos;
    const op = bytes[pos++]!;
    switch (op) {
      case 0x80: {
        const proto = u8(); // PROTO
        if (proto < 2 || proto > 5) unsupported(file, `its pickle uses protocol ${proto}`);
        break;
      }
      case 0x95: // FRAME (protocol 4): a length hint only
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), end: pos };
      case 0x5d: // EMPTY_LIST (legacy header: the storage keys)
        if (!legacy) unsupported(file, `its pickle uses opcode 0x5d at byte ${at}, which a state dict saved by torch.save does not need`);
        push({ kind: 'list', items: [] });
        break;
      case 0x61: // APPEND
      case 0x65: {
        // APPENDS
        if (!legacy) unsupported(file, `its pickle uses opcode 0x${op.toString(16)} at byte ${at}, which a state dict saved by torch.save does not need`);
        const items = op === 0x61 ? [pop()] : popMark();
        const list = top();
        if (typeof list !== 'object' || list === null || list.kind !== 'list') corrupt(file, `its pickle appends to ${describe(list)}`);
        list.items.push(...items);
        break;
      }
      case 0x28: // MARK
        if (stack.length >= MAX_STACK) unsupported(file, `its pickle nests more than ${MAX_STACK} values`);
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        push({ kind: 'dict', map: new Map() });
        break;
      case 0x29: // EMPTY_TUPLE
        push({ kind: 'tuple', items: [] });
        break;
      case 0x74: // TUPLE
        push({ kind: 'tuple', items: popMark() });
        break;
      case 0x85: // TUPLE1
        push({ kind: 'tuple', items: [pop()] });
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push({ kind: 'tuple', items: [pop(), b] });
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push({ kind: 'tuple', items: [pop(), b, c] });
        break;
      }
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = u8();
        need(n);
        if (n > 7) {
          // only the legacy format's magic number (10 bytes) is this large
          if (!legacy || n > 16) unsupported(file, `its pickle holds an integer of ${n} bytes`);
          let big = 0n;
          for (let i = n - 1; i >= 0; i--) big = (big << 8n) | BigInt(bytes[pos + i]!);
          pos += n;
          push(big);
          break;
        }
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[pos + i]!;
        if (n > 0 && bytes[pos + n - 1]! & 0x80) v -= 2 ** (8 * n);
        pos += n;
        push(v);
        break;
      }
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x58: // BINUNICODE
        push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(text(u64()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        push(allowedGlobal(module, line(), file));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') corrupt(file, 'its pickle names a global with non-strings');
        push(allowedGlobal(module, name, file));
        break;
      }
      case 0x51: // BINPERSID
        push(persistentLoad(pop()));
        break;
      case 0x52: {
        // REDUCE
        const args = pop();
        push(call(pop(), args));
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x62: {
        // BUILD: torch.save gives the state dict its `_metadata` attribute this way; we keep no attributes
        const state = pop();
        const target = top();
        if (typeof target !== 'object' || target === null || target.kind !== 'dict') unsupported(file, `its pickle sets state on ${describe(target)}`);
        if (typeof state !== 'object' || state === null || state.kind !== 'dict') unsupported(file, `its pickle sets ${describe(state)} as an object's state`);
        break;
      }
      default:
        unsupported(file, `its pickle uses opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at}, which a state dict saved by torch.save does not need`);
    }
  }
}

function stateDictOf(result: PValue, file: string): Map<string, TensorRef> {
  if (typeof result !== 'object' || result === null || result.kind !== 'dict') unsupported(file, `it holds ${describe(result)}, not a state dict`);
  const out = new Map<string, TensorRef>();
  for (const [name, value] of result.map) {
    if (typeof name !== 'string') unsupported(file, `its state dict has a key ${JSON.stringify(name)} that is not a tensor name`);
    if (typeof value !== 'object' || value === null || value.kind !== 'tensor') {
      unsupported(file, `"${name}" is ${describe(value)}, not a tensor (is this a training checkpoint rather than model weights?)`);
    }
    out.set(name, value);
  }
  return out;
}

// ---------- the zip container ----------

function readExactly(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, Math.min(64 * 1024 * 1024, target.length - done), position + done);
    if (n === 0) corrupt(file, `it ends inside a stored entry (offset ${position + done})`);
    done += n;
  }
}

/** True when the file starts like the pre-1.6 torch format (a bare pickle, protocol 2); a zip starts with PK. */
function looksLikeLegacyTorch(fd: number): boolean {
  const head = new Uint8Array(2);
  return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x80 && head[1] === 0x02;
}

interface Archive {
  zip: yauzl.ZipFile;
  entries: Map<string, yauzl.Entry>;
  prefix: string;
}

async function openArchive(file: string): Promise<Archive> {
  let zip: yauzl.ZipFile;
  try {
    // yauzl opens (and on close() closes) a descriptor of its own; `fd` is ours for the stored data
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true });
  } catch (e) {
    corrupt(file, `it is neither a torch.save zip archive nor torch's legacy format (${(e as Error).message})`);
  }
  if (zip.entryCount > MAX_ENTRIES) unsupported(file, `it has ${zip.entryCount} entries`);
  const entries = new Map<string, yauzl.Entry>();
  try {
    for await (const entry of zip.eachEntry()) entries.set(entry.fileName, entry);
  } catch (e) {
    zip.close();
    corrupt(file, `its zip directory is damaged (${(e as Error).message})`);
  }
  const pickles = [...entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    zip.close();
    if (entries.has('constants.pkl') || [...entries.keys()].some((n) => n.endsWith('/constants.pkl'))) unsupported(file, 'it is a TorchScript archive, not a state dict');
    corrupt(file, pickles.length === 0 ? 'it has no <name>/data.pkl entry' : 'it has more than one data.pkl');
  }
  return { zip, entries, prefix: pickles[0]!.slice(0, -'data.pkl'.length) };
}

/** An entry's bytes; `expected` (when given) is the size its tensors need, checked before anything is allocated. */
async function readEntry(archive: Archive, fd: number, name: string, file: string, expected?: number): Promise<Uint8Array> {
  const entry = archive.entries.get(name);
  if (!entry) corrupt(file, `entry ${name} is missing`);
  if (entry.compressionMethod !== 0) unsupported(file, `entry ${name} is compressed (torch.save stores entries uncompressed)`);
  if (entry.isEncrypted()) unsupported(file, `entry ${name} is encrypted`);
  if (expected !== undefined && expected !== entry.uncompressedSize) corrupt(file, `entry ${name} has ${entry.uncompressedSize} bytes, but its tensors need ${expected}`);
  let start: number;
  try {
    start = (await archive.zip.readLocalFileHeaderPromise(entry, { minimal: true })).fileDataStart;
  } catch (e) {
    corrupt(file, `entry ${name} is damaged (${(e as Error).message})`);
  }
  if (entry.compressedSize !== entry.uncompressedSize || start + entry.uncompressedSize > archive.zip.fileSize) {
    corrupt(file, `entry ${name} claims ${entry.uncompressedSize} bytes at offset ${start}, past the end of the ${archive.zip.fileSize}-byte file`);
  }
  const out = new Uint8Array(entry.uncompressedSize);
  readExactly(fd, out, start, file);
  return out;
}

export interface ReadTorchOptions {
  /** Called with the pickle's bytes and then each storage's bytes, in file order (for hashing). */
  onBytes?: (bytes: Uint8Array) => void;
}

/**
 * Reads the float tensors of a torch.save'd state dict (the zip format of torch >= 1.6, or the
 * legacy format before it), converted to float32. Each storage is read once; tensors that share one
 * storage and view (tied embeddings) share one float32 copy.
 */
export async function readTorchBin(file: string, opts: ReadTorchOptions = {}): Promise<SafetensorsContents> {
  if (os.endianness() !== 'LE') throw new LongreadError('unsupported-platform', 'PyTorch checkpoint loading needs a little-endian CPU');
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new LongreadError('model-file-missing', code === 'ENOENT' ? `weights file ${file} is missing` : `cannot open weights file ${file}: ${(e as Error).message}`, {
      file,
      cause: e,
    });
  }
  let archive: Archive | undefined;
  try {
    if (looksLikeLegacyTorch(fd)) return await readLegacy(file, fd, opts);
    archive = await openArchive(file);
    const zip = archive;
    const { prefix } = zip;
    const byteorder = zip.entries.get(`${prefix}byteorder`);
    if (byteorder) {
      const order = new TextDecoder().decode(await readEntry(zip, fd, byteorder.fileName, file));
      if (order.trim() !== 'little') unsupported(file, `it was saved with byte order ${JSON.stringify(order)}`);
    }
    const pklEntry = zip.entries.get(`${prefix}data.pkl`)!;
    if (pklEntry.uncompressedSize > MAX_PICKLE_BYTES) unsupported(file, `its data.pkl has ${pklEntry.uncompressedSize} bytes, too many for a state dict`);
    const pkl = await readEntry(zip, fd, pklEntry.fileName, file);
    opts.onBytes?.(pkl);
    const refs = parseStateDictPickle(pkl, file);
    const keys = [...new Set([...refs.values()].map((t) => t.storage.key))].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
    return await buildTensors(refs, keys, file, opts, (key, bytes) => readEntry(zip, fd, `${prefix}data/${key}`, file, bytes));
  } finally {
    archive?.zip.close();
    closeSync(fd);
  }
}

/** torch's legacy magic number, the first pickle of a pre-1.6 file. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/**
 * The legacy format: five pickles (magic number, protocol version, system info, the state dict,
 * the storage keys in file order), then each storage as an int64 element count and its raw bytes.
 */
async function readLegacy(file: string, fd: number, opts: ReadTorchOptions): Promise<SafetensorsContents> {
  const size = fstatSync(fd).size;
  const head = new Uint8Array(Math.min(size, MAX_PICKLE_BYTES));
  readExactly(fd, head, 0, file);
  const magic = interpret(head, 0, file, true);
  if (magic.value !== LEGACY_MAGIC) corrupt(file, 'it starts like a pickle but not like a torch.save file (wrong magic number)');
  const protocol = interpret(head, magic.end, file, true);
  if (protocol.value !== LEGACY_PROTOCOL) unsupported(file, `it uses torch's legacy protocol ${describe(protocol.value)} (expected ${LEGACY_PROTOCOL})`);
  const sysInfo = interpret(head, protocol.end, file, true);
  const info = sysInfo.value;
  if (typeof info !== 'object' || info === null || info.kind !== 'dict' || info.map.get('little_endian') !== true) {
    unsupported(file, 'it was not saved on a little-endian machine');
  }
  const main = interpret(head, sysInfo.end, file, true);
  const refs = stateDictOf(main.value, file);
  const keysValue = interpret(head, main.end, file, true);
  const list = keysValue.value;
  if (typeof list !== 'object' || list === null || list.kind !== 'list' || !list.items.every((k) => typeof k === 'string')) corrupt(file, 'its storage key list is not a list of names');
  const keys = list.items as string[];
  opts.onBytes?.(head.subarray(0, keysValue.end));

  let cursor = keysValue.end;
  const count = new Uint8Array(8);
  const contents = await buildTensors(refs, keys, file, opts, async (key, bytes) => {
    readExactly(fd, count, cursor, file);
    const numel = new DataView(count.buffer).getBigInt64(0, true);
    opts.onBytes?.(count);
    cursor += 8;
    if (cursor + bytes > size) corrupt(file, `storage ${key} needs ${bytes} bytes at offset ${cursor}, past the end of the ${size}-byte file`);
    const raw = new Uint8Array(bytes);
    readExactly(fd, raw, cursor, file);
    cursor += bytes;
    return { raw, numel };
  });
  if (cursor !== size) corrupt(file, `${size - cursor} bytes after the last storage are not described by its pickle`);
  return contents;
}

/**
 * Checks every tensor against its storage, then reads the storages in `order` (each once, through
 * `read`) and converts every view to float32.
 */
async function buildTensors(
  refs: Map<string, TensorRef>,
  order: string[],
  file: string,
  opts: ReadTorchOptions,
  read: (key: string, bytes: number) => Promise<Uint8Array | { raw: Uint8Array; numel: bigint }>,
): Promise<SafetensorsContents> {
  // Group tensors by storage and check each view against its storage before reading any data.
  const byStorage = new Map<string, { storage: StorageRef; tensors: Array<[string, TensorRef]> }>();
  for (const [name, t] of refs) {
    const dtype = STORAGE_DTYPES[t.storage.type];
    if (!dtype) {
      throw new LongreadError('torch-bin-unsupported', `${file}: tensor "${name}" is stored as ${t.storage.type}, which is not a floating-point type Longread can load (expected float32, float16 or bfloat16)`, {
        file,
      });
    }
    const group = byStorage.get(t.storage.key);
    if (group && (group.storage.type !== t.storage.type || group.storage.numel !== t.storage.numel)) corrupt(file, `storage ${t.storage.key} is described two ways`);
    let elements = 1;
    let last = t.offset;
    for (let i = 0; i < t.shape.length; i++) {
      elements *= t.shape[i]!;
      if (t.shape[i]! > 0) last += (t.shape[i]! - 1) * t.stride[i]!;
    }
    if (!Number.isSafeInteger(elements) || (elements > 0 && last >= t.storage.numel)) {
      corrupt(file, `tensor "${name}" (shape [${t.shape.join(', ')}], stride [${t.stride.join(', ')}], offset ${t.offset}) reaches past its storage of ${t.storage.numel} elements`);
    }
    if (group) group.tensors.push([name, t]);
    else byStorage.set(t.storage.key, { storage: t.storage, tensors: [[name, t]] });
  }
  if (order.length !== byStorage.size || !order.every((k) => byStorage.has(k))) corrupt(file, 'its list of storages does not match the storages its tensors use');

  const tensors = new Map<string, F32Tensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  for (const key of order) {
    const { storage, tensors: views } = byStorage.get(key)!;
    const dtype = STORAGE_DTYPES[storage.type]!;
    const size = ELEMENT_SIZE[dtype];
    const got = await read(key, storage.numel * size);
    const raw = got instanceof Uint8Array ? got : got.raw;
    if (!(got instanceof Uint8Array) && got.numel !== BigInt(storage.numel)) corrupt(file, `storage ${key} holds ${got.numel} elements, but its pickle says ${storage.numel}`);
    opts.onBytes?.(raw);
    const shared = new Map<string, F32Tensor>();
    for (const [name, t] of views) {
      const viewKey = `${t.offset}|${t.shape.join(',')}|${t.stride.join(',')}`;
      let tensor = shared.get(viewKey);
      if (!tensor) {
        const bytes = contiguousBytes(raw, t, size);
        // a float32 view already in order is used in place (raw is a fresh, aligned buffer)
        const data = dtype === 'F32' && bytes.buffer === raw.buffer ? new Float32Array(raw.buffer, bytes.byteOffset, bytes.length / 4) : toF32(bytes, dtype);
        tensor = { shape: [...t.shape], data };
        shared.set(viewKey, tensor);
      }
      tensors.set(name, tensor);
      dtypes.set(name, dtype);
    }
    await new Promise((r) => setImmediate(r));
  }
  return { tensors, dtypes };
}

/** The bytes of a strided view, in row-major order (a subarray when the view is already contiguous). */
function contiguousBytes(raw: Uint8Array, t: TensorRef, size: number): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  let expected = 1;
  let contiguous = true;
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i]! !== 1 && t.stride[i]! !== expected) contiguous = false;
    expected *= t.shape[i]!;
  }
  if (contiguous) return raw.subarray(t.offset * size, (t.offset + n) * size);
  const out = new Uint8Array(n * size);
  const index = new Array<number>(t.shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = t.offset;
    for (let i = 0; i < index.length; i++) src += index[i]! * t.stride[i]!;
    out.set(raw.subarray(src * size, src * size + size), k * size);
    for (let i = index.length - 1; i >= 0; i--) {
      if (++index[i]! < t.shape[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}

function toF32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const out = new Float32Array(bytes.length / ELEMENT_SIZE[dtype]);
  if (dtype === 'F32') new Uint8Array(out.buffer).set(bytes);
  else if (dtype === 'F16') f16BytesToF32(bytes, out);
  else bf16BytesToF32(bytes, out);
  return out;
}
