import { statSync } from 'node:fs';
import type { Checkpoint, T5Config } from './checkpoint/types';
import type { GraphBuilder } from './graph/builder';
import { decoderStepGraph } from './graph/decoder-graphs';
import {
  encoderFarTilesGraph,
  encoderFarUniformTilesGraph,
  encoderRowsTileGraph,
  encoderKvGraph,
  encoderNearTileGraph,
  encoderOutputGraph,
  encoderQueryGraph,
  encoderPositionBias,
  encoderSelectGraph,
} from './graph/encoder-graphs';
import { checkpointBytes, estimateMemory, systemMemoryLimits, type MemoryEstimate, type MemoryLimits, type MemoryRequest } from './memory';
import type { Precision } from './graph/quantize';
import { cachedGraph, graphCacheDir, graphCacheDirs, pruneGraphCache } from './runtime/graph-cache';
import { defaultThreads, openSession, type ExecutionProvider, type LoadedSession, type RuntimeOptions } from './runtime/onnx';

export interface ModelOptions extends RuntimeOptions {
  /** Where compiled graphs are cached; defaults to `<model dir>/.longread-cache`. */
  cacheRoot?: string;
  /** fp32 (default), or int8 weights for every linear layer with activations quantized per call (engine/graph/quantize.ts). */
  precision?: Precision;
  /** The memory a request may use (tests inject small limits); defaults to the machine's or the cgroup's. */
  memoryLimits?: () => MemoryLimits;
}

/**
 * A checkpoint's ONNX graphs, built on first use, cached on disk under the checkpoint's hash,
 * and opened as ONNX Runtime sessions. Everything numeric that the engine runs goes through here.
 */
export class T5Model {
  readonly config: T5Config;
  readonly cacheDir: string;
  readonly precision: Precision;
  private readonly sessions = new Map<string, Promise<LoadedSession>>();
  private actualProvider: ExecutionProvider | undefined;
  private readonly options: ModelOptions;
  private readonly weightBytes: number;
  private sessionBytes = 0;
  private bias: ReturnType<typeof encoderPositionBias> | undefined;

  constructor(
    readonly checkpoint: Checkpoint,
    options: ModelOptions = {},
  ) {
    // Warn about a provider fallback once per model, not once per graph.
    let warned = false;
    this.options = {
      ...options,
      onWarning: (w) => {
        if (!warned) options.onWarning?.(w);
        warned = true;
      },
    };
    this.config = checkpoint.config;
    this.weightBytes = checkpointBytes(checkpoint);
    this.precision = options.precision ?? 'fp32';
    this.cacheDir = graphCacheDir(checkpoint, options.cacheRoot, this.precision);
    pruneGraphCache(graphCacheDirs(checkpoint, options.cacheRoot));
  }

  /** The provider sessions actually run on (known after the first session is opened). */
  get provider(): ExecutionProvider | undefined {
    return this.actualProvider;
  }

  /** Threads one operator may use. */
  get threads(): number {
    return this.options.threads ?? defaultThreads();
  }

  private session(name: string, build: () => GraphBuilder, arena = false): Promise<LoadedSession> {
    let s = this.sessions.get(name);
    if (!s) {
      s = (async () => {
        const file = cachedGraph(this.cacheDir, name, build);
        const loaded = await openSession(file, { ...this.options, arena });
        this.actualProvider = loaded.provider;
        this.sessionBytes += graphWeightBytes(file);
        return loaded;
      })();
      s.catch(() => this.sessions.delete(name));
      this.sessions.set(name, s);
    }
    return s;
  }

  /** What a request of n tokens will hold at its peak (see engine/memory.ts). */
  memoryEstimate(req: MemoryRequest): MemoryEstimate {
    return estimateMemory(this.config, this.weightBytes, req);
  }

  /** What the model holds already: its checkpoint and the weights of the sessions opened so far. */
  get heldBytes(): number {
    return this.weightBytes + this.sessionBytes;
  }

  memoryLimits(): MemoryLimits {
    return (this.options.memoryLimits ?? systemMemoryLimits)();
  }

  encoderKv(layer: number): Promise<LoadedSession> {
    return this.session(`encoder_${layer}_kv`, () => encoderKvGraph(this.checkpoint, layer, this.precision));
  }

  /** A layer's keys alone, for VCC's selection scores. */
  encoderKeys(layer: number): Promise<LoadedSession> {
    return this.session(`encoder_${layer}_k`, () => encoderKvGraph(this.checkpoint, layer, this.precision, true));
  }

  /** The encoder's relative position bias table (2L+1, H) over key − query position ∈ [−L, L]. */
  positionBias(): { table: Float32Array; maxDistance: number } {
    return (this.bias ??= encoderPositionBias(this.checkpoint));
  }

  encoderQuery(layer: number): Promise<LoadedSession> {
    return this.session(`encoder_${layer}_query`, () => encoderQueryGraph(this.checkpoint, layer, this.precision));
  }

  /** One key tile of attention with the position bias gathered per (query, key); shared by all layers. */
  encoderNearTile(): Promise<LoadedSession> {
    return this.session('encoder_attn_near', () => encoderNearTileGraph(this.checkpoint), true);
  }

  /** Runs of key tiles of attention whose position bias is one constant per head; shared by all layers. */
  encoderFarTiles(): Promise<LoadedSession> {
    return this.session('encoder_attn_far_tiles', () => encoderFarTilesGraph(this.checkpoint), true);
  }

  /** Runs of far tiles whose key bias is one constant per sequence: the bias is one number per (sequence, head). */
  encoderFarUniformTiles(): Promise<LoadedSession> {
    return this.session('encoder_attn_far_uniform_tiles', () => encoderFarUniformTilesGraph(this.checkpoint), true);
  }

  /** Attention of query rows to every key of a short sequence with consecutive positions; shared by all layers. */
  encoderRowsTile(): Promise<LoadedSession> {
    return this.session('encoder_attn_rows', () => encoderRowsTileGraph(this.checkpoint), true);
  }

  encoderOutput(layer: number): Promise<LoadedSession> {
    return this.session(`encoder_${layer}_output`, () => encoderOutputGraph(this.checkpoint, layer, this.precision));
  }

  encoderSelect(layer: number): Promise<LoadedSession> {
    return this.session(`encoder_${layer}_select`, () => encoderSelectGraph(this.checkpoint, layer, this.precision));
  }

  decoderStep(): Promise<LoadedSession> {
    return this.session('decoder_step', () => decoderStepGraph(this.checkpoint, this.precision));
  }

  /** Builds and opens every graph the dense path needs, so the first request does not pay for it. */
  async warmUp(): Promise<void> {
    for (let l = 0; l < this.config.numLayers; l++) {
      await this.encoderKv(l);
      await this.encoderQuery(l);
      await this.encoderOutput(l);
    }
    await this.encoderNearTile();
    await this.encoderFarTiles();
    await this.encoderFarUniformTiles();
    await this.encoderRowsTile();
    await this.decoderStep();
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.sessionBytes = 0;
    for (const s of all) {
      try {
        await (await s).session.release();
      } catch {
        // a session that failed to open has nothing to release
      }
    }
  }
}

/** The size of a cached graph's external weights file (0 when it has none). */
function graphWeightBytes(modelFile: string): number {
  try {
    return statSync(`${modelFile}.data`).size;
  } catch {
    return 0;
  }
}
