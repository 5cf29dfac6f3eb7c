/**
 * The training pipeline's state, as it flows through `state-machines/training-pipeline.asl.json`.
 *
 * `Init` builds the first four fields from the EventBridge event; each Task writes its result under its own
 * key (`ResultPath`), so a later step reads what earlier steps produced and nothing is overwritten.
 * A caught error lands in `error` (`{ Error, Cause }`) and goes to `MarkFailed`.
 */

import { createHash } from 'node:crypto';
import type { JobBudget, ModelInput } from './budget.ts';
import type { TrainingPlatform } from './contract.ts';
import type { CrossValidationSummary } from './cross-validation.ts';
import type { DatasetManifest, DatasetSchema, ImageSpec } from './dataset.ts';
import type { ObjectCreatedEvent } from './events.ts';
import type { ModelHyperparameters } from './hyperparameters.ts';
import type { ImageDatasetSchema } from './image-dataset.ts';
import type { ModelMetrics } from './metrics.ts';
import type { GateSpec, Lineage } from './model-registry.ts';
import type { PreprocessingOptions } from './preprocessor.ts';
import type { Parameters, SearchSpec } from './search-spec.ts';
import type { TableFormat } from './table-reader.ts';
import type { WarmStart } from './warm-start.ts';

export interface PipelineState {
  readonly runId: string;
  readonly bucket: string;
  readonly key: string;
  /** When the execution started (`$$.Execution.StartTime`); absent in executions started before it was passed. */
  readonly startedAt?: string;
  readonly trainingPlatform: TrainingPlatform;
  /** Present when the run trains again on content seen before: an alarm action asked for it, and why. */
  readonly retrain?: RetrainRequest;
  /** An import (an ONNX file under `models/<name>/`): the S3 event's detail, as InitImport passed it. */
  readonly detail?: { readonly requester?: string };
  /** ImportModel: the imported model's folder, lineage and evaluation, or why the upload starts nothing. */
  readonly import?: ImportResult;
  readonly dataset?: RegisterDatasetResult;
  readonly preprocess?: PreprocessResult;
  /** PlanTrials / RecordTrials: the search so far and the next round of trials. */
  readonly search?: SearchState;
  /** The Map state's output: one entry per trial of the last round. */
  readonly trialResults?: readonly TrialResult[];
  readonly evaluation?: EvaluationResult;
  readonly model?: RegisterModelResult;
  /** The champion/challenger gate's decision, and whether a person must approve. */
  readonly gate?: GateResult;
  /** WaitForApproval: what the approver decided (absent when the wait timed out: `approvalError`). */
  readonly approval?: ApprovalResult;
  readonly approvalError?: StepError;
  readonly deployment?: DeployResult;
  readonly error?: StepError;
}

/** What a retraining run is started with (the event's `detail.retrain`): why, and who asked (an alarm). */
export type RetrainRequest = NonNullable<ObjectCreatedEvent['detail']['retrain']>;

/**
 * `RegisterDataset`: `skip` ends the execution without a run — the same bytes were seen before, or the object
 * is not a dataset file (a manifest, a README).
 */
export type RegisterDatasetResult =
  | { readonly skip: true; readonly reason: string; readonly name: string }
  | (RegisteredDataset & {
      readonly format: TableFormat;
      readonly schema: DatasetSchema;
      readonly manifest?: DatasetManifest;
    })
  | (RegisteredDataset & {
      readonly schema: ImageDatasetSchema;
      /** `versions/<name>/<version>.json` in the datasets bucket: the version's exact files. */
      readonly indexKey: string;
      readonly manifest: DatasetManifest;
    });

/** What every registered dataset version carries. */
interface RegisteredDataset {
  readonly skip: false;
  readonly name: string;
  readonly version: string;
  readonly hash: string;
  /** The object that started the run (the CSV, the zip, or the folder's `_SUCCESS` marker). */
  readonly key: string;
}

/** A processed split file (`data/train.json`, …): model inputs and label indices. */
export type ProcessedSplit = TabularSplit | ImageSplit | ShardedSplit;

/**
 * A split written in shards as it streamed by: each `<split key>.<n>.bin` holds `rows` feature vectors
 * (float32, `width` each) followed by their `rows` labels (float32). Under a SageMaker channel the shards sit
 * next to the manifest (the channel's prefix is the manifest's key).
 */
export interface ShardedSplit {
  readonly format: 'shards';
  readonly task?: 'regression';
  readonly classes: readonly string[];
  readonly width: number;
  readonly rows: number;
  readonly shards: readonly { readonly key: string; readonly rows: number }[];
}

export interface TabularSplit {
  /** Absent for classification. A regression split's labels are standardized targets. */
  readonly task?: 'regression';
  readonly classes: readonly string[];
  readonly features: number[][];
  readonly labels: number[];
}

/** Decoded images: `pixels` is base64 of `labels.length × height × width × channels` bytes. */
export interface ImageSplit {
  readonly classes: readonly string[];
  readonly image: ImageSpec;
  readonly pixels: string;
  readonly labels: number[];
}

export interface PreprocessResult {
  readonly modelPrefix: string;
  readonly counts: { readonly train: number; readonly validation: number; readonly test: number };
  /** What the model is built for (the processed width or image size): PlanTrials counts parameters with it. */
  readonly modelInput: ModelInput;
  readonly trainingJob: TrainingJobSpec;
}

/** Everything the training container needs; passed as one JSON value (env var or hyperparameter). */
export interface TrainingJobSpec {
  readonly runId: string;
  /** The trial of the run's search (0 for a run without one); training job names end in `-t<trial>`. */
  readonly trial: number;
  readonly model: string;
  readonly bucket: string;
  readonly trainKey: string;
  readonly validationKey: string;
  /** Folder the model files are written to (`model.json`, weights, `card.json`). */
  readonly modelPrefix: string;
  readonly hyperparameters: ModelHyperparameters;
  /**
   * What the job may spend (core/budget.ts): the trainer stops after `minutes` keeping its best epoch, and
   * refuses a model over `parameters`; the state machine's hard timeouts read the derived seconds.
   */
  readonly budget: JobBudget;
  /** Where each epoch's checkpoint goes; a job that finds one there resumes from it. */
  readonly checkpointPrefix?: string;
  readonly lineage: {
    readonly datasetName: string;
    readonly datasetVersion: string;
    readonly datasetHash: string;
    readonly datasetKey: string;
    readonly preprocessing?: PreprocessingOptions;
  };
  /** A warm start asked for (core/warm-start.ts): the version to begin from, or why there is none. */
  readonly warmStart?: WarmStart;
  /**
   * Cross-validate before the final fit (core/cross-validation.ts): `folds` of the training split, cut with
   * `seed`; the run's preprocessor (for a regressor's targets in their own units) at `preprocessorKey`.
   */
  readonly crossValidation?: {
    readonly folds: number;
    readonly seed: number;
    readonly preprocessorKey: string;
  };
}

/** One epoch of training, as the training loop reports it. */
export interface EpochLog {
  readonly epoch: number;
  readonly loss: number;
  /** Classifiers only. */
  readonly accuracy?: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number;
}

/**
 * A run's hyperparameter search. Without a `search` in the manifest it is one trial with the default
 * hyperparameters, trained straight into the run's model folder.
 */
export interface SearchState {
  readonly spec?: SearchSpec;
  /** Every trial planned so far, with its score once it has finished. */
  readonly trials: readonly PlannedTrial[];
  /** The trials of the round about to run: the Map state's items. */
  readonly next: readonly TrainingJobSpec[];
  readonly done: boolean;
  readonly best?: { readonly trial: number; readonly score: number };
}

export interface PlannedTrial {
  readonly trial: number;
  readonly parameters: Parameters;
  readonly modelPrefix: string;
  readonly status: 'PLANNED' | 'SUCCEEDED' | 'FAILED';
  readonly score?: number;
  readonly reason?: string;
}

/** What one Map iteration returns: the training task's result, or the caught error of a failed trial. */
export interface TrialResult {
  readonly trial: number;
  /** The training job that ran it (TrialDone): its name, and Batch's job id. */
  readonly trainingJob?: { readonly jobName: string; readonly jobId?: string };
  readonly error?: StepError;
}

/** `card.json`, written by the training container next to the model files. */
export interface TrainingCard {
  readonly model: string;
  readonly runId: string;
  readonly lineage: Lineage;
  readonly contract: 'batch' | 'sagemaker';
  readonly training: {
    readonly seconds: number;
    readonly samples: number;
    /** Where the data came from: SageMaker's input channels, or S3 directly (Batch). */
    readonly data: 'channel' | 's3';
    /** Epochs in the history (all of them, across attempts). */
    readonly epochs: number;
    /** Of the epochs this attempt trained. */
    readonly samplesPerSecond: number;
    /**
     * The epoch whose weights the model has: the best one (lowest validation loss) under early stopping or when
     * the budget stopped training, else the last one.
     */
    readonly final: EpochLog | undefined;
    /** That epoch's number (absent in cards written before it was recorded). */
    readonly bestEpoch?: number;
    /** Set when the job found a checkpoint and went on from it (a retried Batch job, a spot restart). */
    readonly resumedFromEpoch?: number;
    readonly stoppedEarly?: number;
    /** Set when the time budget ended training before its epochs did (the model is its best epoch's). */
    readonly stoppedOnBudget?: BudgetStop;
    /**
     * A warm start asked for: the version whose weights training began from, or why it began from the
     * initializers (`skipped`).
     */
    readonly warmStart?: { readonly version: number; readonly runId: string } | { readonly skipped: string };
  };
  readonly history: readonly EpochLog[];
  /** The job's cross-validation, when the manifest asked for one (before the model was refitted on all). */
  readonly crossValidation?: CrossValidationSummary;
}

/**
 * A training job that ran out of its minutes: it stopped after the batch in progress and kept the weights of
 * its best epoch (the lowest validation loss of those it trained), which are what is served.
 */
export interface BudgetStop {
  /** The job's budget. */
  readonly minutes: number;
  /** The epoch whose weights the model has. */
  readonly bestEpoch: number;
  /** That epoch's validation loss (absent without validation data). */
  readonly bestValidationLoss?: number;
}

export type EvaluationResult = ModelMetrics;

/**
 * `ImportModel`: a servable folder made from an uploaded ONNX file, its lineage, and its evaluation on the
 * manifest's evaluation dataset (`evaluated: false` and `count: 0` without one: such a version is registered
 * but takes no alias by itself). `skip`: the same file was imported before.
 */
export type ImportResult =
  | { readonly skip: true; readonly reason: string; readonly model: string }
  | {
      readonly skip?: false;
      readonly model: string;
      readonly modelPrefix: string;
      readonly evaluated: boolean;
      readonly evaluation: EvaluationResult;
      readonly lineage: Lineage;
      readonly gate?: GateSpec;
    };

export interface RegisterModelResult {
  readonly model: string;
  readonly version: number;
}

export interface GateResult {
  readonly passed: boolean;
  readonly metric: string;
  readonly reason: string;
  readonly approval: 'auto' | 'manual';
  readonly maxRegression: number;
  /** The version that held `production` when the gate ran. */
  readonly champion?: number;
}

/** What the registry API sends back to a waiting pipeline (SendTaskSuccess output). */
export interface ApprovalResult {
  readonly decision: 'approve' | 'reject';
  readonly who: string;
  readonly why: string;
}

/** WaitForApproval's payload: the gate's function records the task token for the registry API. */
export interface ApprovalRequest {
  readonly runId: string;
  readonly model: RegisterModelResult;
  readonly gate: GateResult;
  readonly taskToken: string;
}

export interface DeployResult {
  readonly promoted: boolean;
  readonly alias: string;
  readonly version: number;
  readonly reason: string;
}

/** What Step Functions puts in ResultPath when a Catch fires. */
export interface StepError {
  readonly Error: string;
  readonly Cause?: string;
}

/** The most a run's reason carries (a Cause can be a whole job description). */
const MAX_REASON = 2000;

/**
 * A readable reason from a caught error, without stack traces or whole job descriptions:
 * - Lambda: Cause `{"errorType","errorMessage","trace"}` → `errorType: errorMessage`;
 * - Batch `.sync`: Cause is the job (`{"JobName","Status":"FAILED","StatusReason",…}`) → the status reason;
 * - SageMaker `.sync`: Cause is the training job (`{"TrainingJobName","FailureReason",…}`) → the failure reason;
 *   a job SageMaker stopped (`"TrainingJobStatus":"Stopped"`) → its secondary status (`MaxRuntimeExceeded`).
 */
export function failureReason(error: StepError | undefined): string {
  if (!error) return 'the pipeline failed for an unknown reason';
  const cause = error.Cause ?? '';
  let reason = cause ? `${error.Error}: ${cause}` : error.Error;
  try {
    const parsed = JSON.parse(cause) as {
      errorType?: string;
      errorMessage?: string;
      JobName?: string;
      StatusReason?: string;
      TrainingJobName?: string;
      TrainingJobStatus?: string;
      SecondaryStatus?: string;
      FailureReason?: string;
    };
    if (parsed.errorMessage) reason = `${parsed.errorType ?? error.Error}: ${parsed.errorMessage}`;
    else if (parsed.StatusReason)
      reason = `training job ${parsed.JobName ?? ''} failed: ${parsed.StatusReason}`;
    else if (parsed.FailureReason) {
      reason = `training job ${parsed.TrainingJobName ?? ''} failed: ${parsed.FailureReason}`;
    } else if (parsed.TrainingJobStatus === 'Stopped' && parsed.SecondaryStatus) {
      // Stopped by SageMaker: MaxRuntimeExceeded, MaxWaitTimeExceeded (or by a person: Stopped).
      reason = `training job ${parsed.TrainingJobName ?? ''} stopped: ${parsed.SecondaryStatus}`;
    }
  } catch {
    // not JSON: a service error or a plain message
  }
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason;
}

/**
 * Why a run ended when its execution did not end it (ExecutionEnded): timed out, stopped (with the cause its
 * stopper gave), or failed outside the pipeline's catch; after how long, and in which step.
 */
export function executionEndReason(
  status: 'FAILED' | 'TIMED_OUT' | 'ABORTED',
  facts: { took: number; step?: string; error?: string; cause?: string },
): string {
  const after = `after ${humanDuration(facts.took)}${facts.step ? `, in ${facts.step}` : ''}`;
  let reason: string;
  if (status === 'TIMED_OUT') reason = `the pipeline ran past its time limit ${after}`;
  else if (status === 'ABORTED') {
    const why = facts.cause || facts.error;
    reason = `stopped ${after}${why ? `: ${why}` : ''}`;
  } else {
    const failure = facts.error
      ? failureReason({ Error: facts.error, ...(facts.cause ? { Cause: facts.cause } : {}) })
      : 'the execution failed';
    reason = `${failure} (${after})`;
  }
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON)}…` : reason;
}

function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 6) / 10;
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 2.4) / 10} days`;
}

/**
 * The name of a retraining run's execution (its run id): `retrain-<UTC yyyymmddhhmmss>-<8 hex>`, 31
 * characters. The model is not in it: a run id also names its training jobs (`nimbus-<runId>-t<trial>`), and
 * SageMaker's job names allow 63 characters of letters, digits and hyphens, which a model name of up to 63
 * characters with underscores would break. The run record names the dataset.
 */
export function retrainRunName(now: Date, id: string): string {
  return derivedRunName('retrain', now, id);
}

/**
 * The name of a retry's execution (its run id), from the run it retries: `retry-<16 hex>`. The same failed
 * run always gives the same name, so Step Functions starts its retry once however often it is asked
 * (StartExecution refuses a name it has seen), and a retry that was claimed but never started can be started
 * by asking again.
 */
export function retryRunName(failedRunId: string): string {
  return `retry-${createHash('sha256').update(failedRunId).digest('hex').slice(0, 16)}`;
}

function derivedRunName(kind: 'retrain', now: Date, id: string): string {
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
  return `${kind}-${stamp}-${id
    .replace(/[^0-9a-f]/gi, '')
    .slice(0, 8)
    .toLowerCase()}`;
}
