// Child process for hostile.test.ts: reads one file on its main thread (as Library.add does
// without inWorker), prints the outcome as JSON, then waits a moment for stray rejections.
import { LongreadError } from '../../../common/errors';
import { ingestFile } from '../../../main/ingest/index';

const [file] = process.argv.slice(2);
try {
  const doc = await ingestFile(file!);
  process.stdout.write(JSON.stringify({ document: doc.title }) + '\n');
} catch (e) {
  process.stdout.write(JSON.stringify(e instanceof LongreadError ? { code: e.code } : { untyped: String(e) }) + '\n');
}
await new Promise((r) => setTimeout(r, 1000));
process.stdout.write('alive\n');
