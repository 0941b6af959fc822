// The assistant's engine (engine-process-main.ts) in a process of its own (main/process/child-process.ts).
import { startChild, type ChildProcess, type ChildSpec } from '../process/child-process';
import type { FromWorker, ToWorker } from './types';

export type EngineProcess = ChildProcess<ToWorker>;

/** The child's entry: TypeScript through tsx in a checkout, bundled JavaScript next to main.mjs in the app (main/app/build.mjs). */
export const ENGINE_PROCESS: ChildSpec = { entry: new URL('./engine-process.mjs', import.meta.url), serviceName: 'Longread engine' };

export function startEngineProcess(onMessage: (m: FromWorker) => void): EngineProcess {
  return startChild<ToWorker, FromWorker>(ENGINE_PROCESS, onMessage);
}
