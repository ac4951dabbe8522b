// The `triage` command line: one binary, subcommands per component.

const USAGE = `usage: triage <command> [flags]

commands:
  sidecar    run the sidecar proxy (standalone: --config FILE)
  gen crds   write the CRD manifests generated from the api/ contract into a directory
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'sidecar': {
      const { runSidecarCommand } = await import('../sidecar/cli.ts');
      return runSidecarCommand(rest);
    }
    case 'gen': {
      if (rest[0] !== 'crds' || !rest[1]) break;
      const { genCrds } = await import('./genCrds.ts');
      genCrds(rest[1]);
      return 0;
    }
    case '-h': case '--help': case 'help':
      process.stdout.write(USAGE);
      return 0;
  }
  process.stderr.write(USAGE);
  return 2;
}

main(process.argv.slice(2)).then((code) => { if (code !== 0) process.exitCode = code; }, (err: unknown) => {
  process.stderr.write(`triage: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
