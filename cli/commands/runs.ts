/** `nimbus runs`: pipeline runs — list, watch, stop and retry them; and following a run to its end. */

import type { Command } from 'commander';
import type { RetryRunResult, RunCost, RunRecord, StopRunResult } from '../../core/api-types.ts';
import { PRODUCTION_ALIAS } from '../../core/contract.ts';
import { formatCost } from '../../core/training-cost.ts';
import { type ApiClient, registryPath } from '../api.ts';
import { action, pollInterval, positiveInt, seconds } from '../context.ts';
import { CliError, duration, EXIT, metric, table, time } from '../output.ts';
import { watchRun } from '../watch.ts';

const RUNS_HINT = 'nimbus runs list shows the runs';

export function registerRuns(program: Command): void {
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
        ctx.render({ runs: list }, () =>
          list.length === 0
            ? ['no runs yet: nimbus datasets upload <file>']
            : table(list, [
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
    .command('show')
    .description("one run: its status, steps and their times, metrics, and its training jobs' cost")
    .argument('[runId]', 'the run (default: the newest)')
    .option('--dataset <name>', "without a run id: this dataset's newest run")
    .action(
      action(async (ctx, runId: string | undefined, options: { dataset?: string }) => {
        const api = await ctx.api();
        const id = runId ?? (await newestRun(api, options.dataset));
        const run = await api.get<RunRecord>(registryPath('runs', id), { notFoundHint: RUNS_HINT });
        ctx.render(run, showLines);
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
          const id = runId ?? (await newestRun(api, options.dataset));
          const run = await followRun(api, id, {
            intervalMs: options.interval * 1000,
            timeoutMs: options.timeout * 1000,
          });
          ctx.render(run, runLines);
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
        const answer = await api.post<StopRunResult>(
          registryPath('runs', runId, 'stop'),
          { reason: options.reason },
          { notFoundHint: RUNS_HINT },
        );
        // The end of a stopped execution is recorded by the execution-ended function, a moment later.
        let ended = answer.run;
        const deadline = Date.now() + 30_000;
        while (answer.stopping && ended.status === 'RUNNING' && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          ended = await api.get<RunRecord>(path);
        }
        ctx.render(ended, (run) => [
          run.status === 'RUNNING'
            ? `run ${runId}: stopping (its end is not recorded yet; nimbus runs watch ${runId} follows it)`
            : `run ${runId} ${run.status}: ${run.reason ?? 'no reason recorded'}`,
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
        const answer = await api.post<RetryRunResult>(
          registryPath('runs', runId, 'retry'),
          { reason: options.reason },
          { notFoundHint: RUNS_HINT },
        );
        if (!options.watch) {
          return ctx.render(answer, (a) => [
            `run ${a.runId} retries ${a.retryOf} (${a.dataset}): nimbus runs watch ${a.runId} follows it`,
          ]);
        }
        ctx.say([`run ${answer.runId} retries ${answer.retryOf} (${answer.dataset})`]);
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
        const run = await followRun(api, answer.runId, { timeoutMs: options.timeout * 1000 });
        ctx.render(run, runLines);
        finishRun(run);
      }),
    );
}

/** The newest run (of a dataset), or a not-found error that says how to start one. */
async function newestRun(api: ApiClient, dataset: string | undefined): Promise<string> {
  const query = new URLSearchParams({ ...(dataset ? { dataset } : {}), limit: '1' });
  const { runs: newest } = await api.get<{ runs: RunRecord[] }>(`${registryPath('runs')}?${query}`);
  const id = newest[0]?.runId;
  if (!id) {
    throw new CliError(
      `no runs${dataset ? ` of ${dataset}` : ''} yet`,
      EXIT.notFound,
      'upload a dataset: nimbus datasets upload <file>',
    );
  }
  return id;
}

/** Watches a run to its end (progress on stderr), then reads its record (metrics, model version, promotion). */
export async function followRun(
  api: ApiClient,
  runId: string,
  options: { intervalMs?: number; timeoutMs?: number },
): Promise<RunRecord> {
  const progress = await watchRun(api, runId, options);
  return api.get<RunRecord>(registryPath('runs', progress.runId));
}

/** What people read of a run that ended: a summary of a success (a failure is finishRun's error). */
export function runLines(run: RunRecord): string[] {
  if (run.status !== 'SUCCEEDED') return run.cost ? [costLine(run.cost)] : [];
  const took = duration(run.startedAt, run.finishedAt ?? run.updatedAt);
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
  const cv = run.crossValidation;
  const crossValidated = cv
    ? Object.keys(cv.mean)
        .filter((key) => key in (run.metrics ?? {}) || key === 'loss')
        .map((key) => `${key} ${metric(cv.mean[key])} ± ${metric(cv.sd[key])}`)
        .join('  ')
    : '';
  return [
    `run ${run.runId} SUCCEEDED${took ? ` in ${took}` : ''}${model}${promoted}`,
    ...(metrics ? [`  test ${metrics}`] : []),
    ...(cv ? [`  cv (${cv.folds} folds) ${crossValidated}`] : []),
    ...(run.cost ? [costLine(run.cost)] : []),
  ];
}

/** A run as `nimbus runs show` prints it: what it is, where it is, its steps' times, its results, its cost. */
export function showLines(run: RunRecord): string[] {
  const steps = run.steps ?? [];
  const end = run.finishedAt ?? (run.status === 'RUNNING' ? new Date().toISOString() : run.updatedAt);
  const summary = run.status === 'SUCCEEDED' ? runLines(run) : [];
  return [
    `run ${run.runId}  ${run.status}${run.status === 'RUNNING' && run.step ? ` (${run.step})` : ''}`,
    `  dataset ${run.dataset}${run.datasetVersion ? `@${run.datasetVersion}` : ''}  started ${time(run.startedAt)}` +
      `${run.finishedAt ? `  took ${duration(run.startedAt, run.finishedAt)}` : ''}`,
    ...(run.reason && run.status !== 'SUCCEEDED' ? [`  reason ${run.reason}`] : []),
    ...(run.retryOf ? [`  retries ${run.retryOf}`] : []),
    ...(run.retriedBy ? [`  retried by ${run.retriedBy}`] : []),
    ...(steps.length > 0
      ? [
          '  steps',
          ...steps.map((step, i) =>
            `    ${step.name.padEnd(16)} ${time(step.at)}  ${duration(step.at, steps[i + 1]?.at ?? end) ?? ''}`.trimEnd(),
          ),
        ]
      : []),
    ...(run.search
      ? [
          `  search ${run.search.strategy}: ${run.search.trials} trials, best trial ${run.search.bestTrial} (${run.search.metric} ${metric(run.search.bestScore)})`,
        ]
      : []),
    ...summary.slice(1).filter((line) => !line.startsWith('  cost ')),
    ...(run.cost
      ? [costLine(run.cost), ...jobLines(run.cost)]
      : ['  cost not recorded (no training job has ended)']),
  ];
}

function jobLines(cost: RunCost): string[] {
  return cost.jobs.map(
    (job) =>
      `    trial ${job.trial}  ${job.jobName}  ${job.status}  ${job.instanceType}${job.spot ? ' spot' : ''}  ` +
      `${job.trainingSeconds} s trained, ${job.billableSeconds} s billed  ${job.usd === undefined ? 'unpriced' : `$${job.usd.toFixed(4)}`}`,
  );
}

/** `  cost $0.0021 estimated: 1 job, 10 s billed on ml.g4dn.xlarge (us-east-1 prices of 2026-11-01)`. */
export function costLine(cost: RunCost): string {
  const billed = cost.jobs.reduce((sum, job) => sum + job.billableSeconds, 0);
  const instances = [...new Set(cost.jobs.map((job) => `${job.instanceType}${job.spot ? ' (spot)' : ''}`))];
  const jobs = `${cost.jobs.length} job${cost.jobs.length === 1 ? '' : 's'}`;
  const gaps = [
    ...(cost.unpriced?.length ? [`no price for ${cost.unpriced.join(', ')}`] : []),
    ...(cost.unrecorded?.length ? [`${cost.unrecorded.length} not read: ${cost.unrecorded[0]}`] : []),
  ];
  return (
    `  cost ${formatCost(cost)} estimated: ${jobs}, ${billed} s billed on ${instances.join(', ') || 'no instance'}` +
    ` (${cost.region} prices of ${cost.pricesAsOf})${gaps.length ? `; ${gaps.join('; ')}` : ''}`
  );
}

/** A failed run is exit 1 with its reason. */
export function finishRun(run: RunRecord): void {
  if (run.status === 'SUCCEEDED') return;
  throw new CliError(
    `run ${run.runId} ${run.status === 'FAILED' ? 'failed' : `is ${run.status}`}: ${run.reason ?? 'no reason recorded'}`,
    EXIT.failed,
    /report/.test(run.reason ?? '')
      ? `\`nimbus datasets report ${run.dataset}\` shows what to fix in the file`
      : `\`nimbus runs list --dataset ${run.dataset}\` shows its runs`,
  );
}
