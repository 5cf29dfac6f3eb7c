/**
 * Runs the pipeline's ASL file with aws-local-stepfunctions. Every Task state is mapped to what runs it in
 * AWS: the same Lambda handler, called in-process, and the same training entrypoint, as a child process
 * speaking the Batch (or SageMaker) contract.
 */
import './polyfills.ts';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { getBytes, listObjects } from '../aws/object-store.ts';
import { childEnvironment, invokeInContext } from './lambda-runtime.ts';
import { TaskTokens } from './step-functions.ts';

/** The event log entries of an execution (the library declares but does not export the type). */
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

import {
  ENV,
  PIPELINE_DEFINITION_FILE,
  SAGEMAKER_JOB_HYPERPARAMETER,
  type SubstitutionKey,
  TRAINING_RETRY,
  TRAINING_STATES,
  WAIT_FOR_APPROVAL_STATE,
} from '../core/contract.ts';
import { FUNCTIONS, PIPELINE_FUNCTIONS } from '../core/declaration.ts';
import { executionArn, type ObjectCreatedEvent } from '../core/events.ts';
import { loadHandler } from './handlers.ts';

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
type LambdaHandler = (input: never) => Promise<unknown>;

export interface LocalPipelineOptions {
  readonly repoRoot: string;
  readonly substitutions: Record<SubstitutionKey, string>;
  readonly stateMachineArn: string;
  /** Milliseconds between retries (the ASL's own waits are for AWS; tests want them short). */
  readonly retryIntervalMs?: number;
}

export interface StepEvent {
  readonly runId: string;
  readonly type: 'entered' | 'succeeded' | 'failed' | 'retried';
  readonly state: string;
  readonly error?: string;
}

/** A progress line of a training job's stdout (`{"event": …}`), as the pipeline emits it (`training`). */
export interface TrainingEvent {
  readonly runId: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

export interface ExecutionOutcome {
  readonly runId: string;
  /** As Step Functions says it: TIMED_OUT past the definition's TimeoutSeconds, ABORTED when stopped. */
  readonly status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** The execution's input (the upload's event) and when it started and stopped (epoch ms). */
  readonly input: unknown;
  readonly startDate: number;
  readonly stopDate: number;
}

export interface LocalPipelineEvents {
  started: [runId: string, key: string];
  step: [StepEvent];
  training: [TrainingEvent];
  /** An EMF line the training process wrote (its metrics, read as CloudWatch Logs reads a job's log). */
  metrics: [line: string];
  finished: [ExecutionOutcome];
}

export class LocalPipeline extends EventEmitter<LocalPipelineEvents> {
  private readonly machine: StateMachine;
  private readonly running = new Map<string, Promise<ExecutionOutcome>>();
  /** How to stop each running execution (from the moment it is started), and why it was stopped once it was. */
  private readonly executions = new Map<string, ExecutionHandle>();
  /** Runs whose execution has ended: none of their training jobs may start any more. */
  private readonly ended = new Set<string>();
  /** Training processes now running, by their job's name (`nimbus-<runId>-t<trial>`). */
  private readonly jobs = new Map<string, ChildProcess>();
  private handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> | undefined;
  /** The `.waitForTaskToken` tasks now waiting (the local Step Functions API answers them). */
  /** Task tokens, and StartExecution: the calls the local Step Functions endpoint serves. */
  readonly taskTokens = new TaskTokens({
    start: (name, input) => {
      this.start(input as ObjectCreatedEvent, name);
      return executionArn(this.options.stateMachineArn, name);
    },
    stop: (name, why) => this.stop(name, why),
    isRunning: (name) => this.executions.has(name),
    exists: (name) => this.executions.has(name) || this.ended.has(name),
  });

  constructor(private readonly options: LocalPipelineOptions) {
    super();
    let definition = readFileSync(join(options.repoRoot, PIPELINE_DEFINITION_FILE), 'utf8');
    for (const [key, value] of Object.entries(options.substitutions)) {
      definition = definition.replaceAll(`\${${key}}`, value);
    }
    this.machine = new StateMachine(JSON.parse(definition));
  }

  /** Executions still running. */
  get active(): number {
    return this.running.size;
  }

  /** Starts an execution for an upload event, as the EventBridge rule's target does (or StartExecution). */
  start(event: ObjectCreatedEvent, name?: string): { runId: string; outcome: Promise<ExecutionOutcome> } {
    const runId = name ?? randomUUID();
    // Stoppable at once, before the interpreter runs: a stop meanwhile aborts it as soon as it does.
    this.executions.set(runId, { abort: () => undefined });
    const outcome = this.execute(runId, event).finally(() => this.running.delete(runId));
    this.running.set(runId, outcome);
    this.emit('started', runId, String(event.detail?.object?.key ?? ''));
    return { runId, outcome };
  }

  /**
   * Stops a running execution, as StopExecution does: the execution ends ABORTED (with the error and cause
   * given) and its training jobs are stopped. Returns false when no execution of that name is running.
   */
  stop(runId: string, why: { error?: string; cause?: string } = {}): boolean {
    const execution = this.executions.get(runId);
    if (!execution || execution.stopped) return false;
    execution.stopped = why;
    execution.abort();
    return true;
  }

  /** Training jobs now running (their job names). */
  get runningJobs(): string[] {
    return [...this.jobs.keys()];
  }

  /** Resolves when every execution started so far has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private async execute(runId: string, event: ObjectCreatedEvent): Promise<ExecutionOutcome> {
    const handlers = await this.loadHandlers();
    const input = event as unknown as JsonValue;
    const retry = this.options.retryIntervalMs ?? 1000;
    const execution = this.machine.run(input, {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(
          Object.entries(handlers).map(([state, fn]) => [state, (stateInput: JsonValue) => fn(stateInput)]),
        ),
        retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((state) => [state, retry])),
      },
      context: {
        Execution: {
          Id: executionArn(this.options.stateMachineArn, runId),
          Name: runId,
          Input: input,
          StartTime: new Date().toISOString(),
        },
        StateMachine: {
          Id: this.options.stateMachineArn,
          Name: this.options.stateMachineArn.split(':').pop() ?? '',
        },
        // One token per execution: the pipeline has one `.waitForTaskToken` state.
        Task: { Token: `${runId}.${randomUUID()}` },
      },
    });
    const startDate = Date.now();
    const entry = this.executions.get(runId) ?? { abort: () => undefined };
    this.executions.set(runId, entry);
    entry.abort = () => execution.abort();
    if (entry.stopped) execution.abort();
    const relay = this.relayEvents(runId, execution.eventLogs);
    let outcome: ExecutionOutcome;
    try {
      const output = await execution.result;
      outcome = { runId, status: 'SUCCEEDED', output, input, startDate, stopDate: Date.now() };
    } catch (error) {
      const failure = error as { name?: string; message?: string; cause?: unknown };
      const ended = { runId, input, startDate, stopDate: Date.now() };
      if (failure.name === 'ExecutionAbortedError') {
        const { error: name, cause } = entry.stopped ?? {};
        outcome = {
          ...ended,
          status: 'ABORTED',
          ...(name ? { error: name } : {}),
          ...(cause ? { cause } : {}),
        };
      } else if (failure.name === 'ExecutionTimeoutError') {
        outcome = { ...ended, status: 'TIMED_OUT', error: 'States.Timeout' };
      } else {
        const cause = typeof failure.cause === 'string' ? failure.cause : failure.message;
        const error = failure.name ?? 'Error';
        outcome = { ...ended, status: 'FAILED', error, ...(cause === undefined ? {} : { cause }) };
      }
    } finally {
      this.executions.delete(runId);
      // As Step Functions does when an execution ends however it ends: its `.sync` training jobs are stopped
      // (and none starts again), and its task tokens answer TaskDoesNotExist from now on.
      this.ended.add(runId);
      for (const [name, child] of this.jobs) if (runOfJob(name) === runId) child.kill('SIGTERM');
      this.taskTokens.forget(`${runId}.`);
    }
    await relay;
    this.emit('finished', outcome);
    return outcome;
  }

  private async relayEvents(runId: string, events: AsyncGenerator<EventLog>): Promise<void> {
    for await (const event of events) {
      if (!('state' in event) || 'parentState' in event) continue;
      const state = event.state.name;
      if (event.type === 'StateEntered') this.emit('step', { runId, type: 'entered', state });
      else if (event.type === 'StateExited') this.emit('step', { runId, type: 'succeeded', state });
      else if (event.type === 'StateRetried') this.emit('step', { runId, type: 'retried', state });
      else if (event.type === 'StateFailed' || event.type === 'StateCaught') {
        const error = 'Error' in event ? String(event.Error) : 'caught';
        this.emit('step', { runId, type: 'failed', state, error });
      }
    }
  }

  /** Imports the handlers after the environment is set: they read their configuration at load. */
  private async loadHandlers() {
    if (this.handlers) return this.handlers;
    const handlers: Record<string, (input: JsonValue) => Promise<JsonValue>> = {};
    for (const name of PIPELINE_FUNCTIONS) {
      const module = await loadHandler(name);
      for (const state of FUNCTIONS[name].trigger.states) {
        handlers[state] = (input) => invokeLikeLambda(module.handler, input);
      }
    }
    // `.waitForTaskToken`: the Lambda gets the Payload (with the token); the state ends when the token is answered.
    const gate = handlers[WAIT_FOR_APPROVAL_STATE];
    if (gate) {
      handlers[WAIT_FOR_APPROVAL_STATE] = async (input) => {
        const payload = (input as { Payload: { taskToken: string } & JsonValue }).Payload;
        const answered = this.taskTokens.wait(payload.taskToken);
        answered.catch(() => undefined);
        await gate(payload);
        return (await answered) as JsonValue;
      };
    }
    // A job outlives a Task the interpreter stopped waiting for (its execution failed elsewhere, or the Task
    // timed out): its failure then has no one to hear it, and must not end the process as unhandled.
    const observed = (job: Promise<JsonValue>) => {
      job.catch(() => undefined);
      return job;
    };
    handlers[TRAINING_STATES.batch] = (input) =>
      observed(this.runBatchJob(input as unknown as BatchSubmitJob));
    handlers[TRAINING_STATES.sagemaker] = (input) =>
      observed(this.runSageMakerJob(input as unknown as SageMakerTrainingJob));
    this.handlers = handlers;
    return handlers;
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
    let failure: string | undefined;
    for (let attempt = 1; attempt <= TRAINING_RETRY.attempts; attempt++) {
      const exit = await this.runTrainingProcess(env, job.JobName, limit, BATCH_STOP_GRACE_MS);
      failure = exit.timedOut ? BATCH_TIMEOUT_REASON : exit.failure;
      if (failure !== undefined) attempts.push({ StatusReason: failure });
      // A timed-out job is not retried, nor one of an ended execution (Step Functions terminates it).
      if (exit.timedOut || !exit.stoppedFromOutside || this.hasEnded(job.JobName)) break;
    }
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
      );
      if (timedOut) {
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
        throw taskFailed({
          TrainingJobName: job.TrainingJobName,
          TrainingJobStatus: 'Failed',
          FailureReason: reason,
        });
      }
      return { TrainingJobName: job.TrainingJobName, TrainingJobStatus: 'Completed' };
    } finally {
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
          ...(timedOut ? { timedOut } : {}),
        });
      });
    });
  }

  /** Whether the execution a training job belongs to has ended. */
  private hasEnded(jobName: string): boolean {
    const runId = runOfJob(jobName);
    return runId !== undefined && this.ended.has(runId);
  }

  private relayTrainingLine(line: string, pid: number | undefined): void {
    if (line.startsWith('{"_aws"')) {
      this.emit('metrics', line);
      return;
    }
    try {
      const event = JSON.parse(line) as { event?: string; runId?: string };
      if (typeof event.event === 'string') {
        this.emit('training', { ...event, runId: event.runId ?? '', event: event.event, pid });
      }
    } catch {
      // not a progress line (a library's own output)
    }
  }
}

interface ExecutionHandle {
  abort: () => void;
  stopped?: { error?: string; cause?: string };
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

/**
 * Calls a handler the way Lambda and Step Functions do: JSON in, JSON out, in an invocation context of its
 * own (lambda-runtime.ts); an error becomes a States error named after its type with Lambda's Cause
 * (`{"errorType","errorMessage"}`).
 */
async function invokeLikeLambda(handler: LambdaHandler, input: JsonValue): Promise<JsonValue> {
  try {
    const event = JSON.parse(JSON.stringify(input)) as never;
    const result = await invokeInContext(() => handler(event));
    return JSON.parse(JSON.stringify(result ?? null)) as JsonValue;
  } catch (error) {
    const type = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const failure = new Error(JSON.stringify({ errorType: type, errorMessage: message }));
    failure.name = type;
    throw failure;
  }
}
