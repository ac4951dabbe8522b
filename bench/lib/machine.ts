// What the numbers were measured on, and a wait for the machine to be quiet before measuring.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem, release, availableParallelism } from 'node:os';
import { sleep } from './processes.ts';

export function loadAverage(): [number, number, number] {
  const f = readFileSync('/proc/loadavg', 'utf8').split(' ');
  return [Number(f[0]), Number(f[1]), Number(f[2])];
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memTotalGiB: number;
  kernel: string;
  node: string;
  gitCommit: string;
  /** Tracked files outside bench/ that differed from that commit when the run started. */
  gitDirty: string[];
}

export function machineInfo(root: string): MachineInfo {
  let gitCommit = 'unknown';
  let gitDirty: string[] = [];
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    gitCommit = git('rev-parse', '--short', 'HEAD').trim();
    gitDirty = git('status', '--porcelain', '--untracked-files=no')
      .split('\n')
      .map((l) => l.slice(3).trim())
      .filter((f) => f && !f.startsWith('bench/'));
  } catch {
    /* not a checkout */
  }
  return {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memTotalGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    gitCommit,
    gitDirty,
  };
}

/**
 * Waits until the 1-minute load average is below `threshold`, polling every 30 s for at most maxMinutes.
 * Returns the load seen when it stopped waiting and whether the machine was quiet by then.
 */
export async function waitForQuiet(threshold: number, maxMinutes: number, log: (s: string) => void): Promise<{ quiet: boolean; waitedSec: number; load: [number, number, number] }> {
  const t0 = Date.now();
  for (;;) {
    const load = loadAverage();
    const waitedSec = Math.round((Date.now() - t0) / 1000);
    if (load[0] < threshold) return { quiet: true, waitedSec, load };
    if (waitedSec >= maxMinutes * 60) {
      log(`load ${load.join(' ')} still ≥ ${threshold} after ${maxMinutes} min; measuring anyway`);
      return { quiet: false, waitedSec, load };
    }
    log(`load ${load.join(' ')} ≥ ${threshold}; waiting 30 s (${waitedSec} s so far)`);
    await sleep(30_000);
  }
}
