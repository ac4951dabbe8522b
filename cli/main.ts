// The `triage` command line: one binary, subcommands per component.

const USAGE = `usage: triage <command> [flags]

commands:
  sidecar    run the sidecar proxy (standalone: --config FILE; in a cluster: --operator URL)
  operator   run the Kubernetes operator (reconcilers, webhook, config streams)
  router     score, eval, calibrate, check: the classifier on the command line (same code as the sidecar)
  gen crds DIR [DOC]   write the CRDs generated from the api/ contract into DIR (and the config reference to DOC)
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'sidecar': {
      const { runSidecarCommand } = await import('../sidecar/cli.ts');
      return runSidecarCommand(rest);
    }
    case 'operator': {
      const { runOperatorCommand } = await import('../operator/cli.ts');
      return runOperatorCommand(rest);
    }
    case 'router': {
      const { runRouterCommand } = await import('./router.ts');
      return runRouterCommand(rest);
    }
    case 'gen': {
      if (rest[0] !== 'crds' || !rest[1]) break;
      const { genCrds } = await import('./genCrds.ts');
      genCrds(rest[1]);
      if (rest[2]) {
        const { renderConfigReference } = await import('./genDocs.ts');
        (await import('node:fs')).writeFileSync(rest[2], renderConfigReference());
      }
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
