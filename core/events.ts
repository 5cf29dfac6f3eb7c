/**
 * The events that start work: the EventBridge patterns of an upload (a pipeline run), of a batch prediction
 * and of a pipeline execution that ended other than by succeeding, and the parts of those events the
 * platform reads.
 */
import { KEYS } from './keys.ts';

/**
 * The EventBridge pattern that starts the pipeline: a `.csv`, a `.zip` or a `_SUCCESS` marker created under
 * `datasets/` in the bucket — so uploading a folder of thousands of images is thousands of events and no
 * executions, until the marker. (RegisterDataset applies `datasetTrigger` to whatever arrives.)
 */
export function uploadEventPattern(datasetsBucket: string) {
  const p = KEYS.datasetsPrefix;
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: {
      bucket: { name: [datasetsBucket] },
      object: {
        key: [
          { wildcard: `${p}*.csv` },
          { wildcard: `${p}*.CSV` },
          { wildcard: `${p}*.jsonl` },
          { wildcard: `${p}*.zip` },
          { wildcard: `${p}*.ZIP` },
          { wildcard: `${p}*/${KEYS.successMarker}` },
        ],
      },
    },
  };
}

/**
 * The EventBridge pattern that starts an import: an `.onnx` file created under `models/` in the datasets
 * bucket (the pipeline's ImportModel reads `models/<name>/model.json` beside it, which must be there first).
 */
export function modelImportEventPattern(datasetsBucket: string) {
  const p = KEYS.modelsPrefix;
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: {
      bucket: { name: [datasetsBucket] },
      object: { key: [{ wildcard: `${p}*.onnx` }, { wildcard: `${p}*.ONNX` }] },
    },
  };
}

/** The rule that starts a batch prediction: a CSV under `batch/` in the datasets bucket. */
export function batchEventPattern(datasetsBucket: string) {
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: {
      bucket: { name: [datasetsBucket] },
      object: { key: [{ wildcard: `${KEYS.batchPrefix}*.csv` }, { wildcard: `${KEYS.batchPrefix}*.CSV` }] },
    },
  };
}

/** The parts of an EventBridge "Object Created" event the pipeline reads. */
export interface ObjectCreatedEvent {
  readonly version: string;
  readonly id: string;
  readonly 'detail-type': 'Object Created';
  readonly source: 'aws.s3';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: {
    readonly version: string;
    readonly bucket: { readonly name: string };
    readonly object: {
      readonly key: string;
      readonly size?: number;
      readonly etag?: string;
      readonly sequencer?: string;
    };
    readonly 'request-id'?: string;
    readonly requester?: string;
    readonly reason?: string;
    /**
     * Not S3's: set when the platform starts a run again on a dataset (an alarm action, or a retry of a failed
     * run), and why. A retry names the run it retries and the dataset version that run read: the run fails
     * if the object holds other bytes now.
     */
    readonly retrain?: {
      readonly reason: string;
      readonly by: string;
      readonly retryOf?: string;
      readonly version?: string;
    };
  };
}

/**
 * The pipeline's executions that end other than by succeeding — failed outside its own catch, timed out, or
 * stopped (StopExecution, the console, `nimbus runs stop`): Step Functions sends one of these events, and the
 * execution-ended function records the run's end, so no run stays RUNNING for ever.
 */
export const EXECUTION_ENDED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;
export type ExecutionEndedStatus = (typeof EXECUTION_ENDED_STATUSES)[number];

/** The ARN of a pipeline execution: the state machine's, with the execution's name (the run id). */
export function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

export function executionEndedEventPattern(stateMachineArn: string) {
  return {
    source: ['aws.states'],
    'detail-type': ['Step Functions Execution Status Change'],
    detail: { stateMachineArn: [stateMachineArn], status: [...EXECUTION_ENDED_STATUSES] },
  };
}

/** Step Functions' "Execution Status Change" event (the fields the platform reads). */
export interface ExecutionStatusChangeEvent {
  readonly version: string;
  readonly id: string;
  readonly 'detail-type': 'Step Functions Execution Status Change';
  readonly source: 'aws.states';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: {
    readonly executionArn: string;
    readonly stateMachineArn: string;
    /** The execution's name: the run's id. */
    readonly name: string;
    readonly status: 'RUNNING' | 'SUCCEEDED' | ExecutionEndedStatus;
    /** Epoch milliseconds. */
    readonly startDate: number;
    readonly stopDate: number | null;
    /** The execution's input as JSON text (null when too large to include). */
    readonly input: string | null;
    readonly error?: string | null;
    readonly cause?: string | null;
  };
}
