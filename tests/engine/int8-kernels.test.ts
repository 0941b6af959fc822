import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GraphBuilder } from '../../engine/graph/builder';
import { INT8_KERNELS, int8MatMul, quantizeColumns, type Int8Kernel } from '../../engine/graph/quantize';
import { cachedGraph } from '../../engine/runtime/graph-cache';
import { f32, openSession } from '../../engine/runtime/onnx';
import { dequantizedActivations, dequantizedWeight } from '../reference/int8-f64';
import { rng } from '../helpers/random-checkpoint';
import { tempDir } from '../helpers/tiny-model';

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

const [M, K, N] = [37, 256, 48];
const r = rng(3);
const w = Float32Array.from({ length: K * N }, () => r.normal() * K ** -0.5); // (K, N): [in, out]
const x = Float32Array.from({ length: M * K }, () => r.normal() + 0.3);
// [out, in] as the reference takes Hugging Face weights
const wOutIn = Float64Array.from({ length: N * K }, (_, i) => w[(i % K) * N + Math.floor(i / K)]!);

function matmulF64(a: Float64Array, b: Float64Array): Float64Array {
  const y = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let o = 0; o < N; o++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k]! * b[o * K + k]!;
    y[i * N + o] = s;
  }
  return y;
}
const exact = matmulF64(Float64Array.from(x), wOutIn);
const quantized = matmulF64(dequantizedActivations(Float64Array.from(x), M, K, M), dequantizedWeight(wOutIn, N, K));

async function runKernel(kernel: Int8Kernel): Promise<Float32Array> {
  const dir = tempDir();
  const file = cachedGraph(dir, `mm_${kernel}`, () => {
    const g = new GraphBuilder('mm');
    g.output(int8MatMul(g, g.input('x', 'float', ['M', K]), 'w', w, K, N, kernel), 'y', 'float', ['M', N]);
    return g;
  });
  const s = await openSession(file, { threads: 1 });
  try {
    return (await s.session.run({ x: f32(x, [M, K]) })).y!.data as Float32Array;
  } finally {
    await s.session.release();
  }
}

test('per-column symmetric weights: q in [-127, 127], the largest |w| of each column maps to ±127', () => {
  const { q, scale } = quantizeColumns(w, K, N);
  for (let c = 0; c < N; c++) {
    let maxQ = 0;
    for (let k = 0; k < K; k++) maxQ = Math.max(maxQ, Math.abs(q[k * N + c]!));
    assert.equal(maxQ, 127, `column ${c}`);
    assert.ok(scale[c]! > 0);
  }
  const zeros = quantizeColumns(new Float32Array(4 * 2), 4, 2);
  assert.deepEqual([...zeros.q], new Array(8).fill(0), 'an all-zero column stays zero');
});

for (const kernel of INT8_KERNELS) {
  test(`${kernel}: ${kernel === 'nbits8' ? 'close to fp32 (its own blocks of 128 and activation scheme)' : 'the dynamic-quantized int8 product, as the float64 reference computes it'}`, async () => {
    const y = await runKernel(kernel);
    const toQuantized = relErr(y, quantized);
    const toExact = relErr(y, exact);
    if (kernel === 'nbits8') {
      assert.ok(toExact < 0.03, `vs fp32 ${toExact.toExponential(2)}`);
    } else {
      assert.ok(toQuantized < 1e-6, `vs the int8 reference ${toQuantized.toExponential(2)}`);
      assert.ok(toExact > 1e-3 && toExact < 0.03, `vs fp32 ${toExact.toExponential(2)}`);
    }
  });
}
