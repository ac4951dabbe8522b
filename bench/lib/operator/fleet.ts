// A fleet of lightweight sidecars in one process: each opens its own TLS connection and HTTP/2 config
// stream to the operator, exactly as sidecar/config/operatorClient.ts does (POST /v1/sidecar/stream,
// bearer pod-bound token, NDJSON both ways, a hello first, an ACK for every config with its version),
// but without compiling the config: it only notes when each config arrived and which policy revision it
// carries (the "marker": the policy's first deployment's model, which the benchmark rewrites).

import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { CONFIG_STREAM_PATH, NDJSON, NdjsonReader, ndjson, type OperatorMessage } from '../../../api/configStream.ts';

export interface ClientSpec { namespace: string; pod: string; policy: string; token: string }

export interface FleetClient extends ClientSpec {
  id: number;
  session?: ClientHttp2Session;
  stream?: ClientHttp2Stream;
  status?: number;
  openedAt?: number;
  /** performance.now() when the first config was ACKed. */
  firstConfigAt?: number;
  configs: number;
  noConfigs: number;
  pings: number;
  lastVersion?: string;
  lastMarker?: string;
  /** marker → performance.now() right after its ACK was written. */
  seen: Map<string, number>;
  error?: string;
  closed: boolean;
}

interface Waiter { remaining: Set<number>; resolve: () => void }

export class Fleet {
  readonly clients: FleetClient[] = [];
  readonly #url: string;
  readonly #ca: string;
  readonly #waiters = new Map<string, Waiter>();
  #firstWaiters: (() => void)[] = [];
  #firsts = 0;

  constructor(url: string, caPEM: string) {
    this.#url = url;
    this.#ca = caPEM;
  }

  /** Opens one stream per spec, at most `concurrency` handshakes in flight; resolves once every stream got a first config. */
  async open(specs: ClientSpec[], concurrency: number, timeoutMs: number): Promise<{ ms: number; firstConfigMs: number[] }> {
    const t0 = performance.now();
    for (const s of specs) this.clients.push({ ...s, id: this.clients.length, configs: 0, noConfigs: 0, pings: 0, seen: new Map(), closed: false });
    await this.#openAll(this.clients, concurrency, timeoutMs);
    return { ms: performance.now() - t0, firstConfigMs: this.clients.map((c) => c.firstConfigAt! - c.openedAt!) };
  }

  /** Closes every stream and opens them all again at once (an operator restart as the sidecars see it). */
  async reopen(concurrency: number, timeoutMs: number): Promise<{ ms: number; firstConfigMs: number[] }> {
    this.closeAll();
    await new Promise((r) => setTimeout(r, 500));
    const t0 = performance.now();
    for (const c of this.clients) {
      Object.assign(c, { status: undefined, firstConfigAt: undefined, error: undefined, closed: false, session: undefined, stream: undefined });
    }
    this.#firsts = 0;
    await this.#openAll(this.clients, concurrency, timeoutMs);
    return { ms: performance.now() - t0, firstConfigMs: this.clients.map((c) => c.firstConfigAt! - c.openedAt!) };
  }

  async #openAll(clients: FleetClient[], concurrency: number, timeoutMs: number): Promise<void> {
    const allFirst = new Promise<void>((resolve) => {
      if (this.#firsts >= this.clients.length) resolve();
      else this.#firstWaiters.push(resolve);
    });
    let next = 0;
    // A handshake slot is released when the stream's first config arrives (or it fails).
    const worker = async () => {
      while (next < clients.length) {
        const c = clients[next++]!;
        await new Promise<void>((release) => this.#openOne(c, release));
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const missing = this.clients.filter((c) => c.firstConfigAt === undefined);
        const errs = [...new Set(missing.map((c) => c.error ?? `status ${c.status ?? 'none'}`))].slice(0, 5);
        reject(new Error(`${missing.length} of ${this.clients.length} streams had no config after ${timeoutMs} ms (${errs.join('; ')})`));
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all([Promise.all(Array.from({ length: concurrency }, worker)), allFirst]), timeout]);
      const failed = this.clients.filter((c) => c.error);
      if (failed.length) throw new Error(`${failed.length} streams failed, e.g. ${failed[0]!.pod}: ${failed[0]!.error}`);
    } finally {
      clearTimeout(timer);
    }
  }

  #openOne(c: FleetClient, release: () => void): void {
    let released = false;
    const done = () => { if (!released) { released = true; release(); } };
    c.openedAt = performance.now();
    const s = connect(this.#url, { ca: this.#ca });
    c.session = s;
    s.on('error', (err) => { c.error ??= err.message; done(); });
    s.on('close', () => { if (!c.closed && c.firstConfigAt === undefined) { c.error ??= 'connection closed'; done(); } });
    const stream = s.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: CONFIG_STREAM_PATH,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: NDJSON,
      authorization: `Bearer ${c.token}`,
    });
    c.stream = stream;
    stream.on('response', (h) => {
      c.status = Number(h[constants.HTTP2_HEADER_STATUS]);
      if (c.status !== 200) { c.error = `HTTP ${c.status}`; done(); }
    });
    stream.on('error', (err) => { c.error ??= err.message; done(); });
    stream.write(ndjson({ type: 'hello', configVersion: null, sidecarVersion: 'bench' }));
    const reader = new NdjsonReader();
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      for (const m of reader.push(chunk) as OperatorMessage[]) {
        if (m.type === 'config') {
          stream.write(ndjson({ type: 'ack', version: m.version }));
          const t = performance.now();
          c.configs++;
          c.lastVersion = m.version;
          const marker = m.config.policies[0]?.models[0]?.deployments[0]?.model;
          if (marker !== undefined) this.#saw(c, marker, t);
          if (c.firstConfigAt === undefined) {
            c.firstConfigAt = t;
            if (++this.#firsts >= this.clients.length) { for (const w of this.#firstWaiters) w(); this.#firstWaiters = []; }
            done();
          }
        } else if (m.type === 'noConfig') {
          c.noConfigs++;
        } else if (m.type === 'ping') {
          c.pings++;
        }
      }
    });
  }

  #saw(c: FleetClient, marker: string, t: number): void {
    c.lastMarker = marker;
    if (!c.seen.has(marker)) c.seen.set(marker, t);
    const w = this.#waiters.get(marker);
    if (w && w.remaining.delete(c.id) && w.remaining.size === 0) {
      this.#waiters.delete(marker);
      w.resolve();
    }
  }

  /**
   * Resolves when every client in `ids` has ACKed a config carrying `marker` (or at the deadline, with the
   * ids still missing). Must be called before the update that produces the marker is sent.
   */
  expect(marker: string, ids: number[], timeoutMs: number): Promise<number[]> {
    const remaining = new Set(ids.filter((id) => !this.clients[id]!.seen.has(marker)));
    if (remaining.size === 0) return Promise.resolve([]);
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#waiters.delete(marker); resolve([...remaining]); }, timeoutMs);
      this.#waiters.set(marker, { remaining, resolve: () => { clearTimeout(timer); resolve([]); } });
    });
  }

  openCount(): number {
    return this.clients.filter((c) => c.status === 200 && !c.closed && c.stream && !c.stream.closed).length;
  }

  closeAll(): void {
    for (const c of this.clients) {
      c.closed = true;
      try { c.session?.destroy(); } catch { /* already gone */ }
    }
  }
}
