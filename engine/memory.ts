import { readFileSync } from 'node:fs';
import os from 'node:os';
import { LongreadError } from '../common/errors';
import type { Checkpoint, T5Config } from './checkpoint/types';
import { DEFAULT_SCORE_BUDGET } from './encoder/layer-runner';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * What one encode + generate of n tokens holds at its peak, in bytes. Everything of size n is
 * counted from the engine's own buffers (float32, n·d each):
 *   dense: the states and one layer's keys and values;
 *   VCC:   the states (the difference store lives in them), the local layers' padded batch, the
 *          cached-layout copy handed to the local-state cache, and on a second question the
 *          cached states read back;
 * plus one more n·d in either case for output tensors and garbage V8 has not collected yet when
 * the next buffer is allocated (measured: tests/bench/real-scale.ts, /work/notes/mem.md).
 * The decoder cross-attends to the states themselves (no per-layer keys or values), so it adds
 * only its score rows, a few (beams·H·n) tensors per layer.
 */
export interface MemoryEstimate {
  /** The checkpoint's float32 weights held in JavaScript. */
  checkpointBytes: number;
  /** The weights again inside ONNX Runtime's sessions (the select graphs repeat each q projection). */
  sessionBytes: number;
  /** Encoder and decoder buffers that grow with n. */
  activationBytes: number;
  /** Node, V8, ONNX Runtime and per-layer working buffers that do not grow with n. */
  fixedBytes: number;
  totalBytes: number;
}

export interface MemoryRequest {
  /** Tokens encoded: question + document. */
  n: number;
  attention: 'dense' | 'vcc';
  beams?: number;
}

/** Memory the process may use: the machine's RAM or a tighter cgroup limit, and what is free now. */
export interface MemoryLimits {
  totalBytes: number;
  availableBytes: number;
  /** Where the limit comes from, for the message. */
  source: string;
}

/** Fixed overhead measured on an idle engine worker (Node + ONNX Runtime + graph build buffers), rounded up. */
const FIXED_BYTES = 320 * MiB;

export function checkpointBytes(ckpt: Checkpoint): number {
  let n = 0;
  for (const t of ckpt.weights.values()) n += t.data.byteLength;
  return n;
}

export function estimateMemory(config: T5Config, weightBytes: number, req: MemoryRequest): MemoryEstimate {
  const { dModel: d, numHeads: H, dKv: dk, numLayers: L, dFf: ff } = config;
  const n = req.n;
  const beams = req.beams ?? 1;
  const row = d * 4;
  const states = req.attention === 'dense' ? 4 * n * row : 5 * n * row;
  // Per token: positions (int64) and key bias in the local batch; per decoder layer and beam: score rows.
  const perToken = req.attention === 'dense' ? 12 : 12 + 8;
  const decoder = decoderBytes(config, n, beams);
  // VCC's selection keeps a keys-only graph per layer: its key projection a second time.
  const sessionBytes = weightBytes + L * d * H * dk * 4 * (req.attention === 'vcc' ? 2 : 1);
  // The attention tile in flight (within the score budget): scores, bias and probabilities; and FFN
  // work for 4,096 rows (a query chunk has 256; the rest is margin the measured peaks were checked with).
  const work = 3 * DEFAULT_SCORE_BUDGET * 4 + 4096 * (ff + 4 * d) * 4;
  const activationBytes = states + perToken * n + decoder;
  const fixedBytes = FIXED_BYTES + work;
  return { checkpointBytes: weightBytes, sessionBytes, activationBytes, fixedBytes, totalBytes: weightBytes + sessionBytes + activationBytes + fixedBytes };
}

/** The decoder's score rows per step: (beams·H, n) scores, their transpose, probabilities and one spare. */
export function decoderBytes(config: T5Config, n: number, beams: number): number {
  return 4 * beams * config.numHeads * n * 4;
}

function readNumber(file: string): number | undefined {
  try {
    const s = readFileSync(file, 'utf8').trim();
    if (s === 'max') return undefined;
    const v = Number(s);
    return Number.isFinite(v) && v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

function memAvailable(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return os.freemem();
}

/** The machine's memory and, on Linux, a cgroup (v2 or v1) limit when it is tighter. */
export function systemMemoryLimits(): MemoryLimits {
  const total = os.totalmem();
  let limits: MemoryLimits = { totalBytes: total, availableBytes: Math.min(total, memAvailable()), source: 'this machine' };
  const cgroups: Array<[string, string]> = [
    ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory.current'],
    ['/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/memory/memory.usage_in_bytes'],
  ];
  for (const [maxFile, usedFile] of cgroups) {
    const max = readNumber(maxFile);
    // cgroup v1 reports "no limit" as a huge number.
    if (max === undefined || max >= total) continue;
    const used = readNumber(usedFile) ?? 0;
    limits = { totalBytes: max, availableBytes: Math.max(0, Math.min(limits.availableBytes, max - used)), source: 'the memory limit of this process (cgroup)' };
    break;
  }
  return limits;
}

const gib = (b: number) => `${(b / GiB).toFixed(1)} GiB`;

/**
 * Refuses, before any work, a request whose estimate does not fit: more than the machine (or
 * cgroup) has in all, or more than is free now beyond what the engine already holds
 * (`heldBytes`: its checkpoint, the sessions opened so far and the fixed overhead).
 */
export function ensureMemoryFits(est: MemoryEstimate, req: MemoryRequest, limits: MemoryLimits, heldBytes: number, what: string): void {
  const tokens = `${req.n.toLocaleString('en-US')} tokens`;
  if (est.totalBytes > limits.totalBytes) {
    throw new LongreadError(
      'not-enough-memory',
      `${what} at ${tokens} needs about ${gib(est.totalBytes)} of memory (weights ${gib(est.checkpointBytes + est.sessionBytes)}, ` +
        `encoder and decoder buffers ${gib(est.activationBytes)}), but ${limits.source} has ${gib(limits.totalBytes)}. ` +
        `Use a shorter text or a smaller model.`,
    );
  }
  const more = Math.max(0, est.totalBytes - heldBytes);
  if (more > limits.availableBytes) {
    throw new LongreadError(
      'not-enough-memory',
      `${what} at ${tokens} needs about ${gib(more)} more memory (${gib(est.totalBytes)} in all), but only ${gib(limits.availableBytes)} is free now ` +
        `(${limits.source} has ${gib(limits.totalBytes)}). Close other programs, or use a shorter text or a smaller model.`,
    );
  }
}
