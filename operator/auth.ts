// Who is on the other end of a config stream: TokenReview checks the projected token (signature, expiry,
// audience, and that the pod it is bound to still exists), and its claims name the pod.

import type { Kube } from './kube/rest.ts';

const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';

export async function reviewToken(kube: Kube, token: string, audience: string): Promise<{ namespace: string; name: string; uid: string } | { error: string }> {
  const review = await kube.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] },
  });
  const st = review?.status ?? {};
  if (!st.authenticated) return { error: `token rejected: ${st.error ?? 'not authenticated'}` };
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(st.user?.username ?? '');
  const name = st.user?.extra?.[POD_NAME]?.[0];
  const uid = st.user?.extra?.[POD_UID]?.[0];
  if (!m || !name || !uid) return { error: 'the token is not a pod-bound service-account token' };
  return { namespace: m[1]!, name, uid };
}
