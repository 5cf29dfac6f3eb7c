/**
 * Runs the pipeline's ASL file with aws-local-stepfunctions. Every Task state is mapped to what runs it in
 * AWS: the same Lambda handler, called in-process (./lambda-tasks.ts), and the same training entrypoint, as a
 * child process speaking the Batch (or SageMaker) contract (./training-jobs.ts).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { PIPELINE_DEFINITION_FILE, type SubstitutionKey, TRAINING_STATES } from '../core/contract.ts';
import { executionArn, type ObjectCreatedEvent } from '../core/events.ts';
import { type JsonValue, lambdaTaskHandlers, type TaskHandler } from './lambda-tasks.ts';
import { TaskTokens } from './step-functions.ts';
import {
  type BatchSubmitJob,
  type SageMakerTrainingJob,
  type TrainingEvent,
  TrainingJobs,
} from './training-jobs.ts';
import type { TrainingLedger } from './training-ledger.ts';

export type { BatchSubmitJob, SageMakerTrainingJob, TrainingEvent } from './training-jobs.ts';
export { BATCH_TIMEOUT_REASON } from './training-jobs.ts';

/** The event log entries of an execution (the library declares but does not export the type). */
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

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
  /** The training jobs of the executions (their processes, by job name). */
  private readonly training: TrainingJobs;
  private handlers: Record<string, TaskHandler> | undefined;
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

  /** The training jobs' own account (the local training API's describe calls answer from it). */
  get trainingLedger(): TrainingLedger {
    return this.training.ledger;
  }

  constructor(private readonly options: LocalPipelineOptions) {
    super();
    this.training = new TrainingJobs({
      repoRoot: options.repoRoot,
      hasEnded: (runId) => this.ended.has(runId),
      onTraining: (event) => this.emit('training', event),
      onMetrics: (line) => this.emit('metrics', line),
    });
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
    return this.training.names;
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
      this.training.stopRun(runId);
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
    const handlers = await lambdaTaskHandlers(this.taskTokens);
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

  /** A Batch job (the TrainOnBatch state's handler): {@link TrainingJobs.runBatchJob}. */
  runBatchJob(job: BatchSubmitJob): Promise<JsonValue> {
    return this.training.runBatchJob(job);
  }

  /** A SageMaker training job (the TrainOnSageMaker state's handler): {@link TrainingJobs.runSageMakerJob}. */
  runSageMakerJob(job: SageMakerTrainingJob): Promise<JsonValue> {
    return this.training.runSageMakerJob(job);
  }
}

interface ExecutionHandle {
  abort: () => void;
  stopped?: { error?: string; cause?: string };
}
