/**
 * `nimbus runs watch`: follows a pipeline run until it ends, with progress on stderr — bars for the pipeline's
 * steps and the training epochs on a terminal (cli-progress), one line per step and per tenth of the epochs
 * otherwise (logs, CI). Polls `GET /v1/registry/runs/:runId/progress`; a platform without that route is
 * followed through `GET /v1/registry/runs/:runId` (steps only, epochs at the end).
 */

import cliProgress from 'cli-progress';
import type { RunProgress, RunRecord, TrainingProgress } from '../core/api-types.ts';
import { WAIT_FOR_APPROVAL_STATE } from '../core/contract.ts';
import type { EpochLog } from '../core/pipeline.ts';
import { type ApiClient, HttpError, registryPath } from './api.ts';
import { CliError, EXIT, note } from './output.ts';

/** The pipeline's steps as a run records them, in order; a search stands in for training. */
export const PIPELINE_STEPS = [
  'RegisterDataset',
  'Preprocess',
  'Train',
  'Evaluate',
  'RegisterModel',
  'Gate',
  'Deploy',
] as const;
const SAME_AS: Record<string, (typeof PIPELINE_STEPS)[number]> = {
  Search: 'Train',
  WaitForApproval: 'Gate',
};

/** How far along the pipeline a run is: steps begun before the current one, of PIPELINE_STEPS. */
export function stepsDone(progress: Pick<RunProgress, 'status' | 'step'>): number {
  if (progress.status === 'SUCCEEDED') return PIPELINE_STEPS.length;
  const step = progress.step ? (SAME_AS[progress.step] ?? progress.step) : undefined;
  const index = PIPELINE_STEPS.indexOf(step as (typeof PIPELINE_STEPS)[number]);
  return Math.max(0, index);
}

/** Epochs trained over all training jobs so far, and planned. */
export function epochsOf(progress: {
  readonly training?: Pick<TrainingProgress, 'epoch' | 'epochs' | 'history'>;
  readonly trials?: readonly Pick<TrainingProgress, 'epoch' | 'epochs'>[];
}): { epoch: number; epochs: number; last?: EpochLog } {
  const jobs = progress.trials ?? (progress.training ? [progress.training] : []);
  const last = progress.training?.history?.at(-1);
  return {
    epoch: jobs.reduce((sum, job) => sum + job.epoch, 0),
    epochs: jobs.reduce((sum, job) => sum + job.epochs, 0),
    ...(last ? { last } : {}),
  };
}

/** A run record as progress (the fallback before the progress route). */
function fromRun(run: RunRecord): RunProgress {
  const trained = run.training?.epochs;
  return {
    runId: run.runId,
    dataset: run.dataset,
    status: run.status,
    ...(run.step ? { step: run.step } : {}),
    steps: run.steps ?? (run.step ? [{ name: run.step, at: run.updatedAt }] : []),
    ...(run.reason ? { reason: run.reason } : {}),
    modelVersion: run.modelVersion,
    ...(trained === undefined
      ? {}
      : {
          training: {
            runId: run.runId,
            trial: 0,
            epoch: trained,
            epochs: trained,
            done: true,
            history: [],
            updatedAt: run.updatedAt,
          },
        }),
  };
}

interface Renderer {
  update(progress: RunProgress): void;
  stop(): void;
}

function metricsText(log: EpochLog | undefined): string {
  if (!log) return '';
  const acc = log.validationAccuracy === undefined ? '' : `  val_acc ${log.validationAccuracy.toFixed(3)}`;
  return `loss ${log.loss.toFixed(4)}${acc}`;
}

/** Bars on a terminal: the steps, and the epochs once training reports them. */
class BarRenderer implements Renderer {
  private readonly bars = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: '{label} |{bar}| {value}/{total}  {detail}',
      barsize: 30,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly steps = this.bars.create(PIPELINE_STEPS.length, 0, { label: 'steps ', detail: '' });
  private epochs?: cliProgress.SingleBar;

  update(progress: RunProgress): void {
    const status = progress.status === 'RUNNING' ? (progress.step ?? '') : progress.status;
    this.steps.update(stepsDone(progress), { label: 'steps ', detail: status });
    const { epoch, epochs, last } = epochsOf(progress);
    if (epochs > 0) {
      this.epochs ??= this.bars.create(epochs, 0, { label: 'epochs', detail: '' });
      this.epochs.setTotal(epochs);
      this.epochs.update(epoch, { label: 'epochs', detail: metricsText(last) });
    }
  }

  stop(): void {
    this.bars.stop();
  }
}

/** Lines for logs: each step as it begins, the epochs at every tenth, and the end. */
class LineRenderer implements Renderer {
  private stepsSeen = 0;
  private tenth = -1;

  update(progress: RunProgress): void {
    const id = progress.runId.slice(0, 8);
    for (const step of progress.steps.slice(this.stepsSeen)) note(`run ${id}  ${step.name}`);
    this.stepsSeen = Math.max(this.stepsSeen, progress.steps.length);
    const { epoch, epochs, last } = epochsOf(progress);
    const tenth = epochs > 0 ? Math.floor((epoch / epochs) * 10) : -1;
    if (tenth > this.tenth && epoch > 0) {
      this.tenth = tenth;
      note(`run ${id}    epoch ${epoch}/${epochs}  ${metricsText(last)}`.trimEnd());
    }
    if (progress.status !== 'RUNNING') note(`run ${id}  ${progress.status}`);
  }

  stop(): void {}
}

/** Failed polls in a row before watching gives up: with the backoff below, about a minute of outage. */
const MAX_FAILURES = 8;
/** The longest wait between polls: after failures, and while a run waits for a person. */
const MAX_WAIT_MS = 10_000;

function transient(error: unknown): boolean {
  return (
    (error instanceof HttpError && (error.status >= 500 || error.status === 429)) ||
    (error instanceof CliError && error.exitCode === EXIT.unreachable)
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface WatchOptions {
  readonly intervalMs?: number;
  /** Give up (exit 1) after this long; 0: never. */
  readonly timeoutMs?: number;
}

/** Follows a run until it succeeds or fails; returns its last progress. Progress goes to stderr. */
export async function watchRun(
  api: ApiClient,
  runId: string,
  options: WatchOptions = {},
): Promise<RunProgress> {
  const interval = options.intervalMs ?? 500;
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : Number.POSITIVE_INFINITY;
  const notFoundHint = '`nimbus runs list` shows the runs';
  const renderer: Renderer = process.stderr.isTTY ? new BarRenderer() : new LineRenderer();
  const interrupted = () => {
    renderer.stop();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  let progressRoute = true;
  let failures = 0;
  let approvalNoted = false;
  const poll = async (): Promise<RunProgress> => {
    if (progressRoute) {
      try {
        return await api.get<RunProgress>(registryPath('runs', runId, 'progress'), { notFoundHint });
      } catch (error) {
        // A platform older than the progress route: its router says so; a missing run says "no run".
        if (!(error instanceof CliError && error.exitCode === EXIT.notFound && /route/.test(error.message)))
          throw error;
        progressRoute = false;
      }
    }
    return fromRun(await api.get<RunRecord>(registryPath('runs', runId), { notFoundHint }));
  };
  try {
    for (;;) {
      let progress: RunProgress;
      try {
        progress = await poll();
        failures = 0;
      } catch (error) {
        // A run outlives a hiccup: a 5xx or a dropped connection is asked again, a few times.
        if (!transient(error) || ++failures >= MAX_FAILURES || Date.now() > deadline) throw error;
        await sleep(Math.min(MAX_WAIT_MS, interval * 2 ** failures));
        continue;
      }
      renderer.update(progress);
      if (progress.status !== 'RUNNING') return progress;
      // A person decides now, which may take days: say how, and ask less often.
      const waiting = progress.step === WAIT_FOR_APPROVAL_STATE;
      if (waiting && !approvalNoted) {
        approvalNoted = true;
        const version = progress.modelVersion ?? '<version>';
        note(
          `run ${runId} waits for approval: nimbus models approve ${progress.dataset ?? '<model>'} ${version} --reason "…" (or reject)`,
        );
      }
      if (Date.now() > deadline) {
        throw new CliError(
          `run ${runId} is still ${progress.step ?? 'running'} after ${Math.round((options.timeoutMs ?? 0) / 1000)} s`,
          EXIT.failed,
          'watch it again with `nimbus runs watch <runId>`',
        );
      }
      await sleep(waiting ? Math.max(interval, MAX_WAIT_MS) : interval);
    }
  } finally {
    process.off('SIGINT', interrupted);
    renderer.stop();
  }
}
