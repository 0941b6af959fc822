// The engine and reader processes (main/process/child-process.ts) a process has started, read from
// Linux's /proc, so tests count real OS processes rather than what the code believes it started.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Whether /proc can answer (Linux). */
export const procAvailable = existsSync('/proc/self/task');

/** A process that exists and has not ended (a zombie has ended; only its exit status is left). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The live engine processes among `parent`'s children (default: this process). */
export function engineProcesses(parent = process.pid): number[] {
  return childProcesses('engine-process', parent);
}

/** The live reader (ingest) processes among `parent`'s children (default: this process). */
export function readerProcesses(parent = process.pid): number[] {
  return childProcesses('ingest-process', parent);
}

function childProcesses(entry: string, parent: number): number[] {
  const pids = new Set<number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${parent}/task`);
  } catch {
    return []; // the parent has ended
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    for (const p of children.split(' ').filter(Boolean)) pids.add(Number(p));
  }
  return [...pids].filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(entry) && alive(pid);
    } catch {
      return false;
    }
  });
}

/** A process's environment as a map. */
export function environmentOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** Waits until `check` holds (polling), or fails after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
