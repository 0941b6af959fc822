import ort from 'onnxruntime-node';
import { LongreadError } from '../../common/errors';
import { physicalCores } from './cpu-cores';
import { disableOrtTelemetry } from './telemetry';

disableOrtTelemetry();

export type ExecutionProvider = 'cpu' | 'cuda' | 'dml';

export interface RuntimeOptions {
  /** Threads for one operator (intra-op); defaults to the machine's physical cores (`defaultThreads`). */
  threads?: number;
  provider?: ExecutionProvider;
  /** Told once when the requested provider is unavailable and the CPU is used instead. */
  onWarning?: (message: string) => void;
}

export interface SessionOptions extends RuntimeOptions {
  /**
   * Keep ONNX Runtime's memory arena: for graphs run many times on tensors of one bounded size
   * (attention tiles), reusing memory beats allocating (and page-faulting) every intermediate.
   */
  arena?: boolean;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
}

/** One engine thread per physical core (hardware threads of one core share its vector units). */
export function defaultThreads(cores = physicalCores()): number {
  return Math.max(1, cores);
}



function sessionOptions(provider: ExecutionProvider, threads: number, arena: boolean): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    // Shapes change every call (query chunks, growing caches); a memory arena keeps peaks from piling up.
    enableCpuMemArena: arena,
    enableMemPattern: false,
    // Every session has its own intra-op pool, and the encoder calls several in turn (queries, key
    // tiles, output); a pool whose threads spin on after its call takes the cores from the next one.
    // Measured at 128K, t5-base: the local layers took 207 CPU seconds with spinning, 75 without.
    // On x86 CPUs without VNNI (AVX2 alone: AMD Zen 1–3, Intel before Ice Lake) ONNX Runtime's
    // u8×s8 int8 kernel adds pairs of products in saturating 16-bit lanes, which corrupts int8
    // MatMuls (relative error 1e-2 per product, 8e-2 through an encoder, measured on an EPYC 7003).
    // This option has it turn the int8 weights into u8 on such CPUs alone and use the exact u8×u8
    // kernel; elsewhere, and for fp32, it changes nothing.
    extra: { session: { intra_op: { allow_spinning: '0' }, x64quantprecision: '1' } },
  };
}

/** Providers that already failed in this process: not tried again (ONNX Runtime logs each failure loudly). */
const unavailableProviders = new Set<ExecutionProvider>();

/**
 * Opens an ONNX model file. If the requested execution provider cannot be used on this
 * machine, says so through `onWarning` and falls back to the CPU; a CPU failure is an error.
 */
export async function openSession(modelPath: string, opts: SessionOptions = {}): Promise<LoadedSession> {
  const threads = opts.threads ?? defaultThreads();
  const provider = opts.provider ?? 'cpu';
  if (provider !== 'cpu' && unavailableProviders.has(provider)) {
    opts.onWarning?.(`The ${provider.toUpperCase()} execution provider is not available here; using the CPU.`);
  } else if (provider !== 'cpu') {
    try {
      return { session: await ort.InferenceSession.create(modelPath, sessionOptions(provider, threads, opts.arena ?? false)), provider };
    } catch (e) {
      unavailableProviders.add(provider);
      opts.onWarning?.(
        `The ${provider.toUpperCase()} execution provider is not available here (${(e as Error).message.split('\n')[0]}); using the CPU.`,
      );
    }
  }
  try {
    return { session: await ort.InferenceSession.create(modelPath, sessionOptions('cpu', threads, opts.arena ?? false)), provider: 'cpu' };
  } catch (e) {
    throw new LongreadError('model-graph-invalid', `ONNX Runtime could not load ${modelPath}: ${(e as Error).message}`, {
      file: modelPath,
      cause: e,
    });
  }
}

export function f32(data: Float32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('float32', data, dims);
}

export function i64(data: BigInt64Array | number[], dims: number[]): ort.Tensor {
  const arr = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
  return new ort.Tensor('int64', arr, dims);
}

export async function run(
  s: LoadedSession,
  feeds: Record<string, ort.Tensor>,
): Promise<Record<string, ort.Tensor>> {
  return s.session.run(feeds);
}

export function floatData(t: ort.Tensor | undefined, what: string): Float32Array {
  if (!t || !(t.data instanceof Float32Array)) throw new Error(`graph output ${what} is missing or not float32`);
  return t.data;
}
