/**
 * The contract between the two substrates (AWS via infra/, one machine via local/).
 *
 * Every name that both sides need lives here exactly once: environment variables, bucket and table roles,
 * the S3 key layout, DynamoDB key schemas, the upload event pattern, the state-machine substitution keys and
 * task names, and the API's resources. infra/ and local/ import it (what exists — functions, routes, rules — is
 * declared in declaration.ts); nothing here knows which substrate it is on.
 */

/** Environment variables read by handlers and the training container. */
export const ENV = {
  datasetsBucket: 'NIMBUS_DATASETS_BUCKET',
  artifactsBucket: 'NIMBUS_ARTIFACTS_BUCKET',
  datasetsTable: 'NIMBUS_DATASETS_TABLE',
  runsTable: 'NIMBUS_RUNS_TABLE',
  modelsTable: 'NIMBUS_MODELS_TABLE',
  /** The training job spec (JSON), set by the pipeline on the Batch job. */
  trainingJob: 'NIMBUS_TRAINING_JOB',
  /** Forces a tfjs backend: `tensorflow`, `wasm` or `cpu`. */
  tfBackend: 'NIMBUS_TF_BACKEND',
  /** Root of the SageMaker container layout (`/opt/ml` in SageMaker). */
  sageMakerRoot: 'NIMBUS_SAGEMAKER_ROOT',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  /** The platform's default gate (JSON, core/model-registry.ts GateSpec); a manifest's `gate` overrides it. */
  gate: 'NIMBUS_GATE',
  /**
   * The platform's training budget (JSON `{"minutes", "parameters"}`, core/budget.ts), read by Preprocess; a
   * manifest's `budget` may only lower it.
   */
  trainingBudget: 'NIMBUS_TRAINING_BUDGET',
  /** Share of predictions written to the data capture (0–1). */
  captureRate: 'NIMBUS_CAPTURE_RATE',
  /** Longest time a captured prediction waits in memory before it is written, in ms (default 10 s). */
  captureFlushMs: 'NIMBUS_CAPTURE_FLUSH_MS',
  /**
   * The drift monitor reads only capture objects at least this old, in ms (default 30 s), so a write still in
   * flight in another container cannot land behind the place it has read up to.
   */
  captureSettleMs: 'NIMBUS_CAPTURE_SETTLE_MS',
  /** How long predict trusts what it read of an alias, in ms (a promotion serves within this). */
  aliasCacheMs: 'NIMBUS_ALIAS_CACHE_MS',
  /** What an alarm does besides notifying (JSON, core/alarms.ts AlarmActions). */
  alarmActions: 'NIMBUS_ALARM_ACTIONS',
  /** The training pipeline, for alarm actions that start a retraining run. */
  stateMachineArn: 'NIMBUS_STATE_MACHINE_ARN',
} as const;

/** SageMaker hyperparameter carrying the training job spec (hyperparameters are string → string). */
export const SAGEMAKER_JOB_HYPERPARAMETER = 'nimbus_job';

/** The two buckets and three tables the platform owns, by role. */
export const BUCKETS = ['datasets', 'artifacts'] as const;
export type BucketRole = (typeof BUCKETS)[number];

export interface TableSchema {
  readonly partitionKey: string;
  readonly sortKey?: string;
}

/** DynamoDB key schemas. All attributes named here are strings. */
export const TABLES = {
  /** One item per dataset version: `name` + `version` (a prefix of the content hash). */
  datasets: { partitionKey: 'name', sortKey: 'version' },
  /** One item per pipeline run, keyed by the execution name. */
  runs: { partitionKey: 'runId' },
  /** Per model: `META` (version counter), `VERSION#000001` items, `ALIAS#production` items. */
  models: { partitionKey: 'model', sortKey: 'sk' },
} as const satisfies Record<string, TableSchema>;
export type TableRole = keyof typeof TABLES;

/** Environment variable that carries each bucket's / table's name to handlers. */
export const BUCKET_ENV: Record<BucketRole, string> = {
  datasets: ENV.datasetsBucket,
  artifacts: ENV.artifactsBucket,
};
export const TABLE_ENV: Record<TableRole, string> = {
  datasets: ENV.datasetsTable,
  runs: ENV.runsTable,
  models: ENV.modelsTable,
};

/** Sort keys of the models table. */
export const MODEL_KEYS = {
  meta: 'META',
  version: (version: number): string => `VERSION#${String(version).padStart(6, '0')}`,
  versionPrefix: 'VERSION#',
  /** The audit log: every alias change (`AUDIT#ALIAS#<alias>#<rev>`) and status change of a version. */
  auditPrefix: 'AUDIT#',
  aliasEntry: (alias: string, revision: number): string =>
    `AUDIT#ALIAS#${alias}#${String(revision).padStart(8, '0')}`,
  aliasPrefix: (alias: string): string => `AUDIT#ALIAS#${alias}#`,
  statusEntry: (version: number, revision: number): string =>
    `AUDIT#STATUS#${String(version).padStart(6, '0')}#${String(revision).padStart(4, '0')}`,
  statusPrefix: (version: number): string => `AUDIT#STATUS#${String(version).padStart(6, '0')}#`,
  /** Held while one alias or status change of the model runs (aws/model-audit.ts withModelLock). */
  lock: 'LOCK',
  /** A pipeline waiting for a person to approve a version: its task token. */
  approval: (version: number): string => `APPROVAL#${String(version).padStart(6, '0')}`,
} as const;

/**
 * Alarm states, as the alarm-state handler records them (in the models table, under a partition key no model
 * name can take): the current state per alarm, and every transition in time order.
 */
export const ALARM_KEYS = {
  partition: '#alarms',
  current: (alarm: string): string => `STATE#${alarm}`,
  currentPrefix: 'STATE#',
  transition: (at: string, alarm: string): string => `HISTORY#${at}#${alarm}`,
  transitionPrefix: 'HISTORY#',
} as const;

/** The alias that the predict API serves by default. */
export const PRODUCTION_ALIAS = 'production';

/**
 * Dataset and model names (a model is named after its dataset): what S3 keys, table keys, URL paths, metric
 * dimensions and alarm names can all carry safely. The one rule, applied where a name first arrives — the
 * upload (RegisterDataset, before anything is written; the CLI, before it uploads) — and by every API route
 * (a name outside the rule is no resource: 404, before any table, cache or metric is touched).
 */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const NAME_MAX_LENGTH = 63;
export const NAME_RULE = `lowercase letters, digits, "-" and "_" (at most ${NAME_MAX_LENGTH}), starting with a letter or digit`;

/**
 * The valid name nearest to what a user typed: lowercased, accents dropped, every other run of characters a
 * "-", trimmed to the length (`Wine` → `wine`, `My Data.v2` → `my-data-v2`); undefined when nothing is left.
 */
export function suggestName(typed: string): string | undefined {
  const name = typed
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+/, '')
    .slice(0, NAME_MAX_LENGTH)
    .replace(/[-_]+$/, '');
  return NAME_PATTERN.test(name) ? name : undefined;
}

/** A name as an error message quotes it: JSON-quoted, and cut short when long (a message stays readable). */
export function quoteName(name: string, max = 64): string {
  return JSON.stringify(name.length > max ? `${name.slice(0, max)}…` : name);
}

/**
 * Why a dataset or model name is refused, with the valid form to use instead (`hint`: where to put it, e.g.
 * `datasets/<name>/`); undefined for a valid name.
 */
export function nameProblem(
  kind: 'dataset' | 'model',
  name: string,
  hint: (valid: string) => string = (valid) => `"${valid}"`,
): string | undefined {
  if (NAME_PATTERN.test(name)) return undefined;
  const suggestion = suggestName(name);
  return `${kind} name ${quoteName(name)} is not valid: a name is ${NAME_RULE}${
    suggestion ? `; use ${hint(suggestion)}` : ''
  }`;
}

/** Run ids: Step Functions execution names (1–80 of letters, digits, "-" and "_"). */
export const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** S3 key layout. Datasets in the datasets bucket; everything a run produces in the artifacts bucket. */
export const KEYS = {
  datasetsPrefix: 'datasets/',
  /**
   * Sampled predictions (artifacts bucket), JSON Lines partitioned by model, date and hour (UTC):
   * `capture/<model>/date=YYYY-MM-DD/hour=HH/<time>-<id>.jsonl`.
   */
  capturePrefix: 'capture/',
  /**
   * Batch prediction: a CSV uploaded to `batch/<model>/<name>.csv` in the datasets bucket is predicted by the
   * model's `production` version into `batch/<model>/<name>.predictions.csv` (and a `.summary.json`) in the
   * artifacts bucket.
   */
  batchPrefix: 'batch/',
  parseBatchKey(key: string): { model: string; name: string } | undefined {
    // Any folder name: one outside the name rule is refused by name in the batch's summary.
    const match = /^batch\/([^/]+)\/(.+)\.csv$/i.exec(key);
    return match?.[1] && match[2] ? { model: match[1], name: match[2] } : undefined;
  },
  batchOutput: (model: string, name: string): string => `batch/${model}/${name}.predictions.csv`,
  batchSummary: (model: string, name: string): string => `batch/${model}/${name}.summary.json`,
  capture: (model: string, at: Date, id: string): string => {
    const iso = at.toISOString();
    return `capture/${model}/date=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}/${iso.replace(/[-:.]/g, '')}-${id}.jsonl`;
  },
  /** When a capture object was written (the time in its key); undefined for another key. */
  captureTime: (key: string): Date | undefined => {
    const match = /\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-[^/]*\.jsonl$/.exec(key);
    if (!match) return undefined;
    const [, y, mo, d, h, mi, s, ms] = match;
    return new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
  },
  /** The optional manifest next to a dataset's files. */
  manifest: (dataset: string): string => `datasets/${dataset}/dataset.json`,
  manifestFile: 'dataset.json',
  /** The folder of a dataset's files. */
  datasetPrefix: (dataset: string): string => `datasets/${dataset}/`,
  /** Written last after a folder of images (`aws s3 cp --recursive`, then this): starts one run. */
  successMarker: '_SUCCESS',
  /**
   * The exact files of a dataset version (image datasets): outside `datasets/`, so writing it starts
   * nothing, and content-addressed, so it never changes.
   */
  datasetVersionIndex: (dataset: string, version: string): string => `versions/${dataset}/${version}.json`,
  datasetVersionsPrefix: 'versions/',
  /** The validation report of a tabular dataset version (core/validation/report.ts), next to its index. */
  datasetReport: (dataset: string, version: string): string => `versions/${dataset}/${version}.report.json`,
  /** The statistics of a tabular dataset version (all rows), the reference for drift. */
  datasetBaseline: (dataset: string, version: string): string =>
    `versions/${dataset}/${version}.baseline.json`,
  /** `datasets/<name>/<file>` → its parts; undefined for keys outside the layout. */
  parseDatasetKey(key: string): { dataset: string; file: string } | undefined {
    const match = /^datasets\/([^/]+)\/(.+)$/.exec(key);
    if (!match?.[1] || !match[2]) return undefined;
    return { dataset: match[1], file: match[2] };
  },
  runPrefix: (model: string, runId: string): string => `artifacts/${model}/runs/${runId}/`,
  /** Processed splits and the raw held-out rows of a run. */
  data: (model: string, runId: string, file: DataFile): string =>
    `artifacts/${model}/runs/${runId}/data/${file}`,
  /** Every checkpoint folder's objects, of every run and trial, as an IAM resource pattern. */
  checkpointObjects: 'artifacts/*/checkpoint/*',
  /** Per-epoch training checkpoints of a run (or of one trial of its search). */
  checkpointPrefix: (model: string, runId: string, trial?: number): string =>
    `artifacts/${model}/runs/${runId}/${trial === undefined ? '' : `trials/${trial}/`}checkpoint/`,
  /** The servable model folder of a run (see ArtifactFile). */
  modelPrefix: (model: string, runId: string): string => `artifacts/${model}/runs/${runId}/model/`,
  /** The epochs so far of one training job of a run (trial 0 without a search): rewritten as it trains. */
  trainingProgress: (model: string, runId: string, trial: number): string =>
    `artifacts/${model}/runs/${runId}/progress/trial-${String(trial).padStart(4, '0')}.json`,
  trainingProgressPrefix: (model: string, runId: string): string =>
    `artifacts/${model}/runs/${runId}/progress/`,
  /** What the drift monitor writes (artifacts bucket): reports and where it left off, per model. */
  monitoringPrefix: 'monitoring/',
  /** Drift reports of a model (artifacts bucket), one per monitor run that saw traffic, in time order. */
  driftPrefix: (model: string): string => `monitoring/${model}/drift/`,
  driftReport: (model: string, at: Date): string => {
    const iso = at.toISOString();
    return `monitoring/${model}/drift/date=${iso.slice(0, 10)}/${iso.replace(/[-:.]/g, '')}.json`;
  },
  /** Where the drift monitor left off in a model's capture: the last capture object it read. */
  monitorState: (model: string): string => `monitoring/${model}/state.json`,
} as const;

export type DataFile = 'train.json' | 'validation.json' | 'test.json' | 'test-rows.json';

/** In a checkpoint folder: names the last complete epoch's folder. */
export const CHECKPOINT_LATEST = 'latest.json';

/** Files of one model version's folder. */
export const ARTIFACTS = {
  modelJson: 'model.json',
  weights: 'weights.bin',
  preprocessor: 'preprocessor.json',
  schema: 'schema.json',
  baseline: 'baseline.json',
  metrics: 'metrics.json',
  card: 'card.json',
  /** Present in an ensemble's folder: its members and how they combine (core/ensemble.ts). */
  ensemble: 'ensemble.json',
} as const;

/**
 * What an object under `datasets/<name>/` is to the pipeline: a CSV, a JSON Lines file or a zip of class
 * folders starts a run;
 * the `_SUCCESS` marker starts a run over the folder's images; anything else (images, the manifest) does not.
 */
export type DatasetTrigger = 'csv' | 'jsonl' | 'zip' | 'folder';

export function datasetTrigger(file: string): DatasetTrigger | undefined {
  const lower = file.toLowerCase();
  if (file === KEYS.successMarker) return 'folder';
  if (file.includes('/')) return undefined;
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl')) return 'jsonl';
  if (lower.endsWith('.zip')) return 'zip';
  return undefined;
}

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

/** The state machine definition file, relative to the repository root. */
export const PIPELINE_DEFINITION_FILE = 'state-machines/training-pipeline.asl.json';

/** `${Placeholders}` in the ASL file, filled by CDK `definitionSubstitutions` and by local/. */
export const SUBSTITUTIONS = {
  registerDatasetFunction: 'RegisterDatasetFunctionArn',
  preprocessFunction: 'PreprocessFunctionArn',
  searchFunction: 'SearchFunctionArn',
  evaluateFunction: 'EvaluateFunctionArn',
  registerModelFunction: 'RegisterModelFunctionArn',
  deployFunction: 'DeployFunctionArn',
  gateFunction: 'GateFunctionArn',
  markFailedFunction: 'MarkFailedFunctionArn',
  trainingPlatform: 'TrainingPlatform',
  batchJobQueue: 'TrainingJobQueueArn',
  batchJobDefinition: 'TrainingJobDefinitionArn',
  sageMakerRole: 'SageMakerRoleArn',
  sageMakerImage: 'TrainingImageUri',
  sageMakerInstanceType: 'SageMakerInstanceType',
  artifactsBucket: 'ArtifactsBucketName',
} as const;
export type SubstitutionKey = (typeof SUBSTITUTIONS)[keyof typeof SUBSTITUTIONS];

export type TrainingPlatform = 'batch' | 'sagemaker';

/**
 * Retries of a training job (Batch): the job is tried up to `attempts` times when it was stopped from outside
 * (spot reclaim, host loss, SIGKILL/SIGTERM: exit 137/143), never for its own failure (exit 1), and resumes
 * from its last checkpoint.
 */
export const TRAINING_RETRY = { attempts: 3, exitCodes: [137, 143] } as const;

/** Training jobs are named `<prefix><run id>-t<trial>` by the ASL; IAM scopes SageMaker permissions to this prefix. */
export const TRAINING_JOB_PREFIX = 'nimbus-';

/** The `.waitForTaskToken` state where a run waits for a person to approve its version. */
export const WAIT_FOR_APPROVAL_STATE = 'WaitForApproval';

/** Task states that run the training container. */
export const TRAINING_STATES = { batch: 'TrainOnBatch', sagemaker: 'TrainOnSageMaker' } as const;

/** The API: TF Serving's REST paths under the stage. */
export const API = {
  /** Resource that API Gateway proxies to the predict function. */
  modelsResource: ['v1', 'models'] as const,
  apiKeyHeader: 'x-api-key',
  /** The registry API's resource (list and change models, versions, aliases; runs; the audit log). */
  registryResource: ['v1', 'registry'] as const,
  /** The monitoring API's resource (alarm states and history, drift reports). Reads only, API key. */
  monitoringResource: ['v1', 'monitoring'] as const,
  /** The web dashboard's page and assets: no key to load; the page asks for the API key to read data. */
  dashboardResource: ['dashboard'] as const,
  /** The API described in OpenAPI 3.1 (docs/openapi.json), no key to read it. */
  openApiResource: ['v1', 'openapi.json'] as const,
  /** The local gateway's stand-in for IAM on the registry API's changes. */
  adminKeyHeader: 'x-nimbus-admin-key',
  /** The response header that says which version answered a prediction. */
  versionHeader: 'x-nimbus-model-version',
  /**
   * TF Serving's paths: `/v1/models/<name>[/versions/<v>|/labels/<alias>]` then `:predict` (verb
   * `predict`), `/metadata` (verb `metadata`) or nothing (verb undefined: the version status). Undefined when
   * the path is not a model route; `version` is a positive integer when present.
   */
  parseModelPath(
    path: string,
  ): { model: string; version?: number; label?: string; verb: string | undefined } | undefined {
    const match =
      /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d{1,9})|\/labels\/([^/:]+))?(?:(\/metadata)|:([a-z]+))?\/?$/.exec(
        path,
      );
    if (!match?.[1]) return undefined;
    const [, model, version, label, metadata, verb] = match;
    try {
      return {
        model: decodeURIComponent(model),
        ...(version === undefined ? {} : { version: Number(version) }),
        ...(label === undefined ? {} : { label: decodeURIComponent(label) }),
        verb: metadata ? 'metadata' : verb,
      };
    } catch {
      return undefined; // a malformed %-escape
    }
  },
  predictPath: (model: string): string => `/v1/models/${encodeURIComponent(model)}:predict`,
} as const;

/** Stack output keys (infra/ writes them, cli/ and docs read them). */
export const OUTPUTS = {
  datasetsBucket: 'DatasetsBucketName',
  artifactsBucket: 'ArtifactsBucketName',
  datasetsTable: 'DatasetsTableName',
  runsTable: 'RunsTableName',
  modelsTable: 'ModelsTableName',
  stateMachine: 'PipelineStateMachineArn',
  apiUrl: 'ApiUrl',
  apiKeyId: 'ApiKeyId',
  alarmTopic: 'AlarmTopicArn',
  dashboard: 'DashboardName',
} as const;

/**
 * CloudWatch metrics the handlers and the training container write (EMF, with Powertools), in one namespace.
 * Every metric carries the `service` dimension; per-model metrics also `model`, and some one more dimension.
 */
export const METRICS = {
  namespace: 'NimbusML',
  service: 'nimbus-ml',
  dimensions: {
    model: 'model',
    /** Which side of a canary split answered: `primary` or `canary`. */
    variant: 'variant',
    /** Predicted class (classification). */
    class: 'class',
    /** Why a request failed: `BadRequest`, `NotFound`, `Internal`… */
    errorType: 'errorType',
    feature: 'feature',
  },
  /** predict: one per answered request. */
  predictions: 'Predictions',
  /** predict: instances in the request. */
  instances: 'Instances',
  /** predict: milliseconds from the request to the answer. */
  latency: 'PredictLatency',
  /** predict: 1 for a request answered 5xx, else 0; its Average is the 5xx rate. */
  fault: 'Fault',
  /** predict: requests answered 4xx or 5xx, by errorType. */
  errors: 'PredictErrors',
  /** predict: instances predicted as each class. */
  classPredictions: 'ClassPredictions',
  /** Drift monitor: PSI per feature, the largest of them (the model's drift score), and of the predictions. */
  featureDrift: 'FeatureDrift',
  driftScore: 'DriftScore',
  predictionDrift: 'PredictionDrift',
  driftSamples: 'DriftSamples',
  /** Training container, once per job (a search's trials each): its seconds, and the model's epochs. */
  trainingSeconds: 'TrainingSeconds',
  trainingEpochs: 'TrainingEpochs',
  /** RegisterDataset: a dataset version accepted (1) or refused by validation (0), per dataset. */
  datasetAccepted: 'DatasetVersionAccepted',
  /** Gate: 1 when a new version passed the champion/challenger gate, else 0. */
  gatePassed: 'GatePassed',
  /** Batch prediction: rows predicted, and rows that could not be. */
  batchRows: 'BatchRows',
  batchRowErrors: 'BatchRowErrors',
  /** Pipeline outcomes, one per run: deployed or not, or failed. */
  pipelineSucceeded: 'PipelineSucceeded',
  pipelineFailed: 'PipelineFailed',
} as const;
