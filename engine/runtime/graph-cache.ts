import { mkdirSync, readdirSync, renameSync, rmSync, existsSync, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import path from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../common/file-modes';
import type { Checkpoint } from '../checkpoint/types';
import type { GraphBuilder } from '../graph/builder';
import { PRECISIONS, type Precision } from '../graph/quantize';

/** Bump when the graphs' structure changes so old caches are not reused. */
export const GRAPH_FORMAT_VERSION = 6;

/** The cache folder of a checkpoint's graphs in one precision: `<hash>-g<format>` for fp32, `<hash>-g<format>-int8` for int8. */
export function graphCacheDir(ckpt: Checkpoint, cacheRoot: string | undefined, precision: Precision): string {
  const root = cacheRoot ?? path.join(ckpt.dir, '.longread-cache');
  const base = `${ckpt.hash.slice(0, 20)}-g${GRAPH_FORMAT_VERSION}`;
  return path.join(root, precision === 'fp32' ? base : `${base}-${precision}`);
}

/** The cache folders of this checkpoint and graph format in every precision (switching precision keeps the other's graphs). */
export function graphCacheDirs(ckpt: Checkpoint, cacheRoot?: string): string[] {
  return PRECISIONS.map((p) => graphCacheDir(ckpt, cacheRoot, p));
}

function writeFileDurably(file: string, chunks: Uint8Array[]): void {
  const fd = openSync(file, 'w', PRIVATE_FILE_MODE);
  try {
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Returns the path of the cached .onnx for `name`, building and writing it first if needed.
 * The data file is written before the model file, each under a temporary name renamed into
 * place, so a model file that exists is always complete; a failed build leaves nothing behind.
 */
export function cachedGraph(dir: string, name: string, build: () => GraphBuilder): string {
  const modelPath = path.join(dir, `${name}.onnx`);
  if (existsSync(modelPath)) return modelPath;
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const dataName = `${name}.onnx.data`;
  const tmpSuffix = `.tmp-${process.pid}-${Date.now()}`;
  const tmpData = path.join(dir, dataName + tmpSuffix);
  const tmpModel = modelPath + tmpSuffix;
  try {
    const serialized = build().serialize(dataName);
    writeFileDurably(tmpData, serialized.externalData);
    renameSync(tmpData, path.join(dir, dataName));
    writeFileDurably(tmpModel, [serialized.model]);
    renameSync(tmpModel, modelPath);
  } catch (e) {
    rmSync(tmpData, { force: true });
    rmSync(tmpModel, { force: true });
    throw e;
  }
  return modelPath;
}

/**
 * Removes cache folders of other checkpoint versions and graph formats (everything beside `keep`,
 * which share one parent) and stray temporary files in the kept ones.
 */
export function pruneGraphCache(keep: string[]): void {
  if (keep.length === 0) return;
  const root = path.dirname(keep[0]);
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) {
    const full = path.join(root, entry);
    if (!keep.includes(full)) rmSync(full, { recursive: true, force: true });
  }
  for (const dir of keep) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir)) if (entry.includes('.tmp-')) rmSync(path.join(dir, entry), { force: true });
  }
}
