// Reads the file named on the command line in a reader process (main/ingest/ingest-process.ts),
// counting its tokens with the bundled model (one long synchronous stretch for a big file), and
// says when it is done. tests/library/cancel.test.ts kills this process mid-read and checks that
// the reader does not outlive it.
import { ingestFileInProcess } from '../../main/ingest/ingest-process';
import { repoDefaultModelDir } from '../../main/assistant/models';

const started = performance.now();
await ingestFileInProcess(process.argv[2]!, { countWith: { modelId: 'default', dir: repoDefaultModelDir() } });
process.stdout.write(`read in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
