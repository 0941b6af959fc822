// Runs one engine task on an EngineWorker (its engine process) and prints its result as JSON. Started by tests as a
// separate process so that the process's command line can be made long (see engine/runtime/telemetry.ts).
import { EngineWorker } from '../../main/assistant/engine-worker';
import { presetFor } from '../../engine/vcc/settings';

const [modelDir, graphCacheRoot, n] = process.argv.slice(2) as [string, string, string];
const worker = new EngineWorker({ modelDir, graphCacheRoot, engineState: null, reportEncoderHash: false, threads: 2 });
const facts = await worker.open();
const ids = Int32Array.from({ length: Number(n) }, (_, i) => 3 + ((i * 7919) % (facts.vocabSize - 3)));
const result = await worker.run({
  query: { kind: 'text', text: 'who' },
  documentIds: ids,
  vcc: presetFor(facts.numLayers),
  ensureEvidence: false,
  generate: { maxNewTokens: 1, numBeams: 1, quote: false },
  localState: null,
});
await worker.close();
process.stdout.write(JSON.stringify({ outputIds: result.outputIds, compressedLengths: result.compressedLengths }));
