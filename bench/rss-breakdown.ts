// Where the sidecar's idle RSS comes from: each of its heavy imports loaded alone in a fresh Node process,
// RSS measured after the import (and 1 s to settle), against a bare process.
//
//   node bench/rss-breakdown.ts            prints a table (MiB); add --json for JSON
//
// Imports are not additive (they share heap growth), so the rows say what each one costs on its own; the
// last row is the sidecar's whole module graph.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CASES: [string, string | null][] = [
  ['node, plain .mjs (no TypeScript)', null],
  ['node, a .ts entry (type stripping loaded)', null],
  ['undici', 'undici'],
  ['@sinclair/typebox', '@sinclair/typebox'],
  ['ajv', 'ajv'],
  ['express', 'express'],
  ['prom-client', 'prom-client'],
  ['pino', 'pino'],
  ['js-yaml', 'js-yaml'],
  ['api/validate.ts (typebox + ajv schemas)', join(ROOT, 'api', 'validate.ts')],
  ['sidecar/metrics.ts (prom-client + default metrics)', join(ROOT, 'sidecar', 'metrics.ts')],
  ['sidecar/admin.ts (express)', join(ROOT, 'sidecar', 'admin.ts')],
  ['sidecar/server.ts (proxy path, undici)', join(ROOT, 'sidecar', 'server.ts')],
  ['sidecar/main.ts (everything the sidecar loads)', join(ROOT, 'sidecar', 'main.ts')],
];

const dir = mkdtempSync(join(tmpdir(), 'triage-rss-'));
try {
  const rows: { what: string; rssMiB: number }[] = [];
  for (const [what, mod] of CASES) {
    // Every probe but the first is a .ts file, so all compare with the same baseline (row 2).
    const ts = rows.length > 0;
    const file = join(dir, ts ? 'probe.ts' : 'probe.mjs');
    // Bare specifiers are resolved here (from the repository's node_modules), the probe imports the file URL.
    const spec = mod === null ? null : mod.startsWith('/') ? pathToFileURL(mod).href : import.meta.resolve(mod);
    const src = [
      spec ? `await import(${JSON.stringify(spec)});` : '',
      'await new Promise((r) => setTimeout(r, 1000));',
      'process.stdout.write(String(process.memoryUsage().rss));',
    ].join('\n');
    writeFileSync(file, src);
    const out = execFileSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8' });
    rows.push({ what, rssMiB: Math.round((Number(out) / 2 ** 20) * 10) / 10 });
  }
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
  else {
    const base = rows[1]!.rssMiB;
    process.stdout.write('| import (alone, fresh process) | RSS MiB | over a bare .ts process |\n|---|---|---|\n');
    for (const r of rows) process.stdout.write(`| ${r.what} | ${r.rssMiB.toFixed(1)} | ${r === rows[0] || r === rows[1] ? '' : `+${(r.rssMiB - base).toFixed(1)}`} |\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
