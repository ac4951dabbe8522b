// The Helm chart (charts/triage) for tests: run helm, render the chart, pick objects out of the render.
// Integration tests use renderChart() to apply exactly the chart's RBAC (or any other object) to a test
// control plane, so the operator is tested with the permissions it ships with.
//
// helm is the one test/controlplane/build.sh builds (`make controlplane`); without it every function
// here throws "helm not found at ...: run make controlplane".

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { binary, kubernetesVersion } from '../controlplane/cluster.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHART_DIR = join(ROOT, 'charts', 'triage');

/** A rendered Kubernetes object (loosely typed: tests read deep fields). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

export interface HelmResult { code: number; stdout: string; stderr: string }

/** Absolute path of the helm binary; throws "... run make controlplane" when it was never built. */
export function helmBinary(): string {
  return binary('helm');
}

let helmHome: string | undefined;

/** Runs helm with its cache/config/data homes in a private temporary directory (never ~/.config/helm). */
export function helm(args: string[], opts: { input?: string; env?: Record<string, string> } = {}): HelmResult {
  const bin = helmBinary();
  helmHome ??= mkdtempSync(join(tmpdir(), 'triage-helm-'));
  const r = spawnSync(bin, args, {
    encoding: 'utf8',
    input: opts.input,
    timeout: 60_000,
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data'),
      ...opts.env,
    },
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export interface RenderOptions {
  /** Release name (default "triage", so objects get the names the operator's flags default to). */
  release?: string;
  /** Release namespace (default "triage-system"). */
  namespace?: string;
  /** Also render crds/ (helm template --include-crds). */
  includeCrds?: boolean;
  /** The Kubernetes version the render assumes (default: the test control plane's). */
  kubeVersion?: string;
}

/** `helm template` arguments for a set of `--set key=value` values. */
function templateArgs(sets: Record<string, string | number | boolean>, o: RenderOptions): string[] {
  return [
    'template', o.release ?? 'triage', CHART_DIR,
    '--namespace', o.namespace ?? 'triage-system',
    // A helm built with plain `go install` assumes Kubernetes v1.20 (no version ldflags), below the
    // chart's kubeVersion; say which version the render is for.
    '--kube-version', o.kubeVersion ?? kubernetesVersion(),
    ...(o.includeCrds ? ['--include-crds'] : []),
    ...Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`]),
  ];
}

/** helm template, unparsed: for tests that expect a failure (schema violations). */
export function helmTemplate(sets: Record<string, string | number | boolean> = {}, opts: RenderOptions = {}): HelmResult {
  return helm(templateArgs(sets, opts));
}

/**
 * Renders the chart with `--set key=value` for each entry (helm's --set syntax: `a.b=1`, lists as
 * `{x,y}`) and returns the objects, in render order. Throws with helm's stderr when rendering fails.
 */
export function renderChart(sets: Record<string, string | number | boolean> = {}, opts: RenderOptions = {}): K8sObject[] {
  const r = helmTemplate(sets, opts);
  if (r.code !== 0) throw new Error(`helm template failed (exit ${r.code}):\n${r.stderr}`);
  return (loadAll(r.stdout) as unknown[]).filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** The one object of a kind (and name, when given); throws when there is none or more than one. */
export function findObject(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` ${name}` : ''} in the render, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  }
  return found[0]!;
}

/** The chart's RBAC objects (ServiceAccount, ClusterRole(Binding), Role(Binding)s), ready to apply. */
export function chartRBAC(sets: Record<string, string | number | boolean> = {}, opts: RenderOptions = {}): K8sObject[] {
  const kinds = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
  return renderChart(sets, opts).filter((o) => kinds.has(o.kind));
}
