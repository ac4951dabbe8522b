// The operator's serving TLS. Self-managed mode keeps a CA and a serving certificate in a Secret (the
// first replica creates it, optimistic concurrency settles races), renews the serving certificate when a
// third of its life remains, and keeps the webhook's caBundle current. With cert-manager the chart
// mounts the certificate instead and this only reads files.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../sidecar/log.ts';
import { createCA, issueServing, needsRenewal, serviceDNSNames } from './certs.ts';
import { Kube, KubeError, JSON_PATCH, corePath } from './kube/rest.ts';

export interface TlsMaterial { caPEM: string; certPEM: string; keyPEM: string }

const CA_DAYS = 3650;
const SERVING_DAYS = 90;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

export interface SelfManagedTls { kube: Kube; namespace: string; secretName: string; serviceName: string; extraSANs?: string[]; log: Logger }

export async function ensureSelfManagedTls(o: SelfManagedTls): Promise<TlsMaterial> {
  const path = corePath('secrets', o.namespace, o.secretName);
  const sans = [...serviceDNSNames(o.serviceName, o.namespace), ...(o.extraSANs ?? [])];
  const dns = sans.filter((s) => !/^[\d.]+$/.test(s));
  const ips = sans.filter((s) => /^[\d.]+$/.test(s));
  for (let attempt = 0; attempt < 5; attempt++) {
    const secret = await o.kube.find(path);
    if (!secret) {
      const ca = await createCA('triage-operator-ca', CA_DAYS);
      const serving = await issueServing(ca, dns, ips, SERVING_DAYS);
      try {
        await o.kube.request('POST', corePath('secrets', o.namespace), {
          apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
          metadata: { name: o.secretName, namespace: o.namespace, labels: { 'app.kubernetes.io/name': 'triage', 'app.kubernetes.io/component': 'operator-tls' } },
          data: { 'ca.crt': b64(ca.certPEM), 'ca.key': b64(ca.keyPEM), 'tls.crt': b64(serving.certPEM), 'tls.key': b64(serving.keyPEM) },
        });
        o.log.info({ secret: o.secretName }, 'created operator CA and serving certificate');
        return { caPEM: ca.certPEM, certPEM: serving.certPEM, keyPEM: serving.keyPEM };
      } catch (err) {
        if (err instanceof KubeError && err.status === 409) continue; // another replica created it
        throw err;
      }
    }
    const m: TlsMaterial & { caKeyPEM: string } = {
      caPEM: unb64(secret.data?.['ca.crt']), caKeyPEM: unb64(secret.data?.['ca.key']),
      certPEM: unb64(secret.data?.['tls.crt']), keyPEM: unb64(secret.data?.['tls.key']),
    };
    if (m.certPEM && m.keyPEM && m.caPEM && !needsRenewal(m.certPEM)) return { caPEM: m.caPEM, certPEM: m.certPEM, keyPEM: m.keyPEM };
    if (!m.caKeyPEM) throw new Error(`Secret ${o.secretName} has no ca.key; delete it to let the operator recreate its CA`);
    const serving = await issueServing({ certPEM: m.caPEM, keyPEM: m.caKeyPEM }, dns, ips, SERVING_DAYS);
    secret.data = { ...secret.data, 'tls.crt': b64(serving.certPEM), 'tls.key': b64(serving.keyPEM) };
    try {
      await o.kube.request('PUT', path, secret); // resourceVersion guards against a concurrent renewal
      o.log.info({ secret: o.secretName }, 'renewed the serving certificate');
      return { caPEM: m.caPEM, certPEM: serving.certPEM, keyPEM: serving.keyPEM };
    } catch (err) {
      if (!(err instanceof KubeError && err.status === 409)) throw err;
    }
  }
  throw new Error(`could not settle Secret ${o.secretName} after repeated conflicts`);
}

/** cert-manager (or any) mounted certificate: tls.crt, tls.key and ca.crt in one directory. */
export async function readTlsDir(dir: string): Promise<TlsMaterial> {
  const [certPEM, keyPEM, caPEM] = await Promise.all(['tls.crt', 'tls.key', 'ca.crt'].map((f) => readFile(join(dir, f), 'utf8')));
  return { certPEM: certPEM!, keyPEM: keyPEM!, caPEM: caPEM! };
}

/** Keeps every webhook of the MutatingWebhookConfiguration pointing at our CA. */
export async function syncCaBundle(kube: Kube, configName: string, caPEM: string, log: Logger): Promise<void> {
  const path = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${configName}`;
  const cfg = await kube.find(path);
  if (!cfg) { log.warn({ webhook: configName }, 'MutatingWebhookConfiguration not found; caBundle not set'); return; }
  const want = b64(caPEM);
  const ops = (cfg.webhooks ?? []).flatMap((w: { clientConfig?: { caBundle?: string } }, i: number) =>
    w.clientConfig?.caBundle === want ? [] : [{ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: want }]);
  if (ops.length === 0) return;
  await kube.request('PATCH', path, ops, JSON_PATCH);
  log.info({ webhook: configName }, 'updated webhook caBundle');
}
