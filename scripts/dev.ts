// `make dev-up` / `make dev-down`: a local development cluster that outlives the command. `up` starts a
// supervisor in the background that holds the control plane and the operator (and stops them when it
// is stopped); `down` stops the supervisor and waits until nothing is left.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const DIR = join(ROOT, '.tools', 'dev');
const PID = join(DIR, 'supervisor.pid');
const READY = join(DIR, 'ready');
const LOG = join(DIR, 'dev.log');

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const runningPid = () => (existsSync(PID) ? Number(readFileSync(PID, 'utf8')) : 0);

async function up(): Promise<number> {
  const pid = runningPid();
  if (pid && alive(pid) && existsSync(READY)) {
    console.log(`the dev cluster is already running (supervisor ${pid})`);
    console.log(`export KUBECONFIG=${readFileSync(READY, 'utf8').trim()}`);
    return 0;
  }
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const out = openSync(LOG, 'a');
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, 'serve'], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  writeFileSync(PID, String(child.pid));
  console.log(`starting (log: ${LOG})`);
  for (let i = 0; i < 1200; i++) {
    if (existsSync(READY)) {
      console.log(`operator and webhook running in the background; stop them with make dev-down`);
      console.log(`export KUBECONFIG=${readFileSync(READY, 'utf8').trim()}`);
      return 0;
    }
    if (!alive(child.pid!)) { console.error(readFileSync(LOG, 'utf8')); return 1; }
    await sleep(250);
  }
  console.error('the dev cluster did not start in time; see the log');
  return 1;
}

async function serve(): Promise<void> {
  const { startSystem } = await import('../test/helpers/system.ts');
  const sys = await startSystem({ dir: DIR, log: (s) => console.log(s) });
  await sys.startOperator('dev-operator');
  writeFileSync(READY, sys.cp.kubeconfig);
  console.log(`ready: KUBECONFIG=${sys.cp.kubeconfig}`);
  const stop = async () => {
    await sys.stop();
    rmSync(READY, { force: true });
    rmSync(PID, { force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

async function down(): Promise<number> {
  const pid = runningPid();
  if (!pid || !alive(pid)) { console.log('no dev cluster is running'); rmSync(DIR, { recursive: true, force: true }); return 0; }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 120 && alive(pid); i++) await sleep(250);
  // The supervisor leads its own process group: take any straggler (etcd, apiserver, operator) with it.
  try { process.kill(-pid, 'SIGKILL'); } catch { /* the group is already gone */ }
  rmSync(DIR, { recursive: true, force: true });
  console.log('stopped');
  return 0;
}

const cmd = process.argv[2];
if (cmd === 'serve') void serve();
else (cmd === 'up' ? up() : cmd === 'down' ? down() : Promise.resolve(2)).then((code) => { process.exitCode = code; });
