// sidecar/resilience: error classes, Retry-After, backoff with full jitter, deployment health (cooldown,
// bucketed failure-rate window, latency EWMA) and the deployment balancer.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { retryDelay, type BackoffSettings } from '../../sidecar/resilience/backoff.ts';
import { earliestRecovery, pickDeployment, type Candidate, type Strategy } from '../../sidecar/resilience/balancer.ts';
import { classifyNetworkError, classifyStatus, HEALTH_FAILURES, parseRetryAfter, RETRYABLE } from '../../sidecar/resilience/errorClass.ts';
import { DeploymentHealth, HealthRegistry, type CooldownSettings } from '../../sidecar/resilience/health.ts';

const T0 = 1_750_000_000_000;

// ------------------------------------------------------------------------------------------ errorClass

describe('classifyStatus', () => {
  const cases: [number, string, string | undefined, string][] = [
    [429, 'Rate limit reached for gpt-4o', 'rate_limit_exceeded', 'rateLimited'],
    [429, "This model's maximum context length is 8192 tokens", undefined, 'rateLimited'],
    [408, 'request timeout', undefined, 'timeout'],
    [504, 'gateway timeout', undefined, 'timeout'],
    [500, 'internal error', undefined, 'serverError'],
    [502, 'bad gateway', undefined, 'serverError'],
    [503, 'The server is overloaded', undefined, 'serverError'],
    [529, 'Overloaded', 'overloaded_error', 'serverError'],
    [500, 'content filter crashed', undefined, 'serverError'],
    [401, 'Incorrect API key provided', 'invalid_api_key', 'auth'],
    [403, 'Permission denied', undefined, 'auth'],
    [400, "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", 'context_length_exceeded', 'contextWindowExceeded'],
    [400, 'Invalid request', 'context_length_exceeded', 'contextWindowExceeded'],
    [400, 'prompt is too long: 210000 tokens > 200000 maximum', 'invalid_request_error', 'contextWindowExceeded'],
    [400, 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).', 'INVALID_ARGUMENT', 'contextWindowExceeded'],
    [413, 'Please reduce the length of the messages.', undefined, 'contextWindowExceeded'],
    [400, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", 'content_filter', 'contentPolicy'],
    [400, 'Invalid prompt', 'ResponsibleAIPolicyViolation', 'contentPolicy'],
    [400, 'Your request was flagged by our safety system', undefined, 'contentPolicy'],
    [400, "Invalid value for 'temperature'", 'invalid_request_error', 'badRequest'],
    [404, 'The model `gpt-9` does not exist', 'model_not_found', 'badRequest'],
    [422, 'Unprocessable', undefined, 'badRequest'],
  ];
  for (const [status, message, code, expected] of cases) {
    it(`${status} ${JSON.stringify(message.slice(0, 40))}${code ? ` (${code})` : ''} → ${expected}`, () => {
      assert.equal(classifyStatus(status, message, code), expected);
    });
  }

  it('RETRYABLE is exactly rateLimited, serverError, timeout, connection', () => {
    assert.deepEqual([...RETRYABLE].sort(), ['connection', 'rateLimited', 'serverError', 'timeout']);
  });

  it('HEALTH_FAILURES is the retryable classes plus auth: a client\'s bad request never cools a deployment', () => {
    assert.deepEqual([...HEALTH_FAILURES].sort(), ['auth', 'connection', 'rateLimited', 'serverError', 'timeout']);
  });
});

describe('classifyNetworkError', () => {
  const err = (code?: string) => Object.assign(new Error('x'), code ? { code } : {});
  for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']) {
    it(`${code} → timeout (on the error or its cause)`, () => {
      assert.equal(classifyNetworkError(err(code)), 'timeout');
      assert.equal(classifyNetworkError(new Error('fetch failed', { cause: err(code) })), 'timeout');
    });
  }
  for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ENOTFOUND', 'UND_ERR_SOCKET', 'EPIPE']) {
    it(`${code} → connection`, () => assert.equal(classifyNetworkError(err(code)), 'connection'));
  }
  it('no code at all → connection', () => assert.equal(classifyNetworkError(new Error('socket hang up')), 'connection'));
  it('the error\'s own code wins over its cause\'s', () => {
    assert.equal(classifyNetworkError(Object.assign(new Error('x', { cause: err('ETIMEDOUT') }), { code: 'ECONNRESET' })), 'connection');
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
  it('delta-seconds', () => {
    assert.equal(parseRetryAfter('5', now), 5);
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('120', now), 120);
    assert.equal(parseRetryAfter(' 7 ', now), 7);
    assert.equal(parseRetryAfter('1.5', now), 1.5, 'fractional seconds, which some providers send');
  });
  it('an HTTP-date, as seconds from now', () => {
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', now), 30);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:30:00 GMT', now), 120);
  });
  it('an HTTP-date in the past is 0', () => assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now), 0));
  it('the first of several header values', () => assert.equal(parseRetryAfter(['3', '9'], now), 3));
  it('absent or empty → undefined', () => {
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
    assert.equal(parseRetryAfter([], now), undefined);
  });
  it('a value that is not a date → undefined', () => {
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('5s', now), undefined);
  });
  // Retry-After = HTTP-date / delay-seconds (RFC 9110 §10.2.3); anything else must be ignored. V8's Date.parse
  // accepts junk like "-1" or "in 5" (as dates in 2001), which makes these 0: a 429 carrying one then
  // cools the deployment for 0 ms and is retried with no backoff at all.
  it('a malformed value that Date.parse happens to accept is ignored too', () => {
    for (const v of ['-1', 'in 5', 'Retry 5']) assert.equal(parseRetryAfter(v, now), undefined, JSON.stringify(v));
  });
});

// --------------------------------------------------------------------------------------------- backoff

describe('retryDelay (full jitter)', () => {
  const exp: BackoffSettings = { backoff: 'exponential', baseMs: 200, maxMs: 8000 };
  it('exponential: the ceiling doubles per retry and is capped at maxMs', () => {
    const top = () => 0.999_999_9;
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 10].map((r) => retryDelay(r, exp, top)), [200, 400, 800, 1600, 3200, 6400, 8000, 8000]);
  });
  it('the delay is ceiling × random, rounded', () => {
    assert.equal(retryDelay(2, exp, () => 0), 0);
    assert.equal(retryDelay(2, exp, () => 0.5), 400);
    assert.equal(retryDelay(0, exp, () => 0.25), 50);
  });
  it('constant: the ceiling is baseMs for every retry', () => {
    const c: BackoffSettings = { backoff: 'constant', baseMs: 300, maxMs: 8000 };
    assert.deepEqual([0, 1, 5].map((r) => retryDelay(r, c, () => 0.999_999_9)), [300, 300, 300]);
  });

  const settings = fc.record({
    backoff: fc.constantFrom<'exponential' | 'constant'>('exponential', 'constant'),
    baseMs: fc.integer({ min: 0, max: 60_000 }),
    maxMs: fc.integer({ min: 0, max: 600_000 }),
  });
  const uniform = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

  it('property: exponential delays are within [0, min(maxMs, baseMs·2^retry)]', () => {
    fc.assert(fc.property(settings, fc.integer({ min: 0, max: 30 }), uniform, (s, retry, u) => {
      const d = retryDelay(retry, { ...s, backoff: 'exponential' }, () => u);
      assert.ok(Number.isInteger(d) && d >= 0 && d <= Math.min(s.maxMs, s.baseMs * 2 ** retry), `${d}`);
    }), { numRuns: 2000 });
  });

  it('property: any delay is within [0, maxDelay] when baseDelay ≤ maxDelay', () => {
    fc.assert(fc.property(settings.filter((s) => s.baseMs <= s.maxMs), fc.integer({ min: 0, max: 30 }), uniform, (s, retry, u) => {
      const d = retryDelay(retry, s, () => u);
      assert.ok(d >= 0 && d <= s.maxMs, `${d} outside [0, ${s.maxMs}]`);
    }), { numRuns: 2000 });
  });

  // The contract calls maxDelay "Cap on a retry delay", and validation accepts baseDelay > maxDelay.
  it('constant backoff with baseDelay above maxDelay is still capped at maxDelay', () => {
    const s: BackoffSettings = { backoff: 'constant', baseMs: 10_000, maxMs: 8000 };
    const d = retryDelay(0, s, () => 0.9);
    assert.ok(d <= s.maxMs, `delay ${d} ms exceeds maxDelay ${s.maxMs} ms`);
  });
});

// ---------------------------------------------------------------------------------------------- health

const S: CooldownSettings = { durationMs: 30_000, failureRate: 0.5, windowMs: 60_000, minRequests: 5 };

describe('DeploymentHealth: cooldown', () => {
  it('a 429 cools down for its Retry-After, longer or shorter than the policy duration', () => {
    const h = new DeploymentHealth();
    assert.equal(h.recordFailure(T0, 'rateLimited', S, 90), true);
    assert.equal(h.cooldownUntil, T0 + 90_000);
    assert.equal(h.cooldownReason, 'rateLimited');
    const g = new DeploymentHealth();
    g.recordFailure(T0, 'rateLimited', S, 2);
    assert.equal(g.cooldownUntil, T0 + 2000);
  });

  it('a 429 without Retry-After cools down for the policy duration', () => {
    const h = new DeploymentHealth();
    assert.equal(h.recordFailure(T0, 'rateLimited', S), true);
    assert.equal(h.cooldownUntil, T0 + 30_000);
  });

  it('inCooldown is true strictly before cooldownUntil', () => {
    const h = new DeploymentHealth();
    h.recordFailure(T0, 'rateLimited', S, 1);
    assert.equal(h.inCooldown(T0), true);
    assert.equal(h.inCooldown(T0 + 999), true);
    assert.equal(h.inCooldown(T0 + 1000), false);
    assert.equal(new DeploymentHealth().inCooldown(T0), false);
  });

  it('another 429 while cooling returns false and never shortens the cooldown', () => {
    const h = new DeploymentHealth();
    h.recordFailure(T0, 'rateLimited', S, 60);
    assert.equal(h.recordFailure(T0 + 1000, 'rateLimited', S, 5), false);
    assert.equal(h.cooldownUntil, T0 + 60_000);
    assert.equal(h.recordFailure(T0 + 2000, 'rateLimited', S, 120), false);
    assert.equal(h.cooldownUntil, T0 + 122_000);
  });

  it('a 429 after a cooldown ended starts a new one (returns true)', () => {
    const h = new DeploymentHealth();
    h.recordFailure(T0, 'rateLimited', S, 1);
    assert.equal(h.recordFailure(T0 + 5000, 'rateLimited', S, 1), true);
  });

  it('other failures cool down only once minRequests are in the window and the failure rate reaches failureRate', () => {
    const h = new DeploymentHealth();
    for (let i = 0; i < 3; i++) h.recordSuccess(T0 + i, 100, S);
    assert.equal(h.recordFailure(T0 + 10, 'serverError', S), false, '1/4 failed and below minRequests');
    assert.equal(h.recordFailure(T0 + 11, 'serverError', S), false, '2/5 failed < 0.5');
    assert.equal(h.inCooldown(T0 + 11), false);
    assert.equal(h.recordFailure(T0 + 12, 'timeout', S), true, '3/6 failed = 0.5 trips');
    assert.equal(h.cooldownUntil, T0 + 12 + 30_000);
    assert.equal(h.cooldownReason, 'timeout');
  });

  it('below minRequests even 100% failures do not cool down', () => {
    const h = new DeploymentHealth();
    for (let i = 0; i < 4; i++) assert.equal(h.recordFailure(T0 + i, 'serverError', S), false);
    assert.equal(h.recordFailure(T0 + 4, 'serverError', S), true);
  });

  it('a failure-rate cooldown uses the policy duration even when a Retry-After came with it', () => {
    const h = new DeploymentHealth();
    const s = { ...S, minRequests: 1 };
    h.recordFailure(T0, 'serverError', s, 3);
    assert.equal(h.cooldownUntil, T0 + 30_000);
  });

  it('failures older than the window no longer count', () => {
    const h = new DeploymentHealth();
    for (let i = 0; i < 4; i++) h.recordFailure(T0 + i, 'serverError', S);
    // 61 s later the four are out of the 60 s window: this one is 1 of 1, below minRequests.
    assert.equal(h.recordFailure(T0 + 61_000, 'serverError', S), false);
    // …while 50 s later they still count.
    const g = new DeploymentHealth();
    for (let i = 0; i < 4; i++) g.recordFailure(T0 + i, 'serverError', S);
    assert.equal(g.recordFailure(T0 + 50_000, 'serverError', S), true);
  });

  it('property: trips exactly when the last 10 buckets of the window hold ≥ minRequests with failure share ≥ failureRate', () => {
    const step = fc.record({ dt: fc.oneof(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 20_000 })), failed: fc.boolean() });
    const settings = fc.record({
      windowMs: fc.constantFrom(1000, 10_000, 60_000, 999), minRequests: fc.integer({ min: 1, max: 6 }),
      failureRate: fc.double({ min: 0.05, max: 1, noNaN: true }),
    });
    fc.assert(fc.property(settings, fc.array(step, { maxLength: 80 }), (st, steps) => {
      const s: CooldownSettings = { ...st, durationMs: 0 }; // a zero cooldown never carries over, so each verdict is independent
      const h = new DeploymentHealth();
      const seen: { slot: number; failed: boolean }[] = [];
      const width = s.windowMs / 10;
      let now = T0;
      for (const { dt, failed } of steps) {
        now += dt;
        const slot = Math.floor(now / width);
        seen.push({ slot, failed });
        const inWindow = seen.filter((e) => slot - e.slot < 10);
        const total = inWindow.length;
        const bad = inWindow.filter((e) => e.failed).length;
        if (failed) {
          const expected = total >= s.minRequests && bad / total >= s.failureRate;
          assert.equal(h.recordFailure(now, 'serverError', s), expected, `at +${now - T0} ms: ${bad}/${total}`);
        } else h.recordSuccess(now, 10, s);
      }
    }), { numRuns: 500 });
  });
});

describe('DeploymentHealth: latency EWMA', () => {
  it('starts at the first sample, then moves 30% toward each new one; failures do not touch it', () => {
    const h = new DeploymentHealth();
    assert.equal(h.latencyMs, undefined);
    h.recordSuccess(T0, 100, S);
    assert.equal(h.latencyMs, 100);
    h.recordSuccess(T0 + 1, 200, S);
    assert.equal(h.latencyMs, 130);
    h.recordFailure(T0 + 2, 'serverError', S);
    assert.equal(h.latencyMs, 130);
    h.recordSuccess(T0 + 3, 0, S);
    assert.ok(Math.abs(h.latencyMs! - 91) < 1e-9);
  });
});

describe('HealthRegistry', () => {
  it('one record per id, kept until retain() drops it', () => {
    const r = new HealthRegistry();
    const a = r.get('a');
    assert.equal(r.get('a'), a);
    r.get('b');
    assert.deepEqual([...r.entries()].map(([id]) => id), ['a', 'b']);
    a.inFlight = 2;
    r.retain(new Set(['a', 'c']));
    assert.deepEqual([...r.entries()].map(([id]) => id), ['a']);
    assert.equal(r.get('a').inFlight, 2, 'kept records keep their state across reloads');
    assert.notEqual(r.get('b'), undefined);
    assert.equal(r.get('b').inFlight, 0, 'a dropped record comes back fresh');
  });
});

// -------------------------------------------------------------------------------------------- balancer

function cand(weight = 1, h: Partial<Pick<DeploymentHealth, 'inFlight' | 'latencyMs' | 'cooldownUntil'>> = {}): Candidate {
  return { weight, health: Object.assign(new DeploymentHealth(), h) };
}
const none = new Set<number>();
const never = () => assert.fail('random must not be drawn');

describe('pickDeployment', () => {
  it('a single available deployment is picked without drawing', () => {
    assert.equal(pickDeployment([cand()], 'weighted', none, T0, never), 0);
    assert.equal(pickDeployment([cand(1, { cooldownUntil: T0 + 1 }), cand()], 'leastBusy', none, T0, never), 1);
  });

  it('every deployment cooling → undefined; earliestRecovery is the soonest end', () => {
    const cs = [cand(1, { cooldownUntil: T0 + 5000 }), cand(1, { cooldownUntil: T0 + 2000 }), cand(1, { cooldownUntil: T0 + 9000 })];
    for (const s of ['weighted', 'leastBusy', 'lowestLatency'] as Strategy[]) assert.equal(pickDeployment(cs, s, none, T0), undefined);
    assert.equal(earliestRecovery(cs), T0 + 2000);
    assert.equal(pickDeployment(cs, 'weighted', none, T0 + 2000, never), 1, 'available again once its cooldown ends');
  });

  it('leastBusy picks the fewest in flight', () => {
    const cs = [cand(1, { inFlight: 3 }), cand(1, { inFlight: 1 }), cand(1, { inFlight: 2 })];
    assert.equal(pickDeployment(cs, 'leastBusy', none, T0, () => 0.99), 1);
  });

  it('leastBusy breaks ties at random among the tied only', () => {
    const cs = [cand(1, { inFlight: 1 }), cand(1, { inFlight: 5 }), cand(1, { inFlight: 1 })];
    assert.equal(pickDeployment(cs, 'leastBusy', none, T0, () => 0), 0);
    assert.equal(pickDeployment(cs, 'leastBusy', none, T0, () => 0.99), 2);
  });

  it('lowestLatency picks the lowest EWMA, and an unmeasured deployment first', () => {
    const cs = [cand(1, { latencyMs: 300 }), cand(1, { latencyMs: 120 }), cand(1, { latencyMs: 900 })];
    assert.equal(pickDeployment(cs, 'lowestLatency', none, T0, () => 0.5), 1);
    cs.push(cand());
    assert.equal(pickDeployment(cs, 'lowestLatency', none, T0, () => 0.5), 3);
  });

  it('weighted: the draw walks the cumulative weights', () => {
    const cs = [cand(1), cand(3)];
    assert.equal(pickDeployment(cs, 'weighted', none, T0, () => 0), 0);
    assert.equal(pickDeployment(cs, 'weighted', none, T0, () => 0.24), 0);
    assert.equal(pickDeployment(cs, 'weighted', none, T0, () => 0.25), 1);
    assert.equal(pickDeployment(cs, 'weighted', none, T0, () => 0.999), 1);
  });

  it('weighted: weight 0 is never picked while a positive weight is available; all zero → uniform', () => {
    const cs = [cand(0), cand(2), cand(0)];
    for (const u of [0, 0.3, 0.7, 0.999]) assert.equal(pickDeployment(cs, 'weighted', none, T0, () => u), 1);
    const zero = [cand(0), cand(0)];
    assert.equal(pickDeployment(zero, 'weighted', none, T0, () => 0.2), 0);
    assert.equal(pickDeployment(zero, 'weighted', none, T0, () => 0.7), 1);
  });

  it('prefers a deployment not yet tried for this request, whatever the strategy says', () => {
    const cs = [cand(1000, { inFlight: 0, latencyMs: 1 }), cand(1, { inFlight: 50, latencyMs: 5000 })];
    for (const s of ['weighted', 'leastBusy', 'lowestLatency'] as Strategy[]) assert.equal(pickDeployment(cs, s, new Set([0]), T0, () => 0), 1, s);
  });

  it('once every available deployment was tried, retries among all of them by strategy', () => {
    const cs = [cand(1, { inFlight: 4 }), cand(1, { inFlight: 2 }), cand(1, { cooldownUntil: T0 + 1 })];
    assert.equal(pickDeployment(cs, 'leastBusy', new Set([0, 1]), T0, () => 0), 1);
  });

  it('an untried deployment that is cooling is not preferred over a tried one that is not', () => {
    const cs = [cand(), cand(1, { cooldownUntil: T0 + 10_000 })];
    assert.equal(pickDeployment(cs, 'weighted', new Set([0]), T0, never), 0);
  });

  const strategy = fc.constantFrom<Strategy>('weighted', 'leastBusy', 'lowestLatency');
  const candidate = fc.record({
    weight: fc.integer({ min: 0, max: 10 }),
    cooling: fc.boolean(),
    inFlight: fc.integer({ min: 0, max: 5 }),
    latencyMs: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
  });

  it('property: never picks a cooling deployment; undefined only when all cool; untried preferred; strategy optimum respected', () => {
    fc.assert(fc.property(fc.array(candidate, { minLength: 1, maxLength: 8 }), strategy, fc.array(fc.nat({ max: 7 })), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (specs, s, triedList, u) => {
        const cs = specs.map((c) => cand(c.weight, { inFlight: c.inFlight, latencyMs: c.latencyMs, cooldownUntil: c.cooling ? T0 + 1000 : 0 }));
        const tried = new Set(triedList);
        const i = pickDeployment(cs, s, tried, T0, () => u);
        const available = cs.map((_, k) => k).filter((k) => !specs[k]!.cooling);
        if (available.length === 0) return assert.equal(i, undefined);
        assert.ok(i !== undefined && available.includes(i), `picked ${i} of available ${available}`);
        const fresh = available.filter((k) => !tried.has(k));
        const pool = fresh.length ? fresh : available;
        assert.ok(pool.includes(i), `picked ${i}, expected one of ${pool}`);
        if (s === 'leastBusy') assert.equal(cs[i]!.health.inFlight, Math.min(...pool.map((k) => cs[k]!.health.inFlight)));
        if (s === 'lowestLatency') assert.equal(cs[i]!.health.latencyMs ?? 0, Math.min(...pool.map((k) => cs[k]!.health.latencyMs ?? 0)));
        if (s === 'weighted' && pool.some((k) => cs[k]!.weight > 0) && pool.length > 1) assert.ok(cs[i]!.weight > 0, 'weight-0 picked');
      }), { numRuns: 2000 });
  });

  it('property: weighted picks over a uniform grid of draws match the weights exactly (±1 per deployment)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 2, maxLength: 6 }).filter((w) => w.some((x) => x > 0)), (weights) => {
      const cs = weights.map((w) => cand(w));
      const N = 2000;
      const counts = weights.map(() => 0);
      for (let k = 0; k < N; k++) counts[pickDeployment(cs, 'weighted', none, T0, () => (k + 0.5) / N)!]!++;
      const total = weights.reduce((a, b) => a + b, 0);
      weights.forEach((w, j) => assert.ok(Math.abs(counts[j]! - (N * w) / total) <= 1, `weights ${weights}: counts ${counts}`));
    }), { numRuns: 200 });
  });

  it('weighted picks with Math.random converge to the weights', () => {
    const weights = [1, 3, 6];
    const cs = weights.map((w) => cand(w));
    const N = 60_000;
    const counts = [0, 0, 0];
    for (let k = 0; k < N; k++) counts[pickDeployment(cs, 'weighted', none, T0)!]!++;
    // 6σ of a binomial share is < 0.012 at this N; a wrong algorithm is off by far more.
    weights.forEach((w, j) => assert.ok(Math.abs(counts[j]! / N - w / 10) < 0.012, `counts ${counts}`));
  });
});
