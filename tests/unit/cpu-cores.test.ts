import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { coresFromCpuinfo, coresFromSysfs, desktopThreads, physicalCores } from '../../engine/runtime/cpu-cores';
import { defaultThreads } from '../../engine/runtime/onnx';

/** A fake /sys/devices/system/cpu: one entry per logical CPU as [package, core, online?]. */
function fakeSysfs(cpus: Array<[number, number, boolean?]>, opts: { noTopologyFor?: number } = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'longread-sysfs-'));
  cpus.forEach(([pkg, core, online], i) => {
    const cpu = path.join(dir, `cpu${i}`);
    mkdirSync(path.join(cpu, 'topology'), { recursive: true });
    if (i > 0) writeFileSync(path.join(cpu, 'online'), online === false ? '0\n' : '1\n');
    if (opts.noTopologyFor === i) return;
    writeFileSync(path.join(cpu, 'topology', 'core_id'), `${core}\n`);
    writeFileSync(path.join(cpu, 'topology', 'physical_package_id'), `${pkg}\n`);
  });
  mkdirSync(path.join(dir, 'cpufreq'));
  writeFileSync(path.join(dir, 'online'), '0-7\n');
  return dir;
}

test('sysfs: SMT siblings count once, offline CPUs not at all, cores of two packages apart', () => {
  // 2 packages × 2 cores × 2 threads, with one thread offline, and core ids repeating across packages.
  const cpus: Array<[number, number, boolean?]> = [
    [0, 0], [0, 1], [1, 0], [1, 1],
    [0, 0], [0, 1], [1, 0], [1, 1, false],
  ];
  assert.equal(coresFromSysfs(fakeSysfs(cpus)), 4);
  // Every thread of package 1 core 1 offline: that core is gone.
  assert.equal(coresFromSysfs(fakeSysfs([[0, 0], [0, 1], [1, 0], [1, 1, false], [0, 0], [0, 1], [1, 0], [1, 1, false]])), 3);
  // A VM whose vCPUs are all separate cores.
  assert.equal(coresFromSysfs(fakeSysfs([[0, 0], [0, 1]])), 2);
});

test('sysfs: unreadable topology or folder says nothing (the caller falls back)', () => {
  assert.equal(coresFromSysfs(fakeSysfs([[0, 0], [0, 1]], { noTopologyFor: 1 })), undefined);
  assert.equal(coresFromSysfs(path.join(os.tmpdir(), 'longread-no-such-sysfs')), undefined);
});

test('/proc/cpuinfo: distinct (physical id, core id) pairs; none when the kernel does not list them', () => {
  const block = (p: number, pkg: number, core: number) =>
    `processor\t: ${p}\nvendor_id\t: AuthenticAMD\nphysical id\t: ${pkg}\nsiblings\t: 4\ncore id\t\t: ${core}\ncpu cores\t: 2\nflags\t\t: fpu avx2\n`;
  const ht = [block(0, 0, 0), block(1, 0, 1), block(2, 0, 0), block(3, 0, 1)].join('\n');
  assert.equal(coresFromCpuinfo(ht), 2);
  const twoSockets = [block(0, 0, 0), block(1, 1, 0), block(2, 0, 0), block(3, 1, 0)].join('\n');
  assert.equal(coresFromCpuinfo(twoSockets), 2);
  const arm = 'processor\t: 0\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd\n\nprocessor\t: 1\nBogoMIPS\t: 48.00\n\nHardware\t: BCM2835\n';
  assert.equal(coresFromCpuinfo(arm), undefined);
  assert.equal(coresFromCpuinfo(''), undefined);
});

test('defaults: one engine thread per physical core; the desktop app leaves one for the UI', () => {
  assert.equal(defaultThreads(8), 8);
  assert.equal(desktopThreads(8), 7);
  assert.equal(desktopThreads(2), 1);
  assert.equal(desktopThreads(1), 1);
  const cores = physicalCores();
  assert.ok(cores >= 1 && cores <= os.availableParallelism(), `physical cores ${cores}`);
  assert.equal(defaultThreads(), cores);
});
