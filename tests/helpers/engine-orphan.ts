// Starts an engine process for a model, prints its pid and waits (to be killed by the test that
// started it: tests/assistant/engine-process.test.ts checks that the engine does not outlive it).
import { EngineWorker } from '../../main/assistant/engine-worker';

const [modelDir, graphCacheRoot] = process.argv.slice(2) as [string, string];
const worker = new EngineWorker({ modelDir, graphCacheRoot, engineState: null, reportEncoderHash: false, threads: 1 });
await worker.open();
process.stdout.write(`${worker.pid}\n`);
setInterval(() => {}, 1 << 30);
