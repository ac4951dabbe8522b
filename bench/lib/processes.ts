// Child processes for the benchmark: spawn in their own process group, wait for readiness, stop them, and
// make sure none outlives the driver (normal exit, thrown error, Ctrl-C, SIGTERM).

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** The last few KiB of stdout+stderr, for error messages. */
  tail(): string;
  /** Resolves with the first stdout line matching re (rejects if the process exits first or on timeout). */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM to the process group, then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where to copy the child's stdout and stderr (appended). */
  logFile?: string;
}

const live = new Set<Child>();
const TAIL_BYTES = 8192;

export function spawnChild(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that stop() also reaches grandchildren (LiteLLM's workers).
    detached: true,
  });
  if (proc.pid === undefined) throw new Error(`could not spawn ${name}: ${cmd}`);
  const pid = proc.pid;
  let log: WriteStream | undefined;
  if (opts.logFile) log = createWriteStream(opts.logFile, { flags: 'a' });
  let tail = '';
  let exitedFlag = false;
  const lineWaiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let partial = '';
  const keep = (s: string): void => {
    tail = (tail + s).slice(-TAIL_BYTES);
    log?.write(s);
  };
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (s: string) => {
    keep(s);
    partial += s;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      for (let i = lineWaiters.length - 1; i >= 0; i--) {
        const w = lineWaiters[i]!;
        if (w.re.test(line)) {
          lineWaiters.splice(i, 1);
          w.resolve(line);
        }
      }
    }
    if (partial.length > 65536) partial = partial.slice(-65536);
  });
  proc.stderr!.on('data', keep);

  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      exitedFlag = true;
      live.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    proc.once('error', (err) => {
      exitedFlag = true;
      live.delete(child);
      keep(`spawn error: ${err.message}\n`);
      resolve('spawn-error');
    });
  });
  void exited.then(() => log?.end());

  const child: Child = {
    name,
    pid,
    proc,
    exited,
    hasExited: () => exitedFlag,
    tail: () => tail,
    waitForLine(re, timeoutMs) {
      return new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`${name}: no line matching ${re} within ${timeoutMs} ms\n${tail}`)), timeoutMs);
        const w = {
          re,
          resolve: (l: string) => {
            clearTimeout(t);
            resolve(l);
          },
        };
        lineWaiters.push(w);
        void exited.then((code) => {
          clearTimeout(t);
          reject(new Error(`${name} exited (${code}) before it was ready\n${tail}`));
        });
      });
    },
    async stop(graceMs = 5000) {
      if (exitedFlag) return;
      signalGroup(pid, 'SIGTERM');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') {
        signalGroup(pid, 'SIGKILL');
        await exited;
      }
      // Anything left in the group (a worker that ignored SIGTERM) goes too.
      signalGroup(pid, 'SIGKILL');
    },
  };
  live.add(child);
  return child;
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/** Stops every child still running (in parallel). */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop()));
}

let installed = false;

/** Installs handlers so that children die with the driver however it ends. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  // Last resort, synchronous: whatever is still alive gets SIGKILL.
  process.on('exit', () => {
    for (const c of live) if (!c.hasExited()) signalGroup(c.pid, 'SIGKILL');
  });
  const onSignal = (sig: NodeJS.Signals): void => {
    process.stderr.write(`\n${sig}: stopping children\n`);
    void stopAll().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('uncaughtException', (err) => {
    process.stderr.write(`uncaught: ${err.stack ?? err.message}\n`);
    void stopAll().finally(() => process.exit(1));
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`unhandled rejection: ${(err as Error)?.stack ?? String(err)}\n`);
    void stopAll().finally(() => process.exit(1));
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls url (GET) until it answers 2xx; fails early when the child exits. */
export async function waitForHttp(url: string, child: Child, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  let last = '';
  while (performance.now() - t0 < timeoutMs) {
    if (child.hasExited()) throw new Error(`${child.name} exited (${await child.exited}) before ${url} answered\n${child.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return performance.now() - t0;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${child.name}: ${url} not ready after ${timeoutMs} ms (${last})\n${child.tail()}`);
}
