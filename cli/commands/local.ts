/** `nimbus local`: the platform on this machine — `up` starts it, `env` points the AWS tools at it. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { shellExports } from '../../local/endpoints.ts';
import { action, type GlobalOptions } from '../context.ts';
import { CliError, EXIT } from '../output.ts';
import { readEndpointsFile, START_HINT } from '../target.ts';

const SECRETS = ['secretAccessKey', 'apiKey', 'adminKey'] as const;

export function registerLocal(program: Command): void {
  const local = program.command('local').description('the platform on this machine');

  local
    .command('up')
    .description(
      'start the local platform in the foreground (the options of `npm start`: --no-demo, --once, --data-dir, ports…; `nimbus local up --help` lists them)',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (_options: unknown, command: Command) => {
      const globals = command.optsWithGlobals<GlobalOptions>();
      if (globals.stack)
        throw new CliError('`local up` starts the local platform: --stack does not apply', EXIT.usage);
      process.exitCode = await localUp([...command.args, '--endpoints-file', globals.endpointsFile]);
    });

  local
    .command('env')
    .description('print the `export` lines that point awscli and the AWS SDKs at the running local platform')
    .option('--show-secrets', 'with --json: include the API key, admin key and secret access key')
    .action(
      action(async (ctx, options: { showSecrets?: boolean }) => {
        const file = ctx.options.endpointsFile;
        const endpoints = readEndpointsFile(file);
        try {
          await fetch(endpoints.api, { signal: AbortSignal.timeout(3000) });
        } catch {
          throw new CliError(
            `the local platform of ${file} is not running (nothing answers at ${endpoints.api})`,
            EXIT.unreachable,
            START_HINT,
          );
        }
        const shown: Record<string, unknown> = { ...endpoints };
        if (!options.showSecrets) for (const key of SECRETS) delete shown[key];
        ctx.render(shown, () => shellExports(endpoints));
      }),
    );
}

/** Runs cli/start.ts (what `npm start` runs) as a child; a first Ctrl+C (or SIGTERM) stops it cleanly. */
function localUp(args: readonly string[]): Promise<number> {
  const script = fileURLToPath(new URL('../start.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, ...args], {
    stdio: 'inherit',
  });
  // start.ts stops on SIGINT or SIGTERM, once each: a terminal's Ctrl+C reaches it as SIGINT too.
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolveExit, reject) => {
    child.once('error', (error) =>
      reject(new CliError(`cannot start the local platform: ${error.message}`, EXIT.failed)),
    );
    child.once('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolveExit(code ?? (signal ? 128 + (signal === 'SIGINT' ? 2 : 15) : 1));
    });
  });
}
