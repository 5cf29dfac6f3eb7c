/**
 * `nimbus`: the platform from a terminal or a script — start the local platform, upload datasets and follow
 * their runs, read and change the model registry, predict, and see the alarms and drift. The same commands
 * reach the local platform (its endpoints file) or a deployed stack (`--stack <name>`).
 *
 * Every command: `--json` writes machine-readable JSON on stdout (and nothing else there); otherwise tables.
 * Errors are one line and a hint on stderr; exit codes are EXIT in output.ts. The commands of each group are
 * in commands/<group>.ts; what they share (the context, `render`, option parsers) in context.ts.
 */
import { Command, CommanderError } from 'commander';
import { registerDashboard } from './commands/dashboard.ts';
import { registerDatasets } from './commands/datasets.ts';
import { registerKeys } from './commands/keys.ts';
import { registerLocal } from './commands/local.ts';
import { registerModels } from './commands/models.ts';
import { registerMonitor } from './commands/monitor.ts';
import { registerPredict } from './commands/predict.ts';
import { registerRuns } from './commands/runs.ts';
import { checkRequiredOptions } from './context.ts';
import { CliError, EXIT, EXIT_HELP } from './output.ts';
import { DEFAULT_ENDPOINTS_FILE } from './target.ts';

// The SDK's notice that its 2027 releases need Node 22 is not this command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Whether the command line asks for JSON (read before parsing: a usage error is answered in JSON too). */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** The `nimbus` program: the global options, then each group's commands, in the order `--help` lists them. */
function buildProgram(json: boolean, usageErrors: string[]): Command {
  const program = new Command('nimbus')
    .description('Nimbus ML from the command line: datasets, runs, models, predictions and monitoring.')
    .option(
      '--json',
      'machine-readable JSON on stdout; an error too: {"error", "hint", "exitCode"} (and its line on stderr)',
    )
    .option('--endpoints-file <file>', 'the local platform to use', DEFAULT_ENDPOINTS_FILE)
    .option(
      '--stack <name>',
      'use a deployed stack (its CloudFormation outputs) instead of the local platform',
    )
    .option('--region <region>', "the stack's region (default: AWS_REGION or your AWS profile's)")
    .exitOverride()
    // With --json a usage error is kept for the JSON answer as well as shown.
    .configureOutput({
      outputError: (text, write) => {
        if (json) usageErrors.push(text.trim());
        write(text);
      },
    })
    .hook('preAction', checkRequiredOptions)
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('hint: add --help for the usage')
    .addHelpText(
      'after',
      `
Targets: the local platform by default (${DEFAULT_ENDPOINTS_FILE}, written by \`nimbus local up\` or
\`npm start\`), or a deployed stack with --stack <name> [--region <region>] and your AWS credentials.

${EXIT_HELP}

Examples:
  nimbus local up --no-demo
  nimbus datasets upload examples/iris.csv --watch
  nimbus models promote iris 2 --reason "better on the holdout"
  nimbus predict iris --data '{"sepal_length":6.1,"sepal_width":2.8,"petal_length":4.7,"petal_width":1.2}'`,
    );
  for (const register of [
    registerLocal,
    registerDatasets,
    registerRuns,
    registerModels,
    registerPredict,
    registerMonitor,
    registerKeys,
    registerDashboard,
  ]) {
    register(program);
  }
  return program;
}

/** Parses and runs; every failure is one line, a hint, and an exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  const usageErrors: string[] = [];
  /** An error's answer: its line and hint on stderr, and with --json the same as JSON on stdout. */
  const fail = (message: string, exitCode: number, hint?: string): number => {
    if (json)
      process.stdout.write(`${JSON.stringify({ error: message, ...(hint ? { hint } : {}), exitCode })}\n`);
    return exitCode;
  };
  try {
    await buildProgram(json, usageErrors).parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; commander has already printed the usage error and the hint.
      if (error.exitCode === 0) return EXIT.ok;
      const message = (usageErrors[0] ?? error.message).replace(/^error: /, '');
      return fail(message, EXIT.usage, 'add --help for the usage');
    }
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
      return fail(error.message, error.exitCode, error.hint);
    }
    const message = (error as Error)?.message ?? String(error);
    const hint = 'this is a bug in nimbus; NIMBUS_DEBUG=1 shows where';
    process.stderr.write(`error: ${message}\nhint: ${hint}\n`);
    if (process.env.NIMBUS_DEBUG) console.error(error);
    return fail(message, EXIT.failed, hint);
  }
}

process.exitCode = await main(process.argv.slice(2));
