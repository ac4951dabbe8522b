// Config distribution: every replica serves config streams. A sidecar authenticates with its projected
// token; the operator learns its pod, sends the pod's compiled config as a full snapshot, and sends a
// new snapshot whenever the compiled version changes. ACKs and NACKs are kept per session for status.

import type { ServerHttp2Stream } from 'node:http2';
import { NdjsonReader, PING_INTERVAL_MS, ndjson, type OperatorMessage, type SidecarMessage } from '../api/configStream.ts';
import type { Logger } from '../sidecar/log.ts';
import type { PodConfig } from './compile.ts';
import type { PodIdentity } from './objects.ts';

export interface DistributorDeps {
  /** Verifies a bearer token (TokenReview) and returns the pod it is bound to. */
  authenticate(token: string): Promise<{ namespace: string; name: string; uid: string } | { error: string }>;
  /** The pod's current identity (labels), or undefined if it does not exist (or has another uid). */
  pod(namespace: string, name: string, uid: string): PodIdentity | undefined | Promise<PodIdentity | undefined>;
  compile(pod: PodIdentity): PodConfig;
  log: Logger;
}

export interface Session {
  pod: PodIdentity;
  uid: string;
  sentVersion?: string;
  ackedVersion?: string;
  nack?: { version: string; reason: string };
  /** namespace/name of the policies in the last snapshot sent. */
  policies: string[];
  send(m: OperatorMessage): void;
  close(): void;
}

export interface PolicySidecars { connected: number; inSync: number; nacks: { pod: string; reason: string }[] }

export class Distributor {
  readonly sessions = new Set<Session>();
  readonly #deps: DistributorDeps;
  #refreshQueued = false;
  /** Called when session state changes (connect, ack, nack, disconnect), for status. */
  onChange: () => void = () => {};

  constructor(deps: DistributorDeps) {
    this.#deps = deps;
  }

  async handle(stream: ServerHttp2Stream, authorization: string | undefined): Promise<void> {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!token) return respond(stream, 401, 'missing bearer token');
    const who = await this.#deps.authenticate(token).catch((err: Error) => ({ error: err.message }));
    if ('error' in who) return respond(stream, 401, who.error);
    const pod = await this.#deps.pod(who.namespace, who.name, who.uid);
    if (!pod) return respond(stream, 403, `pod ${who.namespace}/${who.name} not found`);
    if (stream.destroyed) return;
    stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });

    const session: Session = {
      pod, uid: who.uid, policies: [],
      send: (m) => { if (!stream.destroyed && !stream.closed) stream.write(ndjson(m)); },
      close: () => stream.close(),
    };
    this.sessions.add(session);
    this.#deps.log.info({ pod: `${pod.namespace}/${pod.name}` }, 'sidecar connected');
    const ping = setInterval(() => session.send({ type: 'ping' }), PING_INTERVAL_MS);
    const reader = new NdjsonReader();
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      let messages: SidecarMessage[];
      try {
        messages = reader.push(chunk) as SidecarMessage[];
      } catch {
        return void stream.close(2 /* PROTOCOL_ERROR */);
      }
      for (const m of messages) this.#receive(session, m);
    });
    const done = () => {
      clearInterval(ping);
      if (this.sessions.delete(session)) {
        this.#deps.log.info({ pod: `${pod.namespace}/${pod.name}` }, 'sidecar disconnected');
        this.onChange();
      }
    };
    stream.on('close', done);
    stream.on('error', done);
    this.push(session);
    this.onChange();
  }

  #receive(s: Session, m: SidecarMessage): void {
    if (m.type === 'ack') {
      s.ackedVersion = m.version;
      if (s.nack?.version === m.version) s.nack = undefined;
    } else if (m.type === 'nack') {
      s.nack = { version: m.version, reason: m.reason };
      this.#deps.log.warn({ pod: `${s.pod.namespace}/${s.pod.name}`, version: m.version, reason: m.reason }, 'sidecar rejected config');
    } else if (m.type === 'hello') {
      // A reconnecting sidecar already holding the current version needs no resend to count as in sync.
      if (m.configVersion) s.ackedVersion = m.configVersion;
    }
    this.onChange();
  }

  /** Sends the session its config if the compiled version differs from what it was last sent. */
  push(s: Session): void {
    const { config, excluded } = this.#deps.compile(s.pod);
    if (!config) {
      const reason = excluded.length
        ? excluded.map((e) => `${e.policy}: ${e.problems.map((p) => p.reason).join(', ')}`).join('; ')
        : 'no RoutingPolicy selects this pod';
      // The sidecar keeps what it has; say why once per distinct reason.
      const marker = `none:${reason}`;
      if (s.sentVersion === marker) return;
      s.sentVersion = marker;
      s.policies = [];
      s.send({ type: 'noConfig', reason });
      return;
    }
    if (config.version === s.sentVersion) return;
    s.sentVersion = config.version;
    s.policies = config.policies.map((p) => `${s.pod.namespace}/${p.name}`);
    s.send({ type: 'config', version: config.version!, config });
  }

  /** Recompute every session's config after a change in the world; coalesced into one pass per tick. */
  refresh(): void {
    if (this.#refreshQueued) return;
    this.#refreshQueued = true;
    setImmediate(() => {
      this.#refreshQueued = false;
      for (const s of this.sessions) this.push(s);
      this.onChange();
    });
  }

  /** Re-reads a pod's labels (an informer saw it change) and re-pushes its sessions. */
  updatePod(pod: PodIdentity, uid: string): void {
    for (const s of this.sessions) if (s.uid === uid) { s.pod = pod; this.push(s); }
  }

  /** Ends the sessions of a deleted pod. */
  dropPod(uid: string): void {
    for (const s of this.sessions) if (s.uid === uid) s.close();
  }

  /** Per policy (namespace/name): sidecars holding it, and how many acknowledged the latest snapshot. */
  policyStats(): Map<string, PolicySidecars> {
    const out = new Map<string, PolicySidecars>();
    for (const s of this.sessions) {
      for (const p of s.policies) {
        let st = out.get(p);
        if (!st) out.set(p, (st = { connected: 0, inSync: 0, nacks: [] }));
        st.connected++;
        if (s.sentVersion !== undefined && s.ackedVersion === s.sentVersion) st.inSync++;
        if (s.nack && s.nack.version === s.sentVersion) st.nacks.push({ pod: s.pod.name, reason: s.nack.reason });
      }
    }
    return out;
  }
}

function respond(stream: ServerHttp2Stream, status: number, message: string): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': status, 'content-type': 'application/json' });
  stream.end(JSON.stringify({ error: message }));
}
