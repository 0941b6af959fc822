import { mkdirSync, readdirSync, renameSync, rmSync, existsSync, openSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import path from 'node:path';
import type { Checkpoint } from '../checkpoint/types';
import type { GraphBuilder } from '../graph/builder';

/** Bump when the graphs' structure changes so old caches are not reused. */
export const GRAPH_FORMAT_VERSION = 4;

export function graphCacheDir(ckpt: Checkpoint, cacheRoot?: string): string {
  const root = cacheRoot ?? path.join(ckpt.dir, '.longread-cache');
  return path.join(root, `${ckpt.hash.slice(0, 20)}-g${GRAPH_FORMAT_VERSION}`);
}

function writeFileDurably(file: string, chunks: Uint8Array[]): void {
  const fd = openSync(file, 'w');
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
  mkdirSync(dir, { recursive: true });
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

/** Removes cache folders of other checkpoint versions and stray temporary files in this one. */
export function pruneGraphCache(dir: string): void {
  const root = path.dirname(dir);
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) {
    const full = path.join(root, entry);
    if (full !== dir) rmSync(full, { recursive: true, force: true });
  }
  if (existsSync(dir)) {
    for (const entry of readdirSync(dir)) if (entry.includes('.tmp-')) rmSync(path.join(dir, entry), { force: true });
  }
}
