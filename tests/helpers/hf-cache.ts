import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Lays `modelDir` out as huggingface_hub does: files as blobs named by their hash, a snapshot of
 * symbolic links `../../blobs/<hash>`, and refs/main naming the snapshot (unless `ref` is false).
 */
export function cacheRepo(hub: string, repoId: string, modelDir: string, commit: string, ref = true): string {
  const repo = path.join(hub, `models--${repoId.replace('/', '--')}`);
  const snapshot = path.join(repo, 'snapshots', commit);
  mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const f of readdirSync(modelDir)) {
    const bytes = readFileSync(path.join(modelDir, f));
    const blob = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(path.join(repo, 'blobs', blob), bytes);
    symlinkSync(path.join('..', '..', 'blobs', blob), path.join(snapshot, f));
  }
  if (ref) {
    mkdirSync(path.join(repo, 'refs'), { recursive: true });
    writeFileSync(path.join(repo, 'refs', 'main'), commit);
  }
  return snapshot;
}
