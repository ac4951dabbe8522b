// A real Kubernetes control plane for tests: etcd and kube-apiserver on loopback, no kubelet and no
// controller-manager. The binaries are built by test/controlplane/build.sh (`make controlplane`) into
// ${TRIAGE_CACHE:-~/.cache/triage}/k8s-<version>/bin; see docs/dev-controlplane.md.
//
// What is missing without a controller-manager and kubelet: Pods are stored but never run, namespaces
// get no `default` ServiceAccount and no `kube-root-ca.crt` ConfigMap (createNamespace() makes both),
// nothing garbage-collects, Deployments never make ReplicaSets, Services get no endpoints.

import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The Kubernetes version the control plane is built at: the k8s.io/kubernetes requirement of testbin/go.mod. */
export function kubernetesVersion(): string {
  const m = /^\s*k8s\.io\/kubernetes\s+(v1\.[0-9]+\.[0-9]+)\b/m.exec(readFileSync(join(HERE, 'testbin', 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error('test/controlplane/testbin/go.mod does not require k8s.io/kubernetes v1.x.y');
  return m[1];
}

/** Where build.sh puts kube-apiserver, etcd, kubectl and helm. */
export function binDir(): string {
  const cache = process.env.TRIAGE_CACHE || join(homedir(), '.cache', 'triage');
  return join(cache, `k8s-${kubernetesVersion()}`, 'bin');
}

export type Binary = 'kube-apiserver' | 'etcd' | 'kubectl' | 'helm';

/** Absolute path of a control-plane binary; throws "... run make controlplane" if it was never built. */
export function binary(name: Binary): string {
  const path = join(binDir(), name);
  if (!existsSync(path)) {
    throw new Error(`${name} not found at ${path}: run make controlplane (builds kube-apiserver, etcd, kubectl and helm, ~15 min the first time)`);
  }
  return path;
}

export interface RunResult { code: number; stdout: string; stderr: string }
export interface RunOptions { input?: string; timeoutMs?: number; env?: Record<string, string> }

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  server: string;
  /** Path of an admin kubeconfig (user admin, group system:masters). */
  kubeconfig: string;
  /** The admin bearer token. */
  token: string;
  /** PEM of the CA that signed the apiserver's serving certificate. */
  caPEM: string;
  /** Working directory: kubeconfig, keys, certs, etcd data and the logs etcd.log and kube-apiserver.log. */
  dir: string;
  /** Start-up time in milliseconds, from spawning etcd to a ready apiserver. */
  startupMs: number;
  /** kubectl with this control plane's kubeconfig; never throws on a non-zero exit. */
  kubectl(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** helm with this control plane's kubeconfig and helm's home directories under dir. */
  helm(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Kills etcd and kube-apiserver and removes the working directory (unless opts.dir was given). */
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Use this directory (created if missing, kept on stop) instead of a fresh temporary one. */
  dir?: string;
  /** How long to wait for /readyz (default 90 s: the machine may be busy). */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=...']; later flags win. */
  apiserverArgs?: string[];
}

/** Runs a program and collects its output. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { stderr += `\n[killed after ${opts.timeoutMs ?? 60_000} ms]`; child.kill('SIGKILL'); }, opts.timeoutMs ?? 60_000);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }); });
    child.stdin.on('error', () => {}); // the program may exit without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

/** A port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

// Each server runs under a tiny sh wrapper that kills it (SIGKILL) as soon as its stdin -- a pipe from
// this process -- closes: on stop(), but also when this process dies in any way, even by SIGKILL, so
// a crashed or killed test never leaves an apiserver or etcd behind.
const WRAPPER = 'exec 3<&0; "$@" </dev/null 3<&- & pid=$!; (cat >/dev/null; kill -KILL "$pid" 2>/dev/null) <&3 & exec 3<&-; wait "$pid"';

interface Server { name: string; child: ChildProcess; exited: Promise<number>; log: string }

function startServer(name: string, cmd: string, args: string[], log: string): Server {
  const out = openLog(log);
  const child = spawn('/bin/sh', ['-c', WRAPPER, 'sh', cmd, ...args], { stdio: ['pipe', out, out], detached: false });
  closeSync(out); // the child has its own copy
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => { child.stdin?.destroy(); resolve(code ?? (signal ? 128 : 1)); });
    child.on('error', () => resolve(127));
  });
  child.stdin?.on('error', () => {});
  return { name, child, exited, log };
}

function openLog(path: string): number {
  // A file descriptor, so the server writes its log directly (no pipe that must be drained).
  writeFileSync(path, '');
  return openSync(path, 'a');
}

function tail(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET url; resolves with the status and body, rejects on connection errors. */
function get(url: string, headers: Record<string, string>, ca?: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? request : httpRequest;
  return new Promise((resolve, reject) => {
    const req = mod(u, { method: 'GET', headers, ca, timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => { body += d; }).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(what: string, deadline: number, servers: Server[], probe: () => Promise<boolean>): Promise<void> {
  let dead: Server | undefined;
  for (const s of servers) void s.exited.then(() => { dead ??= s; });
  let lastErr = '';
  while (Date.now() < deadline) {
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}; last lines of ${dead.log}:\n${tail(dead.log)}`);
    try {
      if (await probe()) return;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    await sleep(100);
  }
  const logs = servers.map((s) => `--- ${s.log}:\n${tail(s.log)}`).join('\n');
  throw new Error(`timed out waiting for ${what}${lastErr ? ` (last error: ${lastErr})` : ''}\n${logs}`);
}

function kubeconfigFor(server: string, caPEM: string, token: string): string {
  // JSON is YAML; kubectl and client libraries read it as a kubeconfig.
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Config', preferences: {},
    clusters: [{ name: 'triage-test', cluster: { server, 'certificate-authority-data': Buffer.from(caPEM).toString('base64') } }],
    users: [{ name: 'admin', user: { token } }],
    contexts: [{ name: 'triage-test', context: { cluster: 'triage-test', user: 'admin', namespace: 'default' } }],
    'current-context': 'triage-test',
  }, null, 2);
}

const TMP_PREFIX = 'triage-cp-';

/** Removes temporary directories left by test processes that died without clean-up (SIGTERM, SIGKILL). */
function removeStaleDirs(): void {
  let names: string[] = [];
  try { names = readdirSync(tmpdir()).filter((n) => n.startsWith(TMP_PREFIX)); } catch { return; }
  for (const n of names) {
    const dir = join(tmpdir(), n);
    let pid = 0;
    try { pid = Number(readFileSync(join(dir, 'owner.pid'), 'utf8')); } catch { continue; } // not ours, or starting
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Starts etcd and kube-apiserver on loopback and waits until the apiserver is ready. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const apiserverBin = binary('kube-apiserver');
  const etcdBin = binary('etcd');
  const kubectlBin = binary('kubectl');
  const t0 = Date.now();
  const ownDir = opts.dir === undefined;
  if (ownDir) removeStaleDirs();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), TMP_PREFIX));
  mkdirSync(dir, { recursive: true });
  if (ownDir) writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const certDir = join(dir, 'certs');
  mkdirSync(certDir, { recursive: true });

  const servers: Server[] = [];
  let stopped = false;
  const killAll = () => {
    for (const s of servers) {
      s.child.stdin?.destroy(); // the wrapper kills the server
      try { s.child.kill('SIGKILL'); } catch { /* gone */ }
    }
  };
  // Synchronous clean-up if the test process exits without calling stop().
  const onExit = () => { killAll(); if (ownDir) rmSync(dir, { recursive: true, force: true }); };
  process.on('exit', onExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killAll();
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((r) => { timer = setTimeout(r, 10_000); });
    await Promise.race([Promise.all(servers.map((s) => s.exited)), giveUp]);
    clearTimeout(timer);
    process.removeListener('exit', onExit);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    // etcd. Ports are picked free, then bound by etcd; a rare race with another process is retried.
    const etcdDir = join(dir, 'etcd');
    let etcdURL = '';
    for (let attempt = 1; ; attempt++) {
      const [clientPort, peerPort] = [await freePort(), await freePort()];
      etcdURL = `http://127.0.0.1:${clientPort}`;
      const peerURL = `http://127.0.0.1:${peerPort}`;
      rmSync(etcdDir, { recursive: true, force: true });
      const etcd = startServer('etcd', etcdBin, [
        '--name=default', `--data-dir=${etcdDir}`,
        `--listen-client-urls=${etcdURL}`, `--advertise-client-urls=${etcdURL}`,
        `--listen-peer-urls=${peerURL}`, `--initial-advertise-peer-urls=${peerURL}`,
        `--initial-cluster=default=${peerURL}`, '--initial-cluster-state=new',
        '--unsafe-no-fsync', '--quota-backend-bytes=1073741824', '--log-level=warn', '--logger=zap',
      ], join(dir, 'etcd.log'));
      servers.push(etcd);
      try {
        await waitFor('etcd /health', Date.now() + 30_000, [etcd], async () => {
          const r = await get(`${etcdURL}/health`, {});
          return r.status === 200 && r.body.includes('"health":"true"');
        });
        break;
      } catch (err) {
        servers.pop();
        etcd.child.stdin?.destroy();
        await etcd.exited;
        if (attempt >= 3 || !/address already in use/.test(tail(etcd.log, 200))) throw err;
      }
    }

    // Service-account token signing key pair (RSA, PEM) and the admin token.
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const saKey = join(dir, 'sa.key');
    const saPub = join(dir, 'sa.pub');
    writeFileSync(saKey, privateKey, { mode: 0o600 });
    writeFileSync(saPub, publicKey);
    const token = randomBytes(24).toString('hex');
    const tokenFile = join(dir, 'tokens.csv');
    writeFileSync(tokenFile, `${token},admin,admin,"system:masters"\n`, { mode: 0o600 });

    // kube-apiserver, serving with a certificate it generates into certDir (signed by a CA it also
    // generates, for 127.0.0.1, localhost and the in-cluster names).
    let port = 0;
    let caPEM = '';
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      rmSync(certDir, { recursive: true, force: true });
      mkdirSync(certDir);
      const apiserver = startServer('kube-apiserver', apiserverBin, [
        `--etcd-servers=${etcdURL}`,
        '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${port}`,
        `--cert-dir=${certDir}`,
        '--authorization-mode=RBAC',
        `--token-auth-file=${tokenFile}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        // No controller-manager keeps the `kubernetes` Endpoints; a loopback address is not a valid one anyway.
        '--endpoint-reconciler-type=none',
        '--allow-privileged=true',
        '--profiling=false',
        '--v=1',
        ...(opts.apiserverArgs ?? []),
      ], join(dir, 'kube-apiserver.log'));
      servers.push(apiserver);
      try {
        const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
        await waitFor('kube-apiserver serving certificate', deadline, [apiserver], async () => existsSync(join(certDir, 'apiserver.crt')));
        caPEM = caFromBundle(readFileSync(join(certDir, 'apiserver.crt'), 'utf8'));
        await waitFor('kube-apiserver /readyz', deadline, [apiserver], async () => {
          const r = await get(`https://127.0.0.1:${port}/readyz`, { authorization: `Bearer ${token}` }, caPEM);
          return r.status === 200;
        });
        break;
      } catch (err) {
        servers.pop();
        apiserver.child.stdin?.destroy();
        await apiserver.exited;
        if (attempt >= 3 || !/address already in use/.test(tail(apiserver.log, 200))) throw err;
      }
    }

    const server = `https://127.0.0.1:${port}`;
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigFor(server, caPEM, token), { mode: 0o600 });
    const kubeCache = join(dir, 'kube-cache');
    const helmHome = join(dir, 'helm');

    return {
      server, kubeconfig, token, caPEM, dir, startupMs: Date.now() - t0,
      kubectl: (args, o = {}) => run(kubectlBin, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${kubeCache}`, ...args], o),
      helm: (args, o = {}) => run(binary('helm'), [`--kubeconfig=${kubeconfig}`, ...args], {
        ...o,
        env: {
          HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data'),
          ...o.env,
        },
      }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The self-signed CA certificate from kube-apiserver's generated bundle (serving cert followed by its CA). */
function caFromBundle(bundle: string): string {
  const pems = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const ca = pems.find((p) => new X509Certificate(p).ca);
  if (!ca) throw new Error('kube-apiserver generated a serving certificate without a CA certificate in its bundle');
  return `${ca}\n`;
}

/**
 * Creates a namespace the way a full cluster would have it: with its `default` ServiceAccount and the
 * `kube-root-ca.crt` ConfigMap, which the (absent) controller-manager would create. Without the
 * ServiceAccount, the ServiceAccount admission plugin rejects every Pod in the namespace. Idempotent.
 */
export async function createNamespace(cp: ControlPlane, name: string, labels: Record<string, string> = {}): Promise<void> {
  const list = {
    apiVersion: 'v1', kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: name }, data: { 'ca.crt': cp.caPEM } },
    ],
  };
  const r = await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(list) });
  if (r.code !== 0) throw new Error(`creating namespace ${name} failed: ${r.stderr || r.stdout}`);
}

/** Creates the `default` ServiceAccount (and kube-root-ca.crt) in the pre-existing `default` namespace. */
export function prepareDefaultNamespace(cp: ControlPlane): Promise<void> {
  return createNamespace(cp, 'default');
}

/** kubectl that throws with kubectl's stderr on a non-zero exit; returns stdout. */
export async function kubectlOK(cp: ControlPlane, args: string[], opts?: RunOptions): Promise<string> {
  const r = await cp.kubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr || r.stdout}`);
  return r.stdout;
}
