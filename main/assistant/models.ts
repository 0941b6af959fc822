import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRECISIONS, type ModelInfo, type Precision } from '../../common/api';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../common/file-modes';
import type { CountingModel } from '../../common/document';
import { LongreadError } from '../../common/errors';
import { readT5Config } from '../../engine/checkpoint/config';
import { listWeightFiles } from '../../engine/checkpoint/load';
import { parameterCount } from '../../engine/checkpoint/weights';
import type { ModelFacts } from './types';

export const BUNDLED_ID = 'default';
export const MODELS_DIR = 'models';
const ACTIVE_FILE = 'active.json';
const META_FILE = 'longread-model.json';
/** The bundled model's record (its own folder may be read-only): `{ precision }`. */
const BUNDLED_RECORD = 'bundled-model.json';
/** The bundled model's precision until the user picks one (see README: int8 vs fp32 on its eval). */
export const BUNDLED_PRECISION: Precision = 'fp32';
/** An imported model's precision unless its import chose one. */
export const IMPORTED_PRECISION: Precision = 'fp32';

/** Where the repo keeps the bundled default model (the packaged app passes its unpacked copy instead). */
export function repoDefaultModelDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'default');
}

/** The bundled model's folder: the host's choice, else LONGREAD_MODEL, else the repo's models/default. */
export function bundledModelDir(hostChoice?: string, env: NodeJS.ProcessEnv = process.env): string {
  return hostChoice ?? (env.LONGREAD_MODEL ? path.resolve(env.LONGREAD_MODEL) : repoDefaultModelDir());
}

export interface ModelEntry {
  id: string;
  name: string;
  dir: string;
  bundled: boolean;
  summaries: 'extractive' | 'abstractive';
  /** passages: answers are read again from the passages VCC ranks highest (measured better for the small bundled model); whole: from the whole compressed document (the paper's VCC). */
  answers: 'passages' | 'whole';
  /** How the engine stores its linear layers: fp32, or int8 (quantized per output channel when its graphs are built). */
  precision: Precision;
}

interface ModelRecord {
  id?: string;
  name?: string;
  source?: string;
  importedAt?: string;
  precision?: unknown;
}

function readRecord(file: string): ModelRecord {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as ModelRecord) : {};
  } catch {
    return {};
  }
}

function precisionOf(record: ModelRecord, fallback: Precision): Precision {
  return (PRECISIONS as readonly unknown[]).includes(record.precision) ? (record.precision as Precision) : fallback;
}

/** Writes a small JSON file by rename, so a reader never sees half of it. */
function writeJsonAtomically(file: string, value: unknown): void {
  const tmp = path.join(path.dirname(file), `.tmp-${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, JSON.stringify(value), { mode: PRIVATE_FILE_MODE });
  renameSync(tmp, file);
}

/**
 * The files of a Hugging Face folder an import copies: config, tokenizer and other small JSON /
 * text files, and the weight files the loader would read (safetensors, else pytorch_model.bin,
 * single or sharded). Symbolic links are followed (a Hugging Face cache snapshot is all links into
 * its blobs folder). Weights in other formats are left behind.
 */
export async function modelFilesOf(dir: string): Promise<Array<{ name: string; size: number }>> {
  const weights = listWeightFiles(dir);
  const weightNames = new Set([...weights.files, ...(weights.indexFile ? [weights.indexFile] : [])].map((f) => path.basename(f)));
  const out: Array<{ name: string; size: number }> = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name.startsWith('.') || name === META_FILE) continue;
    const isWeight = weightNames.has(name);
    if (!isWeight && (!/\.(json|model|txt)$/i.test(name) || name.endsWith('.index.json'))) continue;
    let s;
    try {
      s = await stat(path.join(dir, name));
    } catch (e) {
      throw new LongreadError('model-file-missing', `${path.join(dir, name)} cannot be read: ${(e as Error).message}`, { file: path.join(dir, name), cause: e });
    }
    if (s.isFile()) out.push({ name, size: s.size });
  }
  return out;
}

/** A Hugging Face cache snapshot folder (…/models--ORG--NAME/snapshots/HASH) is named after its repo. */
export function displayNameOf(dir: string): string {
  const m = /(?:^|[\\/])models--([^\\/]+?)--([^\\/]+)[\\/]snapshots[\\/][^\\/]+[\\/]?$/.exec(dir);
  return m ? `${m[1]}/${m[2]}` : path.basename(dir);
}

/**
 * The models the assistant can use: the bundled default (`<repo>/models/default`, or the folder
 * the host names, or LONGREAD_MODEL) and models imported into `<home>/models/<id>/`. The active
 * choice is kept in `<home>/models/active.json`.
 */
export class ModelRegistry {
  readonly root: string;

  constructor(
    home: string,
    private readonly bundledDir: string,
  ) {
    this.root = path.join(home, MODELS_DIR);
  }

  private bundled(): ModelEntry | null {
    if (!existsSync(path.join(this.bundledDir, 'config.json'))) return null;
    const precision = precisionOf(readRecord(path.join(this.root, BUNDLED_RECORD)), BUNDLED_PRECISION);
    return { id: BUNDLED_ID, name: 'Longread default', dir: this.bundledDir, bundled: true, summaries: 'extractive', answers: 'passages', precision };
  }

  private imported(): ModelEntry[] {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return [];
    }
    const out: ModelEntry[] = [];
    for (const id of names.sort()) {
      const dir = path.join(this.root, id);
      if (id.startsWith('.') || !existsSync(path.join(dir, 'config.json'))) continue;
      // no metadata: the folder name is the name
      const record = readRecord(path.join(dir, META_FILE));
      const name = typeof record.name === 'string' ? record.name : id;
      out.push({ id, name, dir, bundled: false, summaries: 'abstractive', answers: 'whole', precision: precisionOf(record, IMPORTED_PRECISION) });
    }
    return out;
  }

  entries(): ModelEntry[] {
    const b = this.bundled();
    return [...(b ? [b] : []), ...this.imported()];
  }

  get(id: string): ModelEntry {
    const e = this.entries().find((m) => m.id === id);
    if (!e) throw new LongreadError('model-not-found', `There is no model "${id}" (\`longread models list\` shows the installed ones).`);
    return e;
  }

  /** The chosen model, else the bundled one, else the first imported; null when there is none. */
  active(): ModelEntry | null {
    const all = this.entries();
    const chosen = this.readActive();
    return all.find((m) => m.id === chosen) ?? all[0] ?? null;
  }

  /** The active model as ingest counts tokens with it, or null when there is none. */
  countingModel(): CountingModel | null {
    const a = this.active();
    return a ? { modelId: a.id, dir: a.dir } : null;
  }

  setActive(id: string): ModelEntry {
    const e = this.get(id);
    mkdirSync(this.root, { recursive: true, mode: PRIVATE_DIR_MODE });
    const tmp = path.join(this.root, `.active-${randomBytes(4).toString('hex')}`);
    writeFileSync(tmp, JSON.stringify({ id }), { mode: PRIVATE_FILE_MODE });
    renameSync(tmp, path.join(this.root, ACTIVE_FILE));
    return e;
  }

  /** Sets the precision the model's engine runs in (kept in the model's record; the bundled one's in the models folder). */
  setPrecision(id: string, precision: Precision): ModelEntry {
    const e = this.get(id);
    if (e.bundled) {
      mkdirSync(this.root, { recursive: true, mode: PRIVATE_DIR_MODE });
      writeJsonAtomically(path.join(this.root, BUNDLED_RECORD), { precision });
    } else {
      const file = path.join(e.dir, META_FILE);
      writeJsonAtomically(file, { ...readRecord(file), precision });
    }
    return this.get(id);
  }

  list(): ModelInfo[] {
    const active = this.active()?.id;
    return this.entries().map((m) => ({ ...m, active: m.id === active, parameters: this.parameters(m.dir) }));
  }

  /** Parameters by arithmetic on config.json, cached until the file changes; 0 when it cannot be read. */
  private readonly parameterCache = new Map<string, { stamp: string; count: number }>();
  private parameters(dir: string): number {
    let stamp: string;
    try {
      const s = statSync(path.join(dir, 'config.json'));
      stamp = `${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch {
      return 0;
    }
    const hit = this.parameterCache.get(dir);
    if (hit && hit.stamp === stamp) return hit.count;
    let count = 0;
    try {
      count = parameterCount(readT5Config(dir).config);
    } catch {
      count = 0;
    }
    this.parameterCache.set(dir, { stamp, count });
    return count;
  }

  /**
   * Copies a Hugging Face folder into `<home>/models/<id>/` and makes it active. The source's
   * config and file list are checked first (cheap, so a wrong folder is refused before gigabytes are
   * copied); `validate` then runs on the copy under a temporary name, so what is checked is what is
   * kept, and the copy is renamed into place only when it passed.
   */
  async import(
    dir: string,
    validate: (dir: string) => Promise<ModelFacts>,
    onProgress?: (p: { done: number; total: number }) => void,
    precision: Precision = IMPORTED_PRECISION,
  ): Promise<ModelEntry> {
    const source = path.resolve(dir);
    let isDir = false;
    try {
      isDir = (await stat(source)).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new LongreadError('model-not-found', `${source} does not exist or is not a folder`, { file: source });
    readT5Config(source);
    const files = await modelFilesOf(source);
    const total = files.reduce((a, f) => a + f.size, 0);
    await mkdir(this.root, { recursive: true, mode: PRIVATE_DIR_MODE });
    const name = displayNameOf(source);
    const id = this.freeId(slug(name.split('/').pop()!));
    const temp = path.join(this.root, `.import-${randomBytes(6).toString('hex')}`);
    await mkdir(temp, { mode: PRIVATE_DIR_MODE });
    try {
      try {
        let done = 0;
        onProgress?.({ done, total });
        for (const f of files) {
          await copyFile(path.join(source, f.name), path.join(temp, f.name));
          await chmod(path.join(temp, f.name), PRIVATE_FILE_MODE); // a copy takes its source's mode
          done += f.size;
          onProgress?.({ done, total });
        }
      } catch (e) {
        throw new LongreadError('model-import-failed', `Copying ${source} into ${this.root} failed: ${(e as Error).message}`, { file: source, cause: e });
      }
      try {
        await validate(temp);
      } catch (e) {
        throw nameSource(e, temp, source);
      }
      writeFileSync(path.join(temp, META_FILE), JSON.stringify({ id, name, source, importedAt: new Date().toISOString(), precision }), { mode: PRIVATE_FILE_MODE });
      await rename(temp, path.join(this.root, id));
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      throw e;
    }
    this.setActive(id);
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    const e = this.get(id);
    if (e.bundled) throw new LongreadError('model-bundled', `"${id}" is the bundled model (${e.dir}); it cannot be removed.`, { file: e.dir });
    const trash = path.join(this.root, `.removed-${randomBytes(6).toString('hex')}`);
    await rename(e.dir, trash);
    await rm(trash, { recursive: true, force: true });
    if (this.readActive() === id) await rm(path.join(this.root, ACTIVE_FILE), { force: true });
  }

  /**
   * Changes when the model's files change: part of every cache key, so answers of a model
   * re-imported under the same id are not mixed up with the old one's.
   */
  fingerprint(e: ModelEntry): string {
    const h = createHash('sha256');
    try {
      h.update(readFileSync(path.join(e.dir, 'config.json')));
      // its token ids change what generation starts and stops with
      if (existsSync(path.join(e.dir, 'generation_config.json'))) h.update(readFileSync(path.join(e.dir, 'generation_config.json')));
      for (const f of readdirSync(e.dir).filter((n) => n.endsWith('.safetensors') || n.endsWith('.bin') || n === 'tokenizer.json' || n === 'spiece.model').sort()) {
        const s = statSync(path.join(e.dir, f));
        h.update(`${f}:${s.size}:${s.mtimeMs}|`);
      }
    } catch {
      // unreadable folder: the engine will say why when it opens
    }
    // int8 answers differ from fp32 ones, and a changed precision must start a new engine
    h.update(`precision:${e.precision}`);
    return `${e.id}@${h.digest('hex').slice(0, 16)}`;
  }

  private readActive(): string | null {
    try {
      return (JSON.parse(readFileSync(path.join(this.root, ACTIVE_FILE), 'utf8')) as { id?: string }).id ?? null;
    } catch {
      return null;
    }
  }

  private freeId(base: string): string {
    const taken = new Set(this.entries().map((m) => m.id));
    if (!taken.has(base) && !existsSync(path.join(this.root, base))) return base;
    for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`) && !existsSync(path.join(this.root, `${base}-${i}`))) return `${base}-${i}`;
  }
}

function slug(name: string): string {
  const s = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|-+$/g, '').slice(0, 60);
  return s && s !== BUNDLED_ID ? s : 'model';
}

/** An error about the temporary copy, told about the user's folder (the same files). */
function nameSource(e: unknown, temp: string, source: string): unknown {
  if (!(e instanceof LongreadError)) return e;
  const swap = (t: string) => t.split(temp).join(source);
  const out = new LongreadError(e.code, swap(e.message), { file: e.file === undefined ? undefined : swap(e.file), cause: e });
  return out;
}
