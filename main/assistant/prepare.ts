import type { CompressionPreset, PrepareResult } from '../../common/api';
import type { Library } from '../library/library';
import { preparedManifestKey, segmentStateKey } from '../library/engine-state';
import type { JobContext } from './job-queue';
import { vccSettingsFor } from './presets';
import type { ReadableDocument } from './reading';
import type { ModelRuntime } from './runtime';

export interface PrepareEnv {
  library: Library;
  runtime: ModelRuntime;
  compression: CompressionPreset;
}

/**
 * Makes a document ready for fast questions: the local layers of VCC's cached layout run once
 * over all of its tokens, segment by segment, and their states go to the engine-state store.
 * A question then reads them back for every segment it feeds (the whole document, or windows
 * the assistant cuts on segment boundaries, see alignWindows) and runs only the VCC layers.
 */
export async function prepareDocument(ctx: JobContext, env: PrepareEnv, doc: ReadableDocument): Promise<PrepareResult> {
  const t0 = performance.now();
  const facts = await env.runtime.open(ctx);
  const tokens = await env.runtime.tokens(ctx, doc.id, doc.text);
  ctx.progress('encoding', { fraction: 0, detail: 'preparing for fast questions' });
  const { segments, alreadyStored } = await env.runtime.prepare(ctx, {
    documentIds: tokens.ids,
    vcc: vccSettingsFor(env.compression, facts.numLayers),
    localState: { docId: doc.id, modelId: env.runtime.key },
  });
  return { documentId: doc.id, model: env.runtime.entry.id, segments, alreadyStored, ms: performance.now() - t0 };
}

/** Whether the document's prepared states (all of them) are in the store for this model. */
export function isPrepared(library: Library, docId: string, modelKey: string): boolean {
  const store = library.engineState;
  let manifest: Buffer | null;
  try {
    manifest = store.get(preparedManifestKey(docId, modelKey));
  } catch {
    return false;
  }
  if (!manifest) return false;
  let keys: unknown;
  try {
    keys = JSON.parse(manifest.toString('utf8'));
  } catch {
    return false;
  }
  return Array.isArray(keys) && keys.length > 0 && keys.every((k) => typeof k === 'string') && store.hasAll((keys as string[]).map((k) => segmentStateKey(docId, modelKey, k)));
}
