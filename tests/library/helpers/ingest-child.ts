// Child process for the kill test: adds a file to the library at LONGREAD_HOME. After each page
// written inside the ingest transaction it prints "stored N/TOTAL" and pauses briefly; at page
// HOLD_AT it stops (for up to a minute), so the parent's SIGKILL surely lands inside the write.
import { writeSync } from 'node:fs';
import { Library } from '../../../main/library/library';

const [file, pauseMs = '2', holdAt = '100'] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));
const lib = Library.open();
await lib.add(file!, {
  onProgress: (p) => {
    if (p.phase !== 'store') return;
    writeSync(1, `stored ${p.done}/${p.total}\n`);
    Atomics.wait(pause, 0, 0, p.done === Number(holdAt) ? 60_000 : Number(pauseMs));
  },
});
writeSync(1, 'committed\n');
lib.close();
