// The assistant's engine as a message loop (run by the engine process, engine-process-main.ts,
// whatever carries its messages): one model, one request at a time. Tokenizes, encodes (VCC,
// local-layer states kept in the library's engine-state store), generates, and streams progress
// and text back. An 'abort' message stops the request at the next layer or token.
import { createHash } from 'node:crypto';
import { LongreadError } from '../../common/errors';
import { loadCheckpoint } from '../../engine/checkpoint/load';
import { Engine } from '../../engine/engine';
import { qaFollowUpQuery } from '../../engine/qa-format';
import type { T5Tokenizer } from '../../engine/tokenizer';
import { loadTokenizer } from '../../engine/tokenizer';
import type { LocalStateCache } from '../../engine/vcc/encoder';
import { openDatabase, type Db } from '../library/database';
import { toWireError, type ParentLink } from '../process/child-link';
import { EngineStateStore, preparedManifestKey, segmentStateKey } from '../library/engine-state';
import { fineBlocksWithEvidence } from './presets';
import type { EngineTask, EngineTaskResult, FromWorker, ModelFacts, PrepareTask, ToWorker, WorkerInit } from './types';

type EngineLink = ParentLink<ToWorker, FromWorker>;

/** Serves one model's engine over `link`; the first message must be 'init'. */
export function serveEngine(link: EngineLink): void {
  let init: WorkerInit | null = null;
  let loop: ((m: ToWorker) => void) | null = null;
  link.onMessage((m) => {
    if (m.type === 'init') {
      if (!init) {
        init = m.init;
        loop = engineLoop(init, link);
      }
      return;
    }
    loop?.(m);
  });
  link.post({ type: 'ready' });
}

function engineLoop(init: WorkerInit, link: EngineLink): (m: ToWorker) => void {
  const post = (m: FromWorker) => link.post(m);

  let engine: Engine | null = null;
  let tokenizer: T5Tokenizer | null = null;
  let store: EngineStateStore | null = null;
  let storeDb: Db | null = null;
  const aborts = new Map<number, AbortController>();
  const inflight = new Set<Promise<void>>();

  async function open(): Promise<ModelFacts> {
    engine ??= await Engine.open(init.modelDir, { threads: init.threads, provider: init.provider, precision: init.precision, cacheRoot: init.graphCacheRoot });
    tokenizer ??= await engine.tokenizer();
    const c = engine.model.checkpoint;
    return { hash: c.hash, parameters: parameters(c.weights), numLayers: c.config.numLayers, vocabSize: c.config.vocabSize };
  }

  function engineState(): EngineStateStore | null {
    if (!init.engineState) return null;
    if (!store) {
      storeDb = openDatabase(init.engineState.databaseFile).db;
      store = new EngineStateStore(storeDb, init.engineState.dir, init.engineState.capBytes);
    }
    return store;
  }

  async function run(id: number, task: EngineTask, signal: AbortSignal): Promise<EngineTaskResult> {
    await open();
    const tok = tokenizer!;
    const query = task.query.kind === 'qa' ? qaFollowUpQuery(tok, task.query.question, task.query.previous, task.vcc.vipTokens) : { text: task.query.text, ids: tok.encode(task.query.text, { addEos: false }) };
    const queryIds = query.ids;
    const documentIds = Array.from(task.documentIds);
    const vcc = { ...task.vcc };
    const dense = task.attention === 'dense';
    if (task.ensureEvidence && !dense) vcc.fineBlocks = fineBlocksWithEvidence(vcc, queryIds.length + documentIds.length - Math.min(vcc.vipTokens, queryIds.length + documentIds.length));
    const states = task.localState && !dense ? engineState() : null;
    const local = states && task.localState ? localCache(states, task.localState.docId, task.localState.modelId) : null;
    const t0 = performance.now();
    const encoded = await engine!.encode({
      queryIds,
      documentIds,
      attention: dense ? 'dense' : 'vcc',
      vcc,
      signal,
      localCache: local?.cache,
      onProgress: progressReporter(id),
    });
    if (signal.aborted) throw new LongreadError('cancelled', 'Encoding was cancelled.');
    local?.commit();
    const encodeMs = performance.now() - t0;
    const encoderHash = init.reportEncoderHash ? createHash('sha256').update(new Uint8Array(encoded.hidden.buffer, encoded.hidden.byteOffset, encoded.hidden.byteLength)).digest('hex') : undefined;

    let text: string | null = null;
    let outputIds: number[] = [];
    let logProb = 0;
    const t1 = performance.now();
    if (task.generate) {
      post({ type: 'progress', id, stage: 'generating', fraction: 0 });
      const streamed: number[] = [];
      let printed = '';
      const result = await engine!.generate(encoded, {
        maxNewTokens: task.generate.maxNewTokens,
        numBeams: task.generate.numBeams,
        quoteFrom: task.generate.quote ? documentIds : undefined,
        signal,
        onToken: (tokenId) => {
          streamed.push(tokenId);
          const now = tok.decode(streamed, { skipSpecial: true });
          if (now.startsWith(printed) && now.length > printed.length) {
            post({ type: 'token', id, text: now.slice(printed.length) });
            printed = now;
          }
          const seconds = (performance.now() - t1) / 1000;
          post({ type: 'progress', id, stage: 'generating', fraction: streamed.length / task.generate!.maxNewTokens, tokensPerSecond: seconds > 0 ? streamed.length / seconds : undefined });
        },
      });
      outputIds = result.outputIds;
      logProb = result.score;
      const final = tok.decode(outputIds, { skipSpecial: true });
      // The answer is what was streamed; the final decode only adds what is still missing.
      if (final.startsWith(printed) && final.length > printed.length) {
        post({ type: 'token', id, text: final.slice(printed.length) });
        printed = final;
      }
      text = printed;
    }
    return {
      text,
      outputIds,
      logProb,
      evidence: encoded.evidence,
      localCacheHit: encoded.localCacheHit,
      settings: encoded.settings ?? vcc,
      compressedLengths: encoded.compressedLengths,
      encoderHash,
      queryTokens: queryIds.length,
      queryText: query.text,
      timingsMs: { encode: encodeMs, generate: performance.now() - t1 },
    };
  }

  async function prepare(id: number, task: PrepareTask, signal: AbortSignal): Promise<{ segments: number; alreadyStored: number }> {
    await open();
    const states = engineState();
    if (!states) throw new LongreadError('invalid-argument', 'there is no engine-state store to keep prepared states in');
    const local = localCache(states, task.localState.docId, task.localState.modelId, true);
    const { localState } = task;
    const documentIds = Array.from(task.documentIds);
    const whole = await engine!.prepareLocalStates({ documentIds, vcc: task.vcc, localCache: local.cache, signal, onProgress: progressReporter(id) });
    // windows that end before the document does are fed with a </s> of their own: a segment of one token
    const eos = await engine!.prepareLocalStates({ documentIds: documentIds.slice(-1), vcc: task.vcc, localCache: local.cache, signal });
    if (signal.aborted) throw new LongreadError('cancelled', 'Preparing was cancelled.');
    const keys = [...whole.keys, ...eos.keys];
    const cached = whole.cached + eos.cached;
    states.put(preparedManifestKey(localState.docId, localState.modelId), new TextEncoder().encode(JSON.stringify(keys)));
    return { segments: keys.length, alreadyStored: cached };
  }

  /** Encoding progress as messages, at most every 100 ms (and always the last layer). */
  function progressReporter(id: number) {
    let lastReport = 0;
    return (p: { layer: number; layers: number }) => {
      const now = performance.now();
      if (now - lastReport < 100 && p.layer < p.layers) return;
      lastReport = now;
      post({ type: 'progress', id, stage: 'encoding', fraction: p.layer / p.layers });
    };
  }

  return (m: ToWorker) => {
    if (m.type === 'init') return;
    if (m.type === 'abort') {
      aborts.get(m.id)?.abort();
      return;
    }
    if (m.type === 'close') {
      void (async () => {
        // sessions are released only once no native call is running on them
        for (const c of aborts.values()) c.abort();
        await Promise.allSettled([...inflight]);
        await engine?.close().catch(() => {});
        storeDb?.close();
        post({ type: 'closed' });
        link.end();
      })();
      return;
    }
    const controller = new AbortController();
    aborts.set(m.id, controller);
    const work = async (): Promise<void> => {
      if (m.type === 'open') post({ type: 'opened', id: m.id, facts: await open() });
      else if (m.type === 'validate') post({ type: 'validated', id: m.id, facts: await validate(m.dir) });
      else if (m.type === 'tokenize') {
        await open();
        const r = tokenizer!.encodeWithOffsets(m.text, { addEos: true });
        const ids = Int32Array.from(r.ids);
        const offsets = new Int32Array(r.offsets.length * 2);
        r.offsets.forEach(([s, e], i) => {
          offsets[2 * i] = s;
          offsets[2 * i + 1] = e;
        });
        post({ type: 'tokenized', id: m.id, ids, offsets });
      } else if (m.type === 'run') post({ type: 'result', id: m.id, result: await run(m.id, m.task, controller.signal) });
      else if (m.type === 'prepare') post({ type: 'prepared', id: m.id, ...(await prepare(m.id, m.task, controller.signal)) });
    };
    const settled: Promise<void> = work()
      .catch((e) => post({ type: 'error', id: m.id, error: controller.signal.aborted ? { code: 'cancelled', message: 'The job was cancelled.', name: 'CancelledError' } : toWireError(e) }))
      .finally(() => {
        aborts.delete(m.id);
        inflight.delete(settled);
      });
    inflight.add(settled);
  };
}

function parameters(weights: Map<string, { data: Float32Array }>): number {
  let n = 0;
  for (const t of weights.values()) n += t.data.length;
  return n;
}


/** What an import checks: the checkpoint loads and matches its config, and the tokenizer loads and fits. */
async function validate(dir: string): Promise<ModelFacts> {
  const c = await loadCheckpoint(dir);
  const tok = await loadTokenizer(dir);
  if (tok.vocabSize > c.config.vocabSize) {
    throw new LongreadError('model-tokenizer-mismatch', `${dir}/tokenizer.json knows ${tok.vocabSize} tokens but config.json has vocab_size ${c.config.vocabSize}`, {
      file: `${dir}/tokenizer.json`,
    });
  }
  return { hash: c.hash, parameters: parameters(c.weights), numLayers: c.config.numLayers, vocabSize: c.config.vocabSize };
}


/**
 * Segments' local-layer states from the engine-state store, under the document they were read
 * in. An encode's new states are held until it has finished (`commit`), so a cancelled encode
 * writes nothing; a prepare run (`writeAtOnce`) stores each chunk as it is done.
 */
function localCache(s: EngineStateStore, docId: string, modelId: string, writeAtOnce = false) {
  let pending: Array<{ key: string; states: Float32Array }> = [];
  const write = (entries: Array<{ key: string; states: Float32Array }>) => {
    try {
      s.putMany(entries.map((e) => ({ key: segmentStateKey(docId, modelId, e.key), data: new Uint8Array(e.states.buffer, e.states.byteOffset, e.states.byteLength) })));
    } catch {
      // a cache that cannot be written (disk full, database busy) must not cost the answer
    }
  };
  const cache: LocalStateCache = {
    get(keys) {
      return keys.map((key) => {
        let buf: Buffer | null;
        try {
          buf = s.get(segmentStateKey(docId, modelId, key));
        } catch {
          return undefined; // the store is busy or unreadable: a miss, the layers simply run
        }
        if (!buf) return undefined;
        const bytes = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
        return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      });
    },
    set(entries) {
      if (writeAtOnce) write(entries);
      else pending.push(...entries);
    },
  };
  const commit = () => {
    write(pending);
    pending = [];
  };
  return { cache, commit };
}

