/**
 * The contract between the two substrates (AWS via infra/, one machine via local/): the names both sides need,
 * each exactly once — environment variables, bucket and table roles and their key schemas, the state
 * machine's substitution keys and task names, the API's resources, stack outputs and metrics. infra/ and
 * local/ import it (what exists — functions, routes, rules — is declared in declaration.ts); nothing here
 * knows which substrate it is on. The S3 and DynamoDB key layouts are in keys.ts, the name rules in names.ts,
 * the events that start things in events.ts.
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
  /**
   * Threads the training container's wasm backend computes on, 1–8 (its threaded SIMD build:
   * core/wasm-threads.ts). Unset: every core of the machine, at most 8.
   */
  tfThreads: 'NIMBUS_TF_THREADS',
  /**
   * Data-parallel replicas of a training run on wasm, 1–8 (core/data-parallel.ts): the entrypoint's thread and
   * `n - 1` worker threads, each batch split between them; the wasm threads then default to 1. Unset: 1.
   */
  tfReplicas: 'NIMBUS_TF_REPLICAS',
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
  /**
   * `1`: predict publishes its metrics once per event-loop turn, the values of every request that ended in it
   * together (aws/metrics.ts batchedModelMetrics). For a process that serves many invocations at once and
   * outlives each (the local platform sets it); unset, each request publishes its own line before it returns.
   */
  metricsBatch: 'NIMBUS_METRICS_BATCH',
  /** What an alarm does besides notifying (JSON, core/alarms.ts AlarmActions). */
  alarmActions: 'NIMBUS_ALARM_ACTIONS',
  /** The training pipeline, for alarm actions that start a retraining run. */
  stateMachineArn: 'NIMBUS_STATE_MACHINE_ARN',
  /** The REST API whose usage plan holds the API keys the registry creates (core/api-keys.ts). */
  restApiId: 'NIMBUS_REST_API_ID',
} as const;

/** Files a function's bundle holds beside its handler: aws/tfjs-models.ts, built on its own (infra/function.ts). */
export const BUNDLE_FILES = { tfjsModels: 'tfjs-models.js' } as const;

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
  /**
   * Per model (sort keys: MODEL_KEYS in keys.ts): `META` (the version counter), `VERSION#000001` items, the
   * audit log (`AUDIT#…`), `LOCK`, `APPROVAL#…`; and the alarm states, under ALARM_KEYS.partition.
   */
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

/** The alias that the predict API serves by default. */
export const PRODUCTION_ALIAS = 'production';

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
  importModelFunction: 'ImportModelFunctionArn',
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

/** The stack's default training instances (infra/training.ts); the local jobs are accounted as if on them. */
export const DEFAULT_TRAINING_INSTANCES = { batch: 'g4dn.xlarge', sagemaker: 'ml.g4dn.xlarge' } as const;

/**
 * The training instances' hourly prices the cost estimates use (core/training-cost.ts): us-east-1 list
 * prices as assumed on `asOf`, Linux. EC2 (Batch) `spot` is a typical Spot price (it varies by hour and
 * zone); SageMaker bills managed Spot as fewer billable seconds at the on-demand rate, so it has one price.
 * An instance type missing here is reported as unpriced, never guessed. docs/cost.md explains the figures.
 */
export const TRAINING_PRICES: {
  readonly asOf: string;
  readonly region: string;
  readonly ec2: Readonly<Record<string, { readonly onDemand: number; readonly spot: number }>>;
  readonly sagemaker: Readonly<Record<string, { readonly onDemand: number }>>;
} = {
  asOf: '2026-11-01',
  region: 'us-east-1',
  ec2: {
    'g4dn.xlarge': { onDemand: 0.526, spot: 0.2 },
    'g4dn.2xlarge': { onDemand: 0.752, spot: 0.29 },
    'g4dn.12xlarge': { onDemand: 3.912, spot: 1.55 },
    'g5.xlarge': { onDemand: 1.006, spot: 0.4 },
    'g5.2xlarge': { onDemand: 1.212, spot: 0.48 },
    'g6.xlarge': { onDemand: 0.805, spot: 0.32 },
    'p3.2xlarge': { onDemand: 3.06, spot: 0.92 },
  },
  sagemaker: {
    'ml.g4dn.xlarge': { onDemand: 0.736 },
    'ml.g4dn.2xlarge': { onDemand: 1.053 },
    'ml.g5.xlarge': { onDemand: 1.408 },
    'ml.g5.2xlarge': { onDemand: 1.515 },
    'ml.p3.2xlarge': { onDemand: 3.825 },
    'ml.m5.large': { onDemand: 0.115 },
    'ml.c5.xlarge': { onDemand: 0.204 },
  },
};

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
  /** The registry's scoped API keys: create, list, revoke, all with IAM (core/api-keys.ts). */
  keysResource: ['v1', 'registry', 'keys'] as const,
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
  /** The Open Inference Protocol's resource (v2), which the predict function also answers. */
  v2Resource: ['v2'] as const,
  /**
   * The Open Inference Protocol's paths: `/v2` (the server's metadata), `/v2/health/live|ready`, and
   * `/v2/models/<name>[/versions/<v>]` then nothing (its metadata), `/ready` or `/infer`. Undefined when the
   * path is none of them; `version` is a positive integer when present.
   */
  parseV2Path(
    path: string,
  ):
    | { kind: 'server' }
    | { kind: 'health'; check: 'live' | 'ready' }
    | { kind: 'model'; model: string; version?: number; verb: 'ready' | 'infer' | undefined }
    | undefined {
    if (path === '/v2' || path === '/v2/') return { kind: 'server' };
    const health = /^\/v2\/health\/(live|ready)\/?$/.exec(path);
    if (health) return { kind: 'health', check: health[1] as 'live' | 'ready' };
    const match = /^\/v2\/models\/([^/]+)(?:\/versions\/(\d{1,9}))?(?:\/(ready|infer))?\/?$/.exec(path);
    if (!match?.[1]) return undefined;
    const [, model, version, verb] = match;
    try {
      return {
        kind: 'model',
        model: decodeURIComponent(model),
        ...(version === undefined ? {} : { version: Number(version) }),
        verb: verb as 'ready' | 'infer' | undefined,
      };
    } catch {
      return undefined; // a malformed %-escape
    }
  },
  inferPath: (model: string): string => `/v2/models/${encodeURIComponent(model)}/infer`,
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
