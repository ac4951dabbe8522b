// A mock OpenAI upstream in its own process, for the benchmark:
//   node bench/lib/mock-server.ts [--port 0] [--api-key test-key] [--scenario '{"kind":"ok","chunkDelayMs":1000}']
// Like test/mocks/cli.ts (requests are not recorded, so memory stays flat over long runs) plus a default
// scenario, which the CLI has no flag for. Prints one JSON line {"url":…,"port":…} when ready; exits 0 on
// SIGTERM / SIGINT.

import { parseArgs } from 'node:util';
import { startMockProvider } from '../../test/mocks/index.ts';
import type { Scenario } from '../../test/mocks/index.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'api-key': { type: 'string', default: 'test-key' },
    scenario: { type: 'string' },
  },
});

const mock = await startMockProvider({ wire: 'openai', port: Number(values.port), apiKey: values['api-key'], record: false });
if (values.scenario) mock.setDefault(JSON.parse(values.scenario) as Scenario);
process.stdout.write(JSON.stringify({ url: mock.url, port: mock.port }) + '\n');

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  mock.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
