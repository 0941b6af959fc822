// Child process for the kill test: adds a file to the library at LONGREAD_HOME, and after each
// page written inside the ingest transaction prints "stored N/TOTAL" and pauses, so the parent
// can SIGKILL it at a moment it controls, in the middle of the write.
import { writeSync } from 'node:fs';
import { Library } from '../../../main/library/library';

const [file, pauseMs = '20'] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));
const lib = Library.open();
await lib.add(file!, {
  onProgress: (p) => {
    if (p.phase !== 'store') return;
    writeSync(1, `stored ${p.done}/${p.total}\n`);
    Atomics.wait(pause, 0, 0, Number(pauseMs));
  },
});
writeSync(1, 'committed\n');
lib.close();
