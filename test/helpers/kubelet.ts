// Plays the kubelet's part for the injected sidecar, since the test control plane has none: it starts the
// container's command, args and env exactly as the pod spec says, as a local process. What a kubelet
// would provide is provided the same way: downward-API env from the pod, and the projected token volume
// (a real pod-bound TokenRequest) written where the mount would put it, with paths under the mount
// rewritten to that directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { kubectlOK, type ControlPlane } from '../controlplane/cluster.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface RunningContainer { process: ChildProcess; logs: string[]; stop(): Promise<void> }

/** `triage` in the image is bin/triage here: the same entry point. */
const COMMANDS: Record<string, string> = { triage: join(ROOT, 'bin/triage') };

export async function runContainer(cp: ControlPlane, pod: V1Pod, container: V1Container): Promise<RunningContainer> {
  const ns = pod.metadata!.namespace!;
  const name = pod.metadata!.name!;
  const dir = mkdtempSync(join(tmpdir(), 'triage-kubelet-'));
  const mounts = new Map<string, string>();
  for (const m of container.volumeMounts ?? []) {
    const vol = pod.spec!.volumes!.find((v) => v.name === m.name)!;
    const local = join(dir, m.name);
    for (const src of vol.projected?.sources ?? []) {
      const t = src.serviceAccountToken;
      if (!t) continue;
      const token = await kubectlOK(cp, ['create', 'token', pod.spec!.serviceAccountName ?? 'default', '-n', ns,
        '--audience', t.audience!, '--duration', `${t.expirationSeconds ?? 3600}s`, '--bound-object-kind', 'Pod', '--bound-object-name', name]);
      (await import('node:fs')).mkdirSync(local, { recursive: true });
      writeFileSync(join(local, t.path), token.trim());
    }
    mounts.set(m.mountPath, local);
  }
  const remap = (v: string) => { for (const [from, to] of mounts) if (v.startsWith(from)) return to + v.slice(from.length); return v; };
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = remap(e.value);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = name;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = ns;
  }
  const [cmd, ...cmdArgs] = container.command!;
  const child = spawn(COMMANDS[cmd!] ?? cmd!, [...cmdArgs, ...(container.args ?? [])], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  child.stdout!.on('data', (d) => logs.push(String(d)));
  child.stderr!.on('data', (d) => logs.push(String(d)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.once('exit', () => child.kill('SIGKILL'));
  return {
    process: child, logs,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
