import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelInfo } from '../../common/api';
import type { CountingModel } from '../../common/document';
import { LongreadError } from '../../common/errors';
import { readT5Config } from '../../engine/checkpoint/config';
import { expectedWeightShapes } from '../../engine/checkpoint/weights';
import type { ModelFacts } from './types';

export const BUNDLED_ID = 'default';
export const MODELS_DIR = 'models';
const ACTIVE_FILE = 'active.json';
const META_FILE = 'longread-model.json';

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
}

/** Files of a Hugging Face folder an import copies: config, safetensors weights, tokenizer files. */
function isModelFile(name: string): boolean {
  if (name.startsWith('.')) return false;
  if (/\.(bin|h5|msgpack|ot|onnx|onnx\.data|pt|ckpt)$/i.test(name)) return false;
  return /\.(json|safetensors|model|txt)$/i.test(name);
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
    return { id: BUNDLED_ID, name: 'Longread default', dir: this.bundledDir, bundled: true, summaries: 'extractive', answers: 'passages' };
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
      let name = id;
      try {
        name = (JSON.parse(readFileSync(path.join(dir, META_FILE), 'utf8')) as { name?: string }).name ?? id;
      } catch {
        // no metadata: the folder name is the name
      }
      out.push({ id, name, dir, bundled: false, summaries: 'abstractive', answers: 'whole' });
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
    mkdirSync(this.root, { recursive: true });
    const tmp = path.join(this.root, `.active-${randomBytes(4).toString('hex')}`);
    writeFileSync(tmp, JSON.stringify({ id }));
    renameSync(tmp, path.join(this.root, ACTIVE_FILE));
    return e;
  }

  list(): ModelInfo[] {
    const active = this.active()?.id;
    return this.entries().map((m) => ({ ...m, active: m.id === active, parameters: parameterCount(m.dir) }));
  }

  /**
   * Copies a validated folder into `<home>/models/<id>/` (under a temporary name, renamed into
   * place when complete) and makes it active.
   */
  async import(dir: string, validate: (dir: string) => Promise<ModelFacts>, onProgress?: (p: { done: number; total: number }) => void): Promise<ModelEntry> {
    const source = path.resolve(dir);
    let isDir = false;
    try {
      isDir = (await stat(source)).isDirectory();
    } catch {
      isDir = false;
    }
    if (!isDir) throw new LongreadError('model-not-found', `${source} does not exist or is not a folder`, { file: source });
    await validate(source);
    const files = (await readdir(source, { withFileTypes: true })).filter((f) => f.isFile() && isModelFile(f.name)).map((f) => f.name);
    const sizes = await Promise.all(files.map(async (f) => (await stat(path.join(source, f))).size));
    const total = sizes.reduce((a, b) => a + b, 0);
    await mkdir(this.root, { recursive: true });
    const id = this.freeId(slug(path.basename(source)));
    const temp = path.join(this.root, `.import-${randomBytes(6).toString('hex')}`);
    await mkdir(temp);
    try {
      let done = 0;
      onProgress?.({ done, total });
      for (let i = 0; i < files.length; i++) {
        await copyFile(path.join(source, files[i]!), path.join(temp, files[i]!));
        done += sizes[i]!;
        onProgress?.({ done, total });
      }
      writeFileSync(path.join(temp, META_FILE), JSON.stringify({ id, name: path.basename(source), source, importedAt: new Date().toISOString() }));
      await rename(temp, path.join(this.root, id));
    } catch (e) {
      await rm(temp, { recursive: true, force: true });
      throw new LongreadError('model-import-failed', `Copying ${source} into ${this.root} failed: ${(e as Error).message}`, { file: source, cause: e });
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
      for (const f of readdirSync(e.dir).filter((n) => n.endsWith('.safetensors') || n === 'tokenizer.json').sort()) {
        const s = statSync(path.join(e.dir, f));
        h.update(`${f}:${s.size}:${s.mtimeMs}|`);
      }
    } catch {
      // unreadable folder: the engine will say why when it opens
    }
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

/** Parameters from config.json's shapes (no weights are read); 0 when the config cannot be read. */
function parameterCount(dir: string): number {
  try {
    let n = 0;
    for (const shape of expectedWeightShapes(readT5Config(dir).config).values()) n += shape.reduce((a, b) => a * b, 1);
    return n;
  } catch {
    return 0;
  }
}
