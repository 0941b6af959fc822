import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/*
 * ONNX Runtime's MatMul gains nothing from a core's second hardware thread (both share one set of
 * vector units) and loses to the contention, so the engine uses one thread per physical core.
 */

function readTrimmed(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Physical cores from a Linux sysfs CPU folder: distinct (physical_package_id, core_id) pairs of
 * the online CPUs. Undefined when the folder or a CPU's topology cannot be read.
 */
export function coresFromSysfs(cpuDir = '/sys/devices/system/cpu'): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync(cpuDir).filter((e) => /^cpu\d+$/.test(e));
  } catch {
    return undefined;
  }
  const cores = new Set<string>();
  for (const cpu of entries) {
    const dir = path.join(cpuDir, cpu);
    // cpu0 often has no `online` file: it cannot be taken offline.
    if (existsSync(path.join(dir, 'online')) && readTrimmed(path.join(dir, 'online')) === '0') continue;
    const core = readTrimmed(path.join(dir, 'topology', 'core_id'));
    const pkg = readTrimmed(path.join(dir, 'topology', 'physical_package_id'));
    if (core === undefined || pkg === undefined) return undefined;
    cores.add(`${pkg}:${core}`);
  }
  return cores.size > 0 ? cores.size : undefined;
}

/**
 * Physical cores from /proc/cpuinfo text: distinct (physical id, core id) pairs over the
 * processors. Undefined when the text does not say (e.g. many ARM kernels list processors only).
 */
export function coresFromCpuinfo(text: string): number | undefined {
  const cores = new Set<string>();
  let processors = 0;
  for (const block of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim();
    if (field('processor') === undefined) continue;
    processors++;
    const pkg = field('physical id');
    const core = field('core id');
    if (pkg === undefined || core === undefined) return undefined;
    cores.add(`${pkg}:${core}`);
  }
  return processors > 0 ? cores.size : undefined;
}

let cached: number | undefined;

/**
 * This machine's physical cores (Linux: sysfs, else /proc/cpuinfo), never more than the logical
 * CPUs this process may run on; elsewhere, or when neither says, `os.availableParallelism()`.
 */
export function physicalCores(): number {
  if (cached !== undefined) return cached;
  const logical = Math.max(1, os.availableParallelism());
  let physical: number | undefined;
  if (process.platform === 'linux') {
    physical = coresFromSysfs();
    if (physical === undefined) {
      const text = readTrimmed('/proc/cpuinfo');
      physical = text === undefined ? undefined : coresFromCpuinfo(text);
    }
  }
  cached = Math.max(1, Math.min(logical, physical ?? logical));
  return cached;
}

/**
 * The desktop app's engine threads when the settings leave them to the app: one physical core
 * left for the UI when there is more than one. (Kept here, free of onnxruntime, for Electron's main.)
 */
export function desktopThreads(cores = physicalCores()): number {
  return cores > 1 ? cores - 1 : 1;
}
