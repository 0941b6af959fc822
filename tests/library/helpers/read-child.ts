// Child process for hostile.test.ts and fuzz.test.ts: reads each file named on the command line
// on its main thread (as Library.add does without inOwnProcess; node:test would itself report the
// stray rejections pdf.js makes on damaged files, which the product drops), printing one JSON
// line per file, then waits a moment for late rejections and prints "alive".
import { LongreadError } from '../../../common/errors';
import { ingestFile } from '../../../main/ingest/index';

for (const file of process.argv.slice(2)) {
  const before = process.cpuUsage();
  let outcome: Record<string, unknown>;
  try {
    const doc = await ingestFile(file);
    outcome = { document: doc.title };
  } catch (e) {
    outcome = e instanceof LongreadError ? { code: e.code } : { untyped: String(e) };
  }
  const used = process.cpuUsage(before);
  process.stdout.write(JSON.stringify({ ...outcome, cpuSeconds: (used.user + used.system) / 1e6 }) + '\n');
}
await new Promise((r) => setTimeout(r, 1000));
process.stdout.write('alive\n');
