/**
 * The pipeline's training Tasks on this machine: the training entrypoint as a child process speaking the Batch
 * (or SageMaker) contract, retried, stopped past its time limit and when its execution ends, its progress lines
 * and metrics relayed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getBytes, listObjects } from '../aws/object-store.ts';
import { ENV, SAGEMAKER_JOB_HYPERPARAMETER, TRAINING_RETRY } from '../core/contract.ts';
import { childEnvironment } from './lambda-runtime.ts';
import type { JsonValue } from './lambda-tasks.ts';
import { type LedgerJob, TrainingLedger } from './training-ledger.ts';

/** A progress line of a training job's stdout (`{"event": …}`), as the pipeline emits it (`training`). */
export interface TrainingEvent {
  readonly runId: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

export interface TrainingJobsOptions {
  readonly repoRoot: string;
  /** Whether an execution has ended: none of its training jobs may start any more. */
  readonly hasEnded: (runId: string) => boolean;
  /** A progress line of a job's stdout. */
  readonly onTraining: (event: TrainingEvent) => void;
  /** An EMF line a job wrote (its metrics). */
  readonly onMetrics: (line: string) => void;
}

/** The training jobs of the local pipeline's executions. */
export class TrainingJobs {
  /** Training processes now running, by their job's name (`nimbus-<runId>-t<trial>`). */
  private readonly jobs = new Map<string, ChildProcess>();
  /** Every job's own account (times, attempts, status), for the describe calls of the local training API. */
  readonly ledger = new TrainingLedger();

  constructor(private readonly options: TrainingJobsOptions) {}

  /** Training jobs now running (their job names). */
  get names(): string[] {
    return [...this.jobs.keys()];
  }

  /** Stops (SIGTERM) the training processes of an execution. */
  stopRun(runId: string): void {
    for (const [name, child] of this.jobs) if (runOfJob(name) === runId) child.kill('SIGTERM');
  }

  /**
   * A Batch job (the TrainOnBatch state's handler): the process is started again, up to
   * TRAINING_RETRY.attempts times, when it was stopped from outside (killed by a signal, as a reclaimed spot
   * instance stops a container) — the job definition's retry strategy. The job resumes from its checkpoint.
   * An attempt past `Timeout.AttemptDurationSeconds` is stopped as Batch stops it (SIGTERM, then SIGKILL) and
   * fails the job, not retried ("Job attempt duration exceeded timeout").
   */
  async runBatchJob(job: BatchSubmitJob): Promise<JsonValue> {
    const env = Object.fromEntries((job.ContainerOverrides?.Environment ?? []).map((e) => [e.Name, e.Value]));
    const jobId = randomUUID();
    const limit = job.Timeout?.AttemptDurationSeconds;
    const attempts: { StatusReason: string }[] = [];
    const account = this.ledger.open({
      platform: 'batch',
      name: job.JobName,
      id: jobId,
      queue: job.JobQueue,
    });
    let failure: string | undefined;
    for (let attempt = 1; attempt <= TRAINING_RETRY.attempts; attempt++) {
      const exit = await this.runTrainingProcess(env, job.JobName, limit, BATCH_STOP_GRACE_MS, account);
      failure = exit.timedOut ? BATCH_TIMEOUT_REASON : exit.failure;
      this.ledger.stopAttempt(account, failure);
      if (failure !== undefined) attempts.push({ StatusReason: failure });
      // A timed-out job is not retried, nor one of an ended execution (Step Functions terminates it).
      if (exit.timedOut || !exit.stoppedFromOutside || this.hasEnded(job.JobName)) break;
    }
    this.ledger.close(account, failure === undefined ? 'SUCCEEDED' : 'FAILED', failure);
    if (failure !== undefined) {
      // What Step Functions reports for a failed Batch job: the job description as the Cause.
      throw taskFailed({
        JobName: job.JobName,
        JobId: jobId,
        Status: 'FAILED',
        StatusReason: failure,
        Attempts: attempts,
      });
    }
    return { JobId: jobId, JobName: job.JobName, JobQueue: job.JobQueue, Status: 'SUCCEEDED' };
  }

  /**
   * A SageMaker training job (the TrainOnSageMaker state's handler) in a temporary `/opt/ml`. Past
   * `StoppingCondition.MaxRuntimeInSeconds` it is stopped as SageMaker stops it (SIGTERM, then SIGKILL after
   * 120 s) and ends Stopped, `MaxRuntimeExceeded`.
   */
  async runSageMakerJob(job: SageMakerTrainingJob): Promise<JsonValue> {
    const root = mkdtempSync(join(tmpdir(), 'nimbus-sagemaker-'));
    const account = this.ledger.open({ platform: 'sagemaker', name: job.TrainingJobName, id: randomUUID() });
    let ended: { status: string; reason?: string } = { status: 'Failed', reason: 'the job could not start' };
    try {
      mkdirSync(join(root, 'input', 'config'), { recursive: true });
      writeFileSync(
        join(root, 'input', 'config', 'hyperparameters.json'),
        JSON.stringify(job.HyperParameters),
      );
      if (!job.HyperParameters[SAGEMAKER_JOB_HYPERPARAMETER])
        throw new Error('no training job hyperparameter');
      await downloadChannels(job.InputDataConfig ?? [], join(root, 'input', 'data'));
      const { failure, timedOut } = await this.runTrainingProcess(
        { [ENV.sageMakerRoot]: root },
        job.TrainingJobName,
        job.StoppingCondition?.MaxRuntimeInSeconds,
        SAGEMAKER_STOP_GRACE_MS,
        account,
      );
      if (timedOut) {
        ended = { status: 'Stopped', reason: 'MaxRuntimeExceeded' };
        throw taskFailed({
          TrainingJobName: job.TrainingJobName,
          TrainingJobStatus: 'Stopped',
          SecondaryStatus: 'MaxRuntimeExceeded',
        });
      }
      if (failure !== undefined) {
        // SageMaker's FailureReason is what the container wrote to /opt/ml/output/failure.
        const file = join(root, 'output', 'failure');
        const reason = existsSync(file) ? readFileSync(file, 'utf8').trim() : failure;
        ended = { status: 'Failed', reason };
        throw taskFailed({
          TrainingJobName: job.TrainingJobName,
          TrainingJobStatus: 'Failed',
          FailureReason: reason,
        });
      }
      ended = { status: 'Completed' };
      return { TrainingJobName: job.TrainingJobName, TrainingJobStatus: 'Completed' };
    } finally {
      this.ledger.close(account, ended.status, ended.reason);
      rmSync(root, { recursive: true, force: true });
    }
  }

  /**
   * The training entrypoint as a child process; its JSON progress lines are relayed as events (with the
   * process id). Resolves to no failure on success, or to the reason it failed (its last line on stderr), and
   * whether it was stopped from outside (a signal, or the exit codes a container gets for one). Past
   * `limitSeconds` it is sent SIGTERM, and SIGKILL `graceMs` later if it still runs: `timedOut`.
   */
  private runTrainingProcess(
    env: Record<string, string>,
    jobName: string,
    limitSeconds?: number,
    graceMs = 0,
    account?: LedgerJob,
  ): Promise<{ failure?: string; stoppedFromOutside: boolean; timedOut?: boolean }> {
    if (this.hasEnded(jobName)) {
      return Promise.resolve({
        failure: 'its execution ended before the job started',
        stoppedFromOutside: false,
      });
    }
    const entrypoint = join(this.options.repoRoot, 'containers', 'training', 'main.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', entrypoint], {
      cwd: this.options.repoRoot,
      env: { ...childEnvironment(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (account) this.ledger.startAttempt(account);
    this.jobs.set(jobName, child);
    let timedOut = false;
    const timers: NodeJS.Timeout[] = [];
    if (limitSeconds !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          child.kill('SIGTERM');
          timers.push(setTimeout(() => child.kill('SIGKILL'), graceMs));
        }, limitSeconds * 1000),
      );
    }
    child.once('close', () => {
      for (const timer of timers) clearTimeout(timer);
      if (this.jobs.get(jobName) === child) this.jobs.delete(jobName);
    });
    let stderr = '';
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) this.relayTrainingLine(line, child.pid);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        if (code === 0) return resolve({ stoppedFromOutside: false });
        const stoppedFromOutside =
          signal === 'SIGKILL' ||
          signal === 'SIGTERM' ||
          (TRAINING_RETRY.exitCodes as readonly number[]).includes(code ?? 0);
        const reason = signal ? '' : (stderr.trim().split('\n').pop() ?? '');
        resolve({
          failure: reason || `the training process was stopped (${code ?? signal})`,
          stoppedFromOutside,
          timedOut,
        });
      });
    });
  }

  /** Whether the execution a training job belongs to has ended. */
  private hasEnded(jobName: string): boolean {
    const runId = runOfJob(jobName);
    return runId !== undefined && this.options.hasEnded(runId);
  }

  private relayTrainingLine(line: string, pid: number | undefined): void {
    if (line.startsWith('{"_aws"')) {
      this.options.onMetrics(line);
      return;
    }
    try {
      const event = JSON.parse(line) as { event?: string; runId?: string };
      if (typeof event.event === 'string') {
        this.options.onTraining({ ...event, runId: event.runId ?? '', event: event.event, pid });
      }
    } catch {
      // not a progress line (a library's own output)
    }
  }
}

/** The run a training job belongs to, from its name (`nimbus-<runId>-t<trial>`, the definition's format). */
function runOfJob(jobName: string): string | undefined {
  return /^nimbus-(.+)-t\d+$/.exec(jobName)?.[1];
}

/** What Batch reports for a job whose attempt ran past its timeout (such a job is not retried). */
export const BATCH_TIMEOUT_REASON = 'Job attempt duration exceeded timeout';
/** Batch stops a container as `docker stop` does (ECS's stop timeout: 30 s); SageMaker gives 120 s. */
const BATCH_STOP_GRACE_MS = 30_000;
const SAGEMAKER_STOP_GRACE_MS = 120_000;

/** The Batch SubmitJob request the TrainOnBatch state sends (the fields the local runner reads). */
export interface BatchSubmitJob {
  readonly JobName: string;
  readonly JobQueue: string;
  readonly ContainerOverrides?: { readonly Environment?: readonly { Name: string; Value: string }[] };
  readonly Timeout?: { readonly AttemptDurationSeconds?: number };
}

/** The SageMaker CreateTrainingJob request the TrainOnSageMaker state sends (the fields read here). */
export interface SageMakerTrainingJob {
  readonly TrainingJobName: string;
  readonly HyperParameters: Record<string, string>;
  readonly InputDataConfig?: readonly SageMakerChannel[];
  readonly StoppingCondition?: { readonly MaxRuntimeInSeconds?: number };
}

interface SageMakerChannel {
  readonly ChannelName: string;
  readonly DataSource: { readonly S3DataSource: { readonly S3Uri: string } };
}

/** What SageMaker does before the container starts: every object under a channel's S3 prefix into `data/<channel>/`. */
async function downloadChannels(channels: readonly SageMakerChannel[], dataDir: string): Promise<void> {
  for (const channel of channels) {
    const uri = /^s3:\/\/([^/]+)\/(.*)$/.exec(channel.DataSource.S3DataSource.S3Uri);
    if (!uri?.[1]) throw new Error(`channel ${channel.ChannelName}: not an s3:// URI`);
    const [, bucket, prefix = ''] = uri;
    const dir = join(dataDir, channel.ChannelName);
    mkdirSync(dir, { recursive: true });
    for (const object of await listObjects(bucket, prefix)) {
      const relative = object.key.slice(prefix.lastIndexOf('/') + 1);
      mkdirSync(dirname(join(dir, relative)), { recursive: true });
      writeFileSync(join(dir, relative), await getBytes(bucket, object.key));
    }
  }
}

/** The error Step Functions raises when a `.sync` job fails: States.TaskFailed, the job as the Cause. */
function taskFailed(job: Record<string, unknown>): Error {
  const error = new Error(JSON.stringify(job));
  error.name = 'States.TaskFailed';
  return error;
}
