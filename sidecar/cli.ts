// `triage sidecar`: flags → startSidecar, and a clean shutdown on SIGTERM/SIGINT.

import { parseArgs } from 'node:util';
import { DEFAULT_MAX_BODY_BYTES, StartupError, startSidecar } from './main.ts';

const USAGE = `usage: triage sidecar (--config FILE | --operator URL) [--listen 127.0.0.1:4000] [--admin-listen 0.0.0.0:4001]
                      [--max-body-bytes N] [--log-level info]

  --config FILE    standalone: a YAML config file, reloaded when it changes
  --operator URL   in a cluster: the operator's config stream; needs TRIAGE_OPERATOR_CA (PEM)
                   and TRIAGE_TOKEN_FILE (the projected service-account token), set by the injector
`;

export async function runSidecarCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        operator: { type: 'string' },
        listen: { type: 'string', default: process.env.TRIAGE_LISTEN ?? '127.0.0.1:4000' },
        'admin-listen': { type: 'string', default: process.env.TRIAGE_ADMIN_LISTEN ?? '0.0.0.0:4001' },
        'max-body-bytes': { type: 'string', default: String(DEFAULT_MAX_BODY_BYTES) },
        'log-level': { type: 'string', default: process.env.TRIAGE_LOG_LEVEL ?? 'info' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`triage sidecar: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { process.stdout.write(USAGE); return 0; }
  if (!values.config === !values.operator) { process.stderr.write(`triage sidecar: give exactly one of --config and --operator\n${USAGE}`); return 2; }
  let operator;
  if (values.operator) {
    const caPEM = process.env.TRIAGE_OPERATOR_CA;
    const tokenFile = process.env.TRIAGE_TOKEN_FILE;
    if (!caPEM || !tokenFile) { process.stderr.write('triage sidecar: --operator needs TRIAGE_OPERATOR_CA and TRIAGE_TOKEN_FILE\n'); return 2; }
    operator = { url: values.operator, caPEM, tokenFile };
  }
  const maxBodyBytes = Number(values['max-body-bytes']);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) { process.stderr.write('triage sidecar: --max-body-bytes must be a positive integer\n'); return 2; }
  process.env.TRIAGE_LOG_LEVEL = values['log-level'];

  let sidecar;
  try {
    sidecar = await startSidecar({ ...(values.config ? { configPath: values.config } : {}), ...(operator ? { operator } : {}), listen: values.listen!, adminListen: values['admin-listen']!, maxBodyBytes });
  } catch (err) {
    if (err instanceof StartupError || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`triage sidecar: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await sidecar.close();
  return 0;
}
