/**
 * `nimbus`: the platform from a terminal or a script — start the local platform, upload datasets and follow
 * their runs, read and change the model registry, predict, and see the alarms and drift. The same commands
 * reach the local platform (its endpoints file) or a deployed stack (`--stack <name>`).
 *
 * Every command: `--json` writes machine-readable JSON on stdout (and nothing else there); otherwise tables.
 * Errors are one line and a hint on stderr; exit codes are EXIT in output.ts.
 */
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type RunRecord, rowsOf } from '../aws/registry.ts';
import { PRODUCTION_ALIAS } from '../core/contract.ts';
import type { AliasEntry, AliasState, AuditEntry, ModelVersion } from '../core/registry.ts';
import type { InputSchema, Prediction } from '../core/serving.ts';
import { shellExports } from '../local/endpoints.ts';
import { ApiClient, monitoringPath, registryPath } from './api.ts';
import type { AlarmView, AliasView, DriftReport, RunProgress } from './api-types.ts';
import { DatasetStore, datasetNameOf, reportLines } from './datasets.ts';
import {
  CliError,
  type Column,
  duration,
  EXIT,
  EXIT_HELP,
  metric,
  note,
  printJson,
  printLines,
  table,
  time,
} from './output.ts';
import { bodyFromFile, bodyFromJson, type PredictBody } from './predict.ts';
import {
  DEFAULT_ENDPOINTS_FILE,
  readEndpointsFile,
  resolveTarget,
  START_HINT,
  type Target,
  type TargetOptions,
} from './target.ts';
import { watchRun } from './watch.ts';

// The SDK's notice that its 2027 releases need Node 22 is not this command's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface GlobalOptions extends TargetOptions {
  readonly json?: boolean;
}

/** What an action needs: the global options, and the platform (resolved once, on first use). */
class Context {
  private targetPromise?: Promise<Target>;
  private apiClient?: ApiClient;
  private store?: DatasetStore;

  constructor(readonly options: GlobalOptions) {}

  get json(): boolean {
    return this.options.json === true;
  }

  target(): Promise<Target> {
    this.targetPromise ??= resolveTarget(this.options);
    return this.targetPromise;
  }

  async api(): Promise<ApiClient> {
    this.apiClient ??= new ApiClient(await this.target());
    return this.apiClient;
  }

  async datasets(): Promise<DatasetStore> {
    this.store ??= new DatasetStore(await this.target(), await this.api());
    return this.store;
  }

  close(): void {
    this.store?.destroy();
  }
}

/** Wraps an action: builds its context from the global options and closes its clients after it. */
function action<A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<void>) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const ctx = new Context(command.optsWithGlobals<GlobalOptions>());
    try {
      await fn(ctx, ...(args.slice(0, -1) as A));
    } finally {
      ctx.close();
    }
  };
}

const positiveInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} is a whole number from 1`);
  return n;
};
const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('seconds: a number from 0');
  return n;
};
/** A polling interval: each poll is an API call (a Lambda invocation and S3 reads, in AWS). */
const pollInterval = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0.5) throw new InvalidArgumentError('seconds: a number from 0.5');
  return n;
};

const program = new Command('nimbus')
  .description('Nimbus ML from the command line: datasets, runs, models, predictions and monitoring.')
  .option('--json', 'machine-readable JSON on stdout (errors stay on stderr)')
  .option('--endpoints-file <file>', 'the local platform to use', DEFAULT_ENDPOINTS_FILE)
  .option('--stack <name>', 'use a deployed stack (its CloudFormation outputs) instead of the local platform')
  .option('--region <region>', "the stack's region (default: AWS_REGION or your AWS profile's)")
  .exitOverride()
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

// ---- local ------------------------------------------------------------------------------------------------

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
    if (globals.stack) throw new CliError('`local up` starts the local platform: --stack does not apply', 2);
    process.exitCode = await localUp([...command.args, '--endpoints-file', globals.endpointsFile]);
  });

/** Runs cli/start.ts (what `npm start` runs) as a child; a first Ctrl+C (or SIGTERM) stops it cleanly. */
function localUp(args: readonly string[]): Promise<number> {
  const script = fileURLToPath(new URL('./start.ts', import.meta.url));
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

const SECRETS = ['secretAccessKey', 'apiKey', 'adminKey'] as const;

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
      if (ctx.json) {
        const shown: Record<string, unknown> = { ...endpoints };
        if (!options.showSecrets) for (const key of SECRETS) delete shown[key];
        printJson(shown);
        return;
      }
      printLines(shellExports(endpoints));
    }),
  );

// ---- datasets ---------------------------------------------------------------------------------------------

const datasets = program.command('datasets').description('dataset versions and their validation reports');

datasets
  .command('upload')
  .description('upload a CSV, JSON Lines or zip file to datasets/<name>/: it starts a pipeline run')
  .argument('<file>', 'the file (a manifest named dataset.json is uploaded too, and starts nothing)')
  .option('--name <dataset>', 'dataset (and model) name (default: the file name without extension)')
  .option('--watch', 'follow the run until it ends (exit 1 when it fails)')
  .option('--timeout <seconds>', 'with --watch: give up after this long (0: never)', seconds, 0)
  .action(
    action(async (ctx, file: string, options: { name?: string; watch?: boolean; timeout: number }) => {
      const name = options.name ?? datasetNameOf(file);
      const store = await ctx.datasets();
      const upload = await store.upload(file, name);
      const uri = `s3://${upload.bucket}/${upload.key}`;
      const result = { dataset: name, ...upload, existing: undefined };
      if (!upload.version) {
        const starts = upload.trigger === 'folder' ? 'a run over the folder' : 'nothing by itself';
        if (ctx.json) printJson({ ...result, runId: null });
        else printLines([`uploaded ${uri} (${upload.bytes} bytes): it starts ${starts}`]);
        return;
      }
      // Bytes seen before start a new run only when every run on them failed (README, "What starts a run").
      const rerun = upload.existing ? await store.rerunOf(upload.existing, 60_000) : undefined;
      if (upload.existing && !rerun?.runId) {
        const runId = rerun?.live ?? upload.existing.firstRunId;
        if (ctx.json) printJson({ ...result, runId, newRun: false });
        else
          printLines([
            `uploaded ${uri}: the same content as ${name}@${upload.version}, registered by run ${runId}: no new run`,
          ]);
        return;
      }
      const runId = rerun?.runId ?? (await store.runOf(name, upload.version, 60_000));
      if (!runId) {
        throw new CliError(
          `uploaded ${uri}, but no run registered ${name}@${upload.version} within 60 s`,
          EXIT.failed,
          '`nimbus runs list --dataset <name>` shows whether it started',
        );
      }
      if (!options.watch) {
        if (ctx.json) printJson({ ...result, runId, newRun: true });
        else
          printLines([
            `uploaded ${uri} (${upload.bytes} bytes): dataset ${name}@${upload.version}`,
            `run ${runId} started; follow it with: nimbus runs watch ${runId}`,
          ]);
        return;
      }
      if (!ctx.json) note(`uploaded ${uri}: run ${runId} started`);
      const run = await followRun(ctx, runId, { timeoutMs: options.timeout * 1000 });
      if (ctx.json) printJson({ ...result, runId, newRun: true, run });
      finishRun(run);
    }),
  );

datasets
  .command('list')
  .description('every dataset: its versions and the newest one')
  .action(
    action(async (ctx) => {
      const list = await (await ctx.datasets()).list();
      if (ctx.json) return printJson({ datasets: list });
      if (list.length === 0) return printLines(['no datasets yet: nimbus datasets upload <file>']);
      printLines(
        table(list, [
          { header: 'DATASET', value: (d) => d.name },
          { header: 'VERSIONS', value: (d) => d.versions, right: true },
          { header: 'LATEST', value: (d) => d.latestVersion },
          { header: 'STATUS', value: (d) => d.status },
          { header: 'ROWS', value: (d) => d.rows, right: true },
          { header: 'UPDATED', value: (d) => time(d.updatedAt) },
        ]),
      );
    }),
  );

datasets
  .command('show')
  .description("a dataset's versions: rows, status, the run that registered each")
  .argument('<name>', 'dataset name')
  .action(
    action(async (ctx, name: string) => {
      const versions = await (await ctx.datasets()).versions(name);
      if (ctx.json) return printJson({ name, versions });
      printLines([
        ...table(versions, [
          { header: 'VERSION', value: (v) => v.version },
          { header: 'STATUS', value: (v) => v.status },
          { header: 'ROWS', value: (v) => rowsOf(v), right: true },
          { header: 'BYTES', value: (v) => v.size, right: true },
          { header: 'FILE', value: (v) => basename(v.key) },
          { header: 'RUN', value: (v) => v.firstRunId },
          { header: 'CREATED', value: (v) => time(v.createdAt) },
        ]),
        ...versions.flatMap((v) => (v.reason ? [`${v.version}: ${v.reason}`] : [])),
      ]);
    }),
  );

datasets
  .command('report')
  .description("a dataset version's validation report (the newest version unless --version)")
  .argument('<name>', 'dataset name')
  .option('--version <version>', 'dataset version (a prefix of its content hash)')
  .action(
    action(async (ctx, name: string, options: { version?: string }) => {
      const { version, report } = await (await ctx.datasets()).report(name, options.version);
      if (ctx.json) return printJson(report);
      printLines(reportLines(name, version, report));
    }),
  );

// ---- runs -------------------------------------------------------------------------------------------------

const runs = program.command('runs').description('pipeline runs');

runs
  .command('list')
  .description('runs, newest first')
  .option('--dataset <name>', "only this dataset's runs")
  .option('--limit <n>', 'at most this many', positiveInt('--limit'), 20)
  .action(
    action(async (ctx, options: { dataset?: string; limit: number }) => {
      const query = new URLSearchParams({
        ...(options.dataset ? { dataset: options.dataset } : {}),
        limit: String(options.limit),
      });
      const { runs: list } = await (await ctx.api()).get<{ runs: RunRecord[] }>(
        `${registryPath('runs')}?${query}`,
      );
      if (ctx.json) return printJson({ runs: list });
      if (list.length === 0) return printLines(['no runs yet: nimbus datasets upload <file>']);
      printLines(
        table(list, [
          { header: 'RUN', value: (r) => r.runId },
          { header: 'DATASET', value: (r) => r.dataset },
          { header: 'VERSION', value: (r) => r.datasetVersion },
          { header: 'STATUS', value: (r) => r.status },
          { header: 'STEP', value: (r) => (r.status === 'RUNNING' ? r.step : undefined) },
          {
            header: 'MODEL',
            value: (r) => (r.modelVersion === undefined ? undefined : `v${r.modelVersion}`),
          },
          { header: 'STARTED', value: (r) => time(r.startedAt) },
          { header: 'TOOK', value: (r) => duration(r.startedAt, r.finishedAt ?? r.updatedAt) },
        ]),
      );
    }),
  );

runs
  .command('watch')
  .description(
    'follow a run until it ends, with progress on stderr: exit 0 when it succeeds, 1 when it fails',
  )
  .argument('[runId]', 'the run (default: the newest)')
  .option('--dataset <name>', "without a run id: the dataset's newest run")
  .option('--interval <seconds>', 'how often to ask (at least 0.5)', pollInterval, 0.5)
  .option('--timeout <seconds>', 'give up after this long (0: never)', seconds, 0)
  .action(
    action(
      async (
        ctx,
        runId: string | undefined,
        options: { dataset?: string; interval: number; timeout: number },
      ) => {
        const api = await ctx.api();
        let id = runId;
        if (!id) {
          const query = new URLSearchParams({
            ...(options.dataset ? { dataset: options.dataset } : {}),
            limit: '1',
          });
          const { runs: newest } = await api.get<{ runs: RunRecord[] }>(`${registryPath('runs')}?${query}`);
          id = newest[0]?.runId;
          if (!id) {
            throw new CliError(
              `no runs${options.dataset ? ` of ${options.dataset}` : ''} yet`,
              EXIT.notFound,
              'upload a dataset: nimbus datasets upload <file>',
            );
          }
        }
        const run = await followRun(ctx, id, {
          intervalMs: options.interval * 1000,
          timeoutMs: options.timeout * 1000,
        });
        if (ctx.json) printJson(run);
        finishRun(run);
      },
    ),
  );

runs
  .command('stop')
  .description(
    'stop a running run: its execution and training jobs stop, and the run ends FAILED with the reason',
  )
  .argument('<runId>', 'the run')
  .option('--reason <text>', "why: recorded as the run's reason", 'stopped with nimbus runs stop')
  .action(
    action(async (ctx, runId: string, options: { reason: string }) => {
      const api = await ctx.api();
      const path = registryPath('runs', runId);
      const answer = await api.post<{ run: RunRecord; stopping: boolean }>(
        registryPath('runs', runId, 'stop'),
        { reason: options.reason },
        { notFoundHint: 'nimbus runs list shows the runs' },
      );
      // The end of a stopped execution is recorded by the execution-ended function, a moment later.
      let ended = answer.run;
      const deadline = Date.now() + 30_000;
      while (answer.stopping && ended.status === 'RUNNING' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        ended = await api.get<RunRecord>(path);
      }
      if (ctx.json) return printJson(ended);
      printLines([
        ended.status === 'RUNNING'
          ? `run ${runId}: stopping (its end is not recorded yet; nimbus runs watch ${runId} follows it)`
          : `run ${runId} ${ended.status}: ${ended.reason ?? 'no reason recorded'}`,
      ]);
    }),
  );

runs
  .command('retry')
  .description(
    'admin: start a new run on the dataset version a FAILED run read (once per failed run); prints its id',
  )
  .argument('<runId>', 'the failed run')
  .option('--reason <text>', 'why: recorded on the new run', 'retried with nimbus runs retry')
  .option('--watch', 'follow the new run until it ends (exit 1 when it fails)')
  .option('--timeout <seconds>', 'with --watch: give up after this long (0: never)', seconds, 0)
  .action(
    action(async (ctx, runId: string, options: { reason: string; watch?: boolean; timeout: number }) => {
      const api = await ctx.api();
      const answer = await api.post<{ runId: string; retryOf: string; dataset: string }>(
        registryPath('runs', runId, 'retry'),
        { reason: options.reason },
        { notFoundHint: 'nimbus runs list shows the runs' },
      );
      if (!options.watch) {
        if (ctx.json) return printJson(answer);
        return printLines([
          `run ${answer.runId} retries ${answer.retryOf} (${answer.dataset}): nimbus runs watch ${answer.runId} follows it`,
        ]);
      }
      if (!ctx.json) printLines([`run ${answer.runId} retries ${answer.retryOf} (${answer.dataset})`]);
      // The new run's record exists once its first step opens it, a moment after the execution starts.
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          await api.get<RunRecord>(registryPath('runs', answer.runId));
          break;
        } catch (error) {
          if (!(error instanceof CliError && error.exitCode === EXIT.notFound) || Date.now() > deadline)
            throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      const run = await followRun(ctx, answer.runId, { timeoutMs: options.timeout * 1000 });
      if (ctx.json) printJson(run);
      finishRun(run);
    }),
  );

/** Watches a run to its end, then reads its record (metrics, model version, promotion). */
async function followRun(
  ctx: Context,
  runId: string,
  options: { intervalMs?: number; timeoutMs?: number },
): Promise<RunRecord> {
  const api = await ctx.api();
  const progress: RunProgress = await watchRun(api, runId, options);
  const run = await api.get<RunRecord>(registryPath('runs', progress.runId));
  if (!ctx.json) {
    const took = duration(run.startedAt, run.finishedAt ?? run.updatedAt);
    if (run.status === 'SUCCEEDED') {
      const model = run.modelVersion === undefined ? '' : `: ${run.dataset} v${run.modelVersion}`;
      const promoted =
        run.modelVersion === undefined
          ? ''
          : run.promoted
            ? `, serving as ${PRODUCTION_ALIAS}`
            : `, not promoted${run.reason ? ` (${run.reason})` : ''}`;
      const metrics = Object.entries(run.metrics ?? {})
        .filter(([key]) => key !== 'count')
        .map(([key, value]) => `${key} ${metric(value)}`)
        .join('  ');
      printLines([
        `run ${run.runId} SUCCEEDED${took ? ` in ${took}` : ''}${model}${promoted}`,
        ...(metrics ? [`  test ${metrics}`] : []),
      ]);
    }
  }
  return run;
}

/** A failed run is exit 1 with its reason. */
function finishRun(run: RunRecord): void {
  if (run.status === 'SUCCEEDED') return;
  throw new CliError(
    `run ${run.runId} ${run.status === 'FAILED' ? 'failed' : `is ${run.status}`}: ${run.reason ?? 'no reason recorded'}`,
    EXIT.failed,
    /report/.test(run.reason ?? '')
      ? `\`nimbus datasets report ${run.dataset}\` shows what to fix in the file`
      : `\`nimbus runs list --dataset ${run.dataset}\` shows its runs`,
  );
}

// ---- models -----------------------------------------------------------------------------------------------

const models = program.command('models').description('the model registry: versions, aliases, their history');
const MODELS_HINT = '`nimbus models list` shows the models';

const stateText = (state: AliasState | undefined): string | undefined =>
  state
    ? `v${state.version}${state.canary ? ` + canary v${state.canary.version} (${Math.round(state.canary.weight * 100)}%)` : ''}`
    : undefined;

models
  .command('list')
  .description('every model: its newest version and the version production serves')
  .action(
    action(async (ctx) => {
      const api = await ctx.api();
      const { models: list } = await api.get<{ models: { model: string; latestVersion: number }[] }>(
        registryPath('models'),
      );
      const rows = await Promise.all(
        list.map(async (m) => {
          const { aliases } = await api.get<{ aliases: AliasView[] }>(
            registryPath('models', m.model, 'aliases'),
          );
          return { ...m, aliases };
        }),
      );
      if (ctx.json) return printJson({ models: rows });
      if (rows.length === 0) return printLines(['no models yet: nimbus datasets upload <file> trains one']);
      printLines(
        table(rows, [
          { header: 'MODEL', value: (m) => m.model },
          { header: 'LATEST', value: (m) => `v${m.latestVersion}` },
          {
            header: 'PRODUCTION',
            value: (m) => stateText(m.aliases.find((a) => a.alias === PRODUCTION_ALIAS)),
          },
          {
            header: 'ALIASES',
            value: (m) => m.aliases.map((a) => `${a.alias}=v${a.version}`).join(' ') || undefined,
          },
        ]),
      );
    }),
  );

const METRIC_COLUMNS = ['accuracy', 'macroF1', 'rmse', 'mae', 'r2'] as const;

models
  .command('show')
  .description("a model's versions (metrics, status, lineage) and aliases")
  .argument('<model>', 'model name')
  .action(
    action(async (ctx, model: string) => {
      const shown = await (await ctx.api()).get<{
        model: string;
        aliases: AliasView[];
        versions: ModelVersion[];
      }>(registryPath('models', model), { notFoundHint: MODELS_HINT });
      if (ctx.json) return printJson(shown);
      const metrics = METRIC_COLUMNS.filter((m) => shown.versions.some((v) => v.metrics[m] !== undefined));
      const columns: Column<ModelVersion>[] = [
        { header: 'VERSION', value: (v) => v.version, right: true },
        { header: 'STATUS', value: (v) => v.status },
        ...metrics.map((m) => ({
          header: m.toUpperCase(),
          value: (v: ModelVersion) => metric(v.metrics[m]),
          right: true,
        })),
        { header: 'DATASET', value: (v) => v.lineage.datasetVersion },
        { header: 'RUN', value: (v) => v.lineage.runId },
        {
          header: 'ALIASES',
          value: (v) =>
            shown.aliases
              .filter((a) => a.version === v.version || a.canary?.version === v.version)
              .map((a) => (a.version === v.version ? a.alias : `${a.alias}(canary)`))
              .join(' ') || undefined,
        },
        { header: 'CREATED', value: (v) => time(v.createdAt) },
      ];
      printLines([
        `${shown.model}: ${shown.versions.length} version(s)`,
        ...table(shown.versions, columns),
        '',
        ...(shown.aliases.length === 0
          ? ['no aliases']
          : table(shown.aliases, [
              { header: 'ALIAS', value: (a) => a.alias },
              { header: 'SERVES', value: (a) => stateText(a) },
              { header: 'REV', value: (a) => a.revision, right: true },
              { header: 'CHANGED', value: (a) => time(a.changedAt) },
              { header: 'BY', value: (a) => a.changedBy },
              { header: 'REASON', value: (a) => a.reason },
            ])),
      ]);
    }),
  );

const aliasOption = () => new Option('--alias <alias>', 'the alias').default(PRODUCTION_ALIAS);
const reasonOption = () =>
  new Option('--reason <text>', 'why: kept in the audit log with who and when').makeOptionMandatory();

function printAliasChange(ctx: Context, entry: AliasEntry): void {
  if (ctx.json) {
    printJson(entry);
    return;
  }
  printLines([
    `${entry.alias} of ${entry.model}: ${stateText(entry.previous) ?? 'nothing'} -> ${stateText(entry.state)} (${entry.action}, revision ${entry.revision})`,
  ]);
}

models
  .command('promote')
  .description('point an alias (production by default) at a version: it serves within a second')
  .argument('<model>', 'model name')
  .argument('<version>', 'version number', positiveInt('<version>'))
  .addOption(aliasOption())
  .addOption(reasonOption())
  .action(
    action(async (ctx, model: string, version: number, options: { alias: string; reason: string }) => {
      const entry = await (await ctx.api()).post<AliasEntry>(
        registryPath('models', model, 'aliases', options.alias),
        { version, reason: options.reason },
        { notFoundHint: MODELS_HINT },
      );
      printAliasChange(ctx, entry);
    }),
  );

models
  .command('rollback')
  .description("undo an alias's last change")
  .argument('<model>', 'model name')
  .addOption(aliasOption())
  .addOption(reasonOption())
  .action(
    action(async (ctx, model: string, options: { alias: string; reason: string }) => {
      const entry = await (await ctx.api()).post<AliasEntry>(
        registryPath('models', model, 'aliases', options.alias, 'rollback'),
        { reason: options.reason },
        { notFoundHint: MODELS_HINT },
      );
      printAliasChange(ctx, entry);
    }),
  );

for (const [verb, description] of [
  ['approve', 'approve a version (a run waiting for approval goes on to deploy it)'],
  ['reject', 'reject a version (a run waiting for approval does not deploy it)'],
  ['archive', 'archive a version: it no longer serves'],
] as const) {
  models
    .command(verb)
    .description(description)
    .argument('<model>', 'model name')
    .argument('<version>', 'version number', positiveInt('<version>'))
    .addOption(reasonOption())
    .action(
      action(async (ctx, model: string, version: number, options: { reason: string }) => {
        const entry = await (await ctx.api()).post<AuditEntry & { status: string; pipeline?: string }>(
          registryPath('models', model, 'versions', version, verb),
          { reason: options.reason },
          { notFoundHint: MODELS_HINT },
        );
        if (ctx.json) return printJson(entry);
        printLines([`${model} v${version}: ${entry.status}`, ...(entry.pipeline ? [entry.pipeline] : [])]);
      }),
    );
}

models
  .command('history')
  .description("an alias's changes, oldest first (--all: the model's whole audit log)")
  .argument('<model>', 'model name')
  .addOption(aliasOption())
  .option('--all', 'every change of the model: aliases and version statuses')
  .action(
    action(async (ctx, model: string, options: { alias: string; all?: boolean }) => {
      const api = await ctx.api();
      const entries: AuditEntry[] = options.all
        ? (await api.get<{ audit: AuditEntry[] }>(registryPath('models', model, 'audit'))).audit
        : (
            await api.get<{ history: AliasEntry[] }>(
              registryPath('models', model, 'aliases', options.alias, 'history'),
              {
                notFoundHint: MODELS_HINT,
              },
            )
          ).history;
      if (ctx.json) return printJson(options.all ? { audit: entries } : { history: entries });
      if (entries.length === 0) {
        return printLines([
          options.all ? `no changes of ${model}` : `${options.alias} of ${model} has never been set`,
        ]);
      }
      printLines(
        table(entries, [
          { header: 'AT', value: (e) => time(e.at) },
          ...(options.all
            ? [{ header: 'WHAT', value: (e: AuditEntry) => (e.kind === 'alias' ? e.alias : `v${e.version}`) }]
            : []),
          { header: 'REV', value: (e) => e.revision, right: true },
          { header: 'ACTION', value: (e) => e.action },
          {
            header: 'FROM',
            value: (e) => (e.kind === 'alias' ? stateText(e.previous) : e.previous),
          },
          { header: 'TO', value: (e) => (e.kind === 'alias' ? stateText(e.state) : e.status) },
          { header: 'BY', value: (e) => e.who },
          { header: 'REASON', value: (e) => e.why },
        ]),
      );
    }),
  );

// ---- predict ----------------------------------------------------------------------------------------------

program
  .command('predict')
  .description("predict with a model's production version (or --version / --label)")
  .argument('<model>', 'model name')
  .option('--data <json>', 'an instance, a list of instances, or a whole {"instances": …} body')
  .option(
    '--file <file>',
    'instances from a .csv (header row), .json, .jsonl, a .png/.jpg image, or - (stdin)',
  )
  .addOption(
    new Option('--version <n>', 'this version').argParser(positiveInt('--version')).conflicts('label'),
  )
  .option('--label <alias>', 'the version this alias serves')
  .action(
    action(
      async (
        ctx,
        model: string,
        options: { data?: string; file?: string; version?: number; label?: string },
      ) => {
        if ((options.data === undefined) === (options.file === undefined)) {
          throw new CliError('give the instances with either --data or --file', EXIT.usage);
        }
        const api = await ctx.api();
        const target =
          options.version !== undefined
            ? `/versions/${options.version}`
            : options.label
              ? `/labels/${encodeURIComponent(options.label)}`
              : '';
        const base = `/v1/models/${encodeURIComponent(model)}${target}`;
        const signature = async () =>
          (
            await api.get<{ metadata: { signature_def: InputSchema } }>(`${base}/metadata`, {
              notFoundHint: MODELS_HINT,
            })
          ).metadata.signature_def;
        const body: PredictBody =
          options.data !== undefined
            ? bodyFromJson(options.data, '--data')
            : await bodyFromFile(options.file as string, signature);
        const answer = await api.post<{
          predictions?: Prediction[];
          outputs?: Record<string, unknown>;
          model_version: number;
        }>(`${base}:predict`, body, { auth: 'apiKey', notFoundHint: MODELS_HINT });
        if (ctx.json) return printJson(answer);
        if (!answer.predictions) {
          printLines([JSON.stringify(answer.outputs), `(${model} v${answer.model_version})`]);
          return;
        }
        printLines([
          ...table(
            answer.predictions.map((p, i) => ({ i, p })),
            [
              { header: '#', value: ({ i }) => i, right: true },
              {
                header: 'PREDICTION',
                value: ({ p }) => ('label' in p ? p.label : String(Number(p.value.toPrecision(6)))),
              },
              {
                header: 'PROBABILITY',
                value: ({ p }) => ('label' in p ? metric(p.probabilities[p.label]) : undefined),
                right: true,
              },
            ],
          ),
          `(${model} v${answer.model_version})`,
        ]);
      },
    ),
  );

// ---- monitor ----------------------------------------------------------------------------------------------

const monitor = program.command('monitor').description('alarms and drift');

monitor
  .command('status')
  .description("the alarms' states and each model's newest drift report")
  .argument('[model]', 'only this model')
  .option('--check', 'exit 1 when an alarm is in ALARM (for scripts and CI)')
  .action(
    action(async (ctx, model: string | undefined, options: { check?: boolean }) => {
      const api = await ctx.api();
      const { alarms: all } = await api.get<{ alarms: AlarmView[] }>(monitoringPath('alarms'));
      const alarms = model ? all.filter((a) => a.model === model || a.model === undefined) : all;
      if (model) await api.get(registryPath('models', model), { notFoundHint: MODELS_HINT }); // exit 3 if unknown
      const names = model
        ? [model]
        : (await api.get<{ models: { model: string }[] }>(registryPath('models'))).models.map((m) => m.model);
      const drift = await Promise.all(
        names.map(async (name) => {
          const answer = await api.get<{ model: string; threshold: number; reports: DriftReport[] }>(
            `${monitoringPath('models', name, 'drift')}?limit=1`,
            { notFoundHint: MODELS_HINT },
          );
          return { model: name, threshold: answer.threshold, report: answer.reports.at(-1) ?? null };
        }),
      );
      const firing = alarms.filter((a) => a.state === 'ALARM');
      if (ctx.json) printJson({ alarms, drift });
      else {
        const top = (report: DriftReport) =>
          Object.entries(report.features)
            .sort(([, a], [, b]) => b.psi - a.psi)
            .slice(0, 3)
            .map(([feature, f]) => `${feature} ${f.psi.toFixed(3)}`)
            .join(', ');
        printLines([
          ...(alarms.length === 0
            ? ['no alarms']
            : table(alarms, [
                { header: 'ALARM', value: (a) => a.name },
                { header: 'KIND', value: (a) => a.kind },
                { header: 'MODEL', value: (a) => a.model },
                { header: 'STATE', value: (a) => a.state },
                { header: 'SINCE', value: (a) => time(a.updatedAt) },
                { header: 'REASON', value: (a) => a.reason },
              ])),
          '',
          ...(drift.length === 0
            ? ['no models']
            : table(drift, [
                { header: 'MODEL', value: (d) => d.model },
                {
                  header: 'DRIFT',
                  value: (d) => (d.report ? d.report.score.toFixed(3) : undefined),
                  right: true,
                },
                { header: 'THRESHOLD', value: (d) => d.threshold, right: true },
                {
                  header: 'STATE',
                  value: (d) => (d.report ? (d.report.score > d.threshold ? 'DRIFTING' : 'OK') : 'NO DATA'),
                },
                { header: 'SAMPLES', value: (d) => d.report?.samples, right: true },
                { header: 'WINDOW END', value: (d) => time(d.report?.windowEnd) },
                { header: 'TOP FEATURES (PSI)', value: (d) => (d.report ? top(d.report) : undefined) },
              ])),
        ]);
      }
      if (options.check && firing.length > 0) {
        throw new CliError(
          `${firing.length} alarm(s) in ALARM: ${firing.map((a) => a.name).join(', ')}`,
          EXIT.failed,
        );
      }
    }),
  );

// ---- main -------------------------------------------------------------------------------------------------

/** Parses and runs; every failure is one line, a hint, and an exit code. */
async function main(argv: readonly string[]): Promise<number> {
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not errors; commander has already printed the usage error and the hint.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
      return error.exitCode;
    }
    process.stderr.write(
      `error: ${(error as Error)?.message ?? String(error)}\nhint: this is a bug in nimbus; NIMBUS_DEBUG=1 shows where\n`,
    );
    if (process.env.NIMBUS_DEBUG) console.error(error);
    return EXIT.failed;
  }
}

process.exitCode = await main(process.argv.slice(2));
