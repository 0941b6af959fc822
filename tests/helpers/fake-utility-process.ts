// A stand-in for Electron's `utilityProcess` (Electron's binary is not installed for the tests):
// a forked Node child with the utility process's parentPort (parent-port-shim.mjs), and the
// utility process's main-side surface as electron.d.ts describes it: 'spawn', 'message' with the
// message itself, 'exit' with a number only (a signal's number when a signal ended it), pid.
import { fork, type Serializable } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { constants } from 'node:os';
import type { UtilityProcessLike, UtilityProcessModule } from '../../main/process/child-process';

const shim = new URL('./parent-port-shim.mjs', import.meta.url).href;

export const fakeUtilityProcess: UtilityProcessModule & { forked: string[] } = {
  forked: [],
  fork(modulePath, args, options) {
    this.forked.push(modulePath);
    const child = fork(modulePath, args, { env: options.env, execArgv: ['--import', shim], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const proc = new EventEmitter() as EventEmitter & UtilityProcessLike;
    proc.pid = undefined;
    child.on('spawn', () => {
      proc.pid = child.pid;
      proc.emit('spawn');
    });
    child.on('message', (m) => proc.emit('message', m));
    child.on('exit', (code, signal) => {
      proc.pid = undefined;
      proc.emit('exit', signal ? constants.signals[signal] : code);
    });
    proc.postMessage = (m) => child.send(m as Serializable);
    proc.kill = () => child.kill('SIGTERM');
    return proc;
  },
};
