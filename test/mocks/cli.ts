// Starts mock providers on fixed loopback ports and prints one JSON line of their base URLs when ready:
//   node test/mocks/cli.ts --openai 9001 --anthropic 9002 --gemini 9003 [--api-key K]
// Any subset of the three wires may be given. Requests are not recorded (nothing could read them from
// outside, and a benchmark would grow memory). Exits 0 on SIGTERM / SIGINT after closing the servers.

import { startMockProvider } from './providers.ts';
import type { MockProvider, MockWire } from './providers.ts';

const USAGE = 'usage: node test/mocks/cli.ts [--openai PORT] [--anthropic PORT] [--gemini PORT] [--api-key KEY]';

function fail(msg: string): never {
  process.stderr.write(msg + '\n' + USAGE + '\n');
  process.exit(2);
}

const ports: Partial<Record<MockWire, number>> = {};
let apiKey: string | undefined;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const v = args[i + 1];
  if (a === '--help' || a === '-h') {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  if (v === undefined) fail(`missing value after ${a}`);
  i++;
  if (a === '--api-key') {
    apiKey = v;
    continue;
  }
  const wire = a === '--openai' ? 'openai' : a === '--anthropic' ? 'anthropic' : a === '--gemini' ? 'gemini' : undefined;
  if (!wire) fail(`unknown argument ${a}`);
  const port = Number(v);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port for ${a}: ${v}`);
  ports[wire] = port;
}
const wires = Object.keys(ports) as MockWire[];
if (wires.length === 0) fail('give at least one of --openai, --anthropic, --gemini');

const started: MockProvider[] = [];
try {
  for (const wire of wires) {
    const opts: Parameters<typeof startMockProvider>[0] = { wire, port: ports[wire] as number, record: false };
    if (apiKey !== undefined) opts.apiKey = apiKey;
    started.push(await startMockProvider(opts));
  }
} catch (e) {
  await Promise.all(started.map((m) => m.close()));
  fail(`could not start mocks: ${(e as Error).message}`);
}

const out: Record<string, string> = {};
for (const m of started) out[m.wire] = m.url;
process.stdout.write(JSON.stringify(out) + '\n');

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  Promise.all(started.map((m) => m.close())).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
