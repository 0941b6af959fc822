import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CachedModel } from '../../common/api';
import { LongreadError } from '../../common/errors';
import { parseT5Config } from '../../engine/checkpoint/config';
import { modelFilesOf } from './models';

/**
 * Models already in the user's Hugging Face cache (what `huggingface_hub` downloaded), found
 * offline: nothing is downloaded. The cache keeps `models--ORG--NAME/snapshots/<commit>/` folders
 * whose files are symbolic links into `../../blobs`, and `refs/main` naming the current commit.
 */

/** The hub cache folder, as huggingface_hub finds it: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return path.resolve(env.HF_HUB_CACHE);
  if (env.HUGGINGFACE_HUB_CACHE) return path.resolve(env.HUGGINGFACE_HUB_CACHE);
  if (env.HF_HOME) return path.resolve(env.HF_HOME, 'hub');
  const cache = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(cache, 'huggingface', 'hub');
}

/** `org/name` (or a bare legacy `name` such as t5-small), as the Hub spells repo ids. */
const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export function looksLikeRepoId(arg: string): boolean {
  return REPO_ID.test(arg) && !arg.includes('..');
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The snapshot `refs/main` names, else the most recently written one; null when there is none. */
function snapshotOf(repoDir: string): string | null {
  const snapshots = path.join(repoDir, 'snapshots');
  try {
    const ref = readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8').trim();
    if (/^[0-9a-f]{6,64}$/i.test(ref) && isDir(path.join(snapshots, ref))) return path.join(snapshots, ref);
  } catch {
    // no refs/main: fall back to the newest snapshot
  }
  let names: string[];
  try {
    names = readdirSync(snapshots).filter((n) => !n.startsWith('.') && isDir(path.join(snapshots, n)));
  } catch {
    return null;
  }
  const newest = names.map((n) => ({ n, t: statSync(path.join(snapshots, n)).mtimeMs })).sort((a, b) => b.t - a.t || (a.n < b.n ? -1 : 1))[0];
  return newest ? path.join(snapshots, newest.n) : null;
}

/**
 * The snapshot folder of `repoId` in the cache. Throws a typed error saying where it looked when
 * the repo or its snapshot is not there.
 */
export function findCachedRepo(repoId: string, env: NodeJS.ProcessEnv = process.env): string {
  const hub = hubCacheDir(env);
  const repoDir = path.join(hub, `models--${repoId.split('/').join('--')}`);
  const snapshot = isDir(repoDir) ? snapshotOf(repoDir) : null;
  if (!snapshot || !existsSync(path.join(snapshot, 'config.json'))) {
    const where = isDir(repoDir) ? `${repoDir} has no snapshot with a config.json` : `there is no ${repoDir}`;
    throw new LongreadError(
      'model-not-found',
      `"${repoId}" is not a folder and is not in the Hugging Face cache (${where}; the cache is HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). Longread downloads nothing: fetch it with huggingface_hub first, or give the model folder.`,
      { file: repoDir },
    );
  }
  return snapshot;
}

/** What `longread models import ARG` imports: ARG as a folder (a cache repo folder means its snapshot), else a repo id in the cache. */
export function resolveModelSource(arg: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const asPath = path.resolve(cwd, arg);
  if (isDir(asPath)) {
    if (/^models--/.test(path.basename(asPath)) && isDir(path.join(asPath, 'snapshots'))) return snapshotOf(asPath) ?? asPath;
    return asPath;
  }
  if (looksLikeRepoId(arg)) return findCachedRepo(arg, env);
  return asPath; // the import names the missing folder
}

/** The T5 models in the cache that an import could take (config.json is T5, weights and tokenizer.json present). */
export async function listCachedModels(env: NodeJS.ProcessEnv = process.env): Promise<CachedModel[]> {
  const hub = hubCacheDir(env);
  let names: string[];
  try {
    names = readdirSync(hub);
  } catch {
    return [];
  }
  const out: CachedModel[] = [];
  for (const name of names.sort()) {
    const m = /^models--(.+)$/.exec(name);
    if (!m) continue;
    const repoId = m[1]!.split('--').join('/');
    const snapshot = snapshotOf(path.join(hub, name));
    if (!snapshot) continue;
    try {
      const info = parseT5Config(readFileSync(path.join(snapshot, 'config.json'), 'utf8'), path.join(snapshot, 'config.json'));
      if (info.encoderOnly || !existsSync(path.join(snapshot, 'tokenizer.json'))) continue;
      const files = await modelFilesOf(snapshot);
      out.push({ repoId, path: snapshot, sizeBytes: files.reduce((a, f) => a + f.size, 0) });
    } catch {
      // not a T5 model, no weights, or a link to a blob never downloaded: not offered
    }
  }
  return out;
}
