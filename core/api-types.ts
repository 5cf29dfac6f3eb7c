/**
 * What the API answers and takes, written once: the handlers annotate their answers with these types, the
 * CLI, the web dashboard and the training container's progress writer `import type` them, and the OpenAPI
 * document's schemas (docs/openapi.json, `npm run openapi`) are generated from them. The records the
 * registries hold are here too (the DynamoDB adapters in aws/ read and write them), since the API answers them
 * as they are.
 *
 * Each route of core/declaration.ts names its answer's type (`response`) and its body's (`body`) here.
 */
import type { AlarmKind, AlarmState } from './alarms.ts';
import type { ApiKeyRecord } from './api-keys.ts';
import type { DatasetSchema } from './dataset.ts';
import type { DriftReport } from './drift.ts';
import type { ImageDatasetSchema } from './image-dataset.ts';
import type { ModelMetrics } from './metrics.ts';
import type {
  AliasEntry,
  AliasState,
  AuditEntry,
  ModelVersion,
  SearchSummary,
  StatusEntry,
} from './model-registry.ts';
import type { BudgetStop, EpochLog } from './pipeline.ts';
import type { Prediction } from './serving.ts';
import type { JobTransition, RunCost, TrainingJobCost, VersionCost } from './training-cost.ts';
import type { ValidationReport } from './validation/report.ts';

export type {
  AliasEntry,
  ApiKeyRecord,
  AuditEntry,
  DriftReport,
  EpochLog,
  JobTransition,
  ModelVersion,
  RunCost,
  StatusEntry,
  TrainingJobCost,
  ValidationReport,
  VersionCost,
};

/** Every error answer: what went wrong, and the field of the request when one caused it. */
export interface ErrorResponse {
  readonly error: string;
  readonly field?: string;
  /** 500s: the request's id, to find it in the logs. */
  readonly requestId?: string;
}

// ---- TF Serving (predict) -----------------------------------------------------------------------------------

/**
 * A prediction request: `instances` (rows: objects of feature values, lists of values in the model's feature
 * order, or base64 images as `{"b64": …}`) or `inputs` (columns: feature name → values), at most 1,000
 * instances. `signature_name`, when sent, is `serving_default`.
 */
export type PredictRequest =
  | { readonly instances: readonly unknown[]; readonly signature_name?: string }
  | { readonly inputs: Readonly<Record<string, unknown>>; readonly signature_name?: string };

/** `{"predictions": …}` for rows, or `{"outputs": …}` for columns; and the version that answered. */
export interface PredictResponse {
  readonly predictions?: readonly Prediction[];
  readonly outputs?: {
    readonly label?: readonly string[];
    readonly probabilities?: Readonly<Record<string, readonly number[]>>;
    readonly value?: readonly number[];
  };
  readonly model_version: number;
}

/**
 * TF Serving's Classify and Regress request: `examples` (objects of feature values), each with the features of
 * `context` it does not set itself; at most 1,000.
 */
export interface ClassifyRequest {
  readonly examples: readonly Readonly<Record<string, unknown>>[];
  readonly context?: Readonly<Record<string, unknown>>;
  readonly signature_name?: string;
}

/** Per example, every class with its probability: `[["setosa", 0.98], ["versicolor", 0.01], …]`. */
export interface ClassifyResponse {
  readonly result: readonly (readonly [string, number])[][];
}

/** Per example, the predicted value. */
export interface RegressResponse {
  readonly result: readonly number[];
}

/**
 * TF Serving's model status: every version of the model (or the one the path names, or those its label sends
 * requests to), `AVAILABLE` while it may serve and `END` once archived.
 */
export interface ModelStatusResponse {
  readonly model_version_status: readonly {
    readonly version: string;
    readonly state: 'AVAILABLE' | 'END';
    readonly status: { readonly error_code: 'OK'; readonly error_message: string };
  }[];
}

/** One tensor of a SignatureDef: its type, its shape (`-1`: any number), its graph name. */
export interface TensorInfo {
  readonly dtype: 'DT_FLOAT' | 'DT_STRING';
  readonly tensor_shape: {
    readonly dim: readonly { readonly size: string; readonly name: string }[];
    readonly unknown_rank: boolean;
  };
  readonly name: string;
}

/** TF's SignatureDef: the named tensors a signature takes and answers. */
export interface SignatureDef {
  readonly inputs: Readonly<Record<string, TensorInfo>>;
  readonly outputs: Readonly<Record<string, TensorInfo>>;
  readonly method_name: string;
}

/** TF Serving's metadata: the version's signatures (`serving_default`), as SignatureDefs. */
export interface ModelMetadataResponse {
  readonly model_spec: {
    readonly name: string;
    readonly signature_name: string;
    readonly version: string;
  };
  readonly metadata: {
    readonly signature_def: { readonly signature_def: Readonly<Record<string, SignatureDef>> };
  };
}

// ---- Open Inference Protocol v2 (predict) ---------------------------------------------------------------------

/** `GET /v2/health/live`. */
export interface V2ServerLive {
  readonly live: boolean;
}

/** `GET /v2/health/ready`. */
export interface V2ServerReady {
  readonly ready: boolean;
}

/** `GET /v2`: the server, and the protocol extensions it has (none). */
export interface V2ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

/** A tensor a model takes or answers: its name, element type and shape (`-1`: any number). */
export interface V2TensorMetadata {
  readonly name: string;
  readonly datatype: 'FP32' | 'BYTES';
  readonly shape: readonly number[];
}

/** `GET /v2/models/<m>[/versions/<v>]`. */
export interface V2ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly V2TensorMetadata[];
  readonly outputs: readonly V2TensorMetadata[];
}

/** `GET /v2/models/<m>[/versions/<v>]/ready`. */
export interface V2ModelReady {
  readonly name: string;
  readonly ready: boolean;
}

/** One tensor of an inference request or response: `data` flat in row-major order (or nested as its shape). */
export interface V2Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly data: readonly unknown[];
}

/**
 * `POST /v2/models/<m>[/versions/<v>]/infer`: one tensor per feature (`[N]` or `[N, 1]`), or one `[N, F]` FP32
 * tensor of the features in the model's order, or an image model's `BYTES` tensor of base64 images; the outputs
 * wanted (default: all), and an `id` the answer echoes.
 */
export interface V2InferenceRequest {
  readonly id?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly inputs: readonly V2Tensor[];
  readonly outputs?: readonly {
    readonly name: string;
    readonly parameters?: Readonly<Record<string, unknown>>;
  }[];
}

/** The answer: a classifier's `probabilities` (FP32 `[N, C]`) and `label` (BYTES `[N]`), a regressor's `value`. */
export interface V2InferenceResponse {
  readonly model_name: string;
  readonly model_version: string;
  readonly id?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly outputs: readonly V2Tensor[];
}

// ---- API keys ---------------------------------------------------------------------------------------------

/** A key to create: its name, the models it opens (`["*"]`: all), and why (for the record). */
export interface CreateApiKeyBody {
  readonly name: string;
  readonly models: readonly string[];
  readonly reason: string;
}

/** The key created: its record, and its value — answered this once, never again. */
export interface CreatedApiKey {
  readonly key: ApiKeyRecord;
  readonly value: string;
}

export interface ApiKeyList {
  readonly keys: readonly ApiKeyRecord[];
}

/** Why a key is revoked. */
export interface RevokeApiKeyBody {
  readonly reason: string;
}

export interface RevokedApiKey {
  readonly key: ApiKeyRecord;
}

// ---- models ---------------------------------------------------------------------------------------------------

export interface ModelSummary {
  readonly model: string;
  readonly latestVersion: number;
}

export interface ModelList {
  readonly models: readonly ModelSummary[];
}

/** An alias as the API shows it: where it points, and its last change. */
export interface AliasView extends AliasState {
  readonly alias: string;
  readonly revision: number;
  readonly changedBy: string;
  readonly reason: string;
  readonly action: AliasEntry['action'];
  readonly changedAt: string;
  /** `?at=`: the time asked about. */
  readonly asOf?: string;
}

export interface ModelDetail {
  readonly model: string;
  readonly aliases: readonly AliasView[];
  readonly versions: readonly ModelVersion[];
}

export interface VersionList {
  readonly versions: readonly ModelVersion[];
}

export interface AliasList {
  readonly aliases: readonly AliasView[];
}

export interface AliasHistory {
  readonly history: readonly AliasEntry[];
}

export interface AuditLog {
  readonly audit: readonly AuditEntry[];
}

/** A JSON file of a version's folder (metrics, card, baseline, schema), as the pipeline wrote it. */
export type JsonDocument = Readonly<Record<string, unknown>>;

/** Every change names why; alias changes may name the revision they expect (409 when another came first). */
export interface ChangeReason {
  readonly reason: string;
}

export interface AliasChange extends ChangeReason {
  readonly version: number;
  readonly expectedRevision?: number;
}

export interface CanaryChange extends AliasChange {
  /** Share of the alias's traffic the canary version answers, 0–1. */
  readonly weight: number;
  /** A request header whose value keeps a client on one side. */
  readonly stickyHeader?: string;
}

export interface RollbackChange extends ChangeReason {
  readonly expectedRevision?: number;
}

export type StatusChange = ChangeReason;

/** The alias's new entry in the audit log. */
export type AliasChangeResult = AliasEntry;

/** The version's new status entry; for an approval or rejection, what happened to the run that waited. */
export interface StatusChangeResult extends StatusEntry {
  readonly pipeline?: string;
}

// ---- datasets -------------------------------------------------------------------------------------------------

export type DatasetStatus = 'REGISTERED' | 'INVALID';

export interface DatasetVersionRecord {
  readonly name: string;
  readonly version: string;
  readonly hash: string;
  readonly key: string;
  readonly size: number;
  readonly firstRunId: string;
  /**
   * Every run started on this version, oldest first: the first, then retries, re-uploads after failed runs
   * and retraining runs.
   */
  readonly runIds?: readonly string[];
  readonly status: DatasetStatus;
  readonly schema?: DatasetSchema | ImageDatasetSchema;
  readonly reason?: string;
  /** The version registered before this one under the same name (its lineage). */
  readonly previousVersion?: string;
  /** Where the validation report is, in the datasets bucket (tabular versions). */
  readonly reportKey?: string;
  readonly createdAt: string;
}

/** One dataset of the registry: how many versions, and its newest one. */
export interface DatasetSummary {
  readonly name: string;
  readonly versions: number;
  readonly latestVersion: string;
  readonly status: DatasetStatus;
  readonly rows?: number;
  readonly updatedAt: string;
}

export interface DatasetList {
  readonly datasets: readonly DatasetSummary[];
}

export interface DatasetDetail {
  readonly name: string;
  readonly versions: readonly DatasetVersionRecord[];
}

// ---- runs -----------------------------------------------------------------------------------------------------

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface RunRecord {
  readonly runId: string;
  readonly status: RunStatus;
  readonly dataset: string;
  readonly datasetVersion?: string;
  readonly datasetKey: string;
  readonly step?: string;
  /** Every step the run entered, in order, with when. */
  readonly steps?: readonly { readonly name: string; readonly at: string }[];
  readonly reason?: string;
  readonly modelVersion?: number;
  readonly promoted?: boolean;
  readonly metrics?: Readonly<Record<string, number>>;
  /** The cross-validation of the training split, when the manifest asked for one: each figure's mean and sd. */
  readonly crossValidation?: NonNullable<ModelMetrics['crossValidation']>;
  /**
   * The hyperparameters the model trains with, as resolved from the defaults and the manifest (with a search,
   * the base ones until it ends, then the best trial's). Set when training is planned.
   */
  readonly hyperparameters?: Readonly<Record<string, unknown>>;
  /** The hyperparameter search, when the run had one. */
  readonly search?: SearchSummary & { readonly ensemble?: readonly number[] };
  /** How training went: epochs, seconds, and whether the job resumed from a checkpoint or stopped early. */
  readonly training?: {
    readonly epochs: number;
    readonly seconds: number;
    readonly resumedFromEpoch?: number;
    readonly stoppedEarly?: number;
    /** The epoch whose weights the model has (the best one under early stopping or a budget stop). */
    readonly bestEpoch?: number;
    /** The time budget ended training: its minutes, and the (best) epoch the model is. */
    readonly stoppedOnBudget?: BudgetStop;
  };
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** What its training jobs cost, read from SageMaker or Batch when each round of trials ends. */
  readonly cost?: RunCost;
  /** The failed run this one retries (`POST runs/<id>/retry`). */
  readonly retryOf?: string;
  /** The run that retries this one. */
  readonly retriedBy?: string;
}

/**
 * One trial of a run's hyperparameter search, in the runs table under `<runId>#trial-<n>` (no `dataset`
 * attribute, so listings of a dataset's runs do not see it).
 */
export interface TrialRecord {
  readonly runId: string;
  readonly kind: 'trial';
  readonly parentRunId: string;
  readonly trial: number;
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly metric: string;
  readonly score?: number;
  readonly reason?: string;
  readonly seconds?: number;
  /** Its training job's account and cost estimate. */
  readonly cost?: TrainingJobCost;
  readonly modelPrefix: string;
  readonly finishedAt: string;
}

export interface RunList {
  readonly runs: readonly RunRecord[];
}

/** The trials of a run's hyperparameter search, in trial order (none for a run without a search). */
export interface TrialList {
  readonly trials: readonly TrialRecord[];
}

/** What a training job writes as it goes (containers/training/entrypoint.ts): its epochs so far. */
export interface TrainingProgress {
  readonly runId: string;
  readonly trial: number;
  readonly epoch: number;
  readonly epochs: number;
  readonly done: boolean;
  readonly history: readonly EpochLog[];
  readonly updatedAt: string;
}

/** Where a run is: its steps so far, and each training job's epochs (its learning curve) when it trains. */
export interface RunProgress {
  readonly runId: string;
  readonly dataset: string;
  readonly status: RunStatus;
  readonly step?: string;
  readonly steps: readonly { readonly name: string; readonly at: string }[];
  readonly reason?: string;
  readonly modelVersion?: number;
  /** The first (or only) trial's curve. */
  readonly training?: TrainingProgress;
  /** Every trial's, when there is a search. */
  readonly trials?: readonly TrainingProgress[];
}

export type StopRun = ChangeReason;

export interface StopRunResult {
  readonly run: RunRecord;
  /** The execution was told to stop; its end is still being recorded. */
  readonly stopping: boolean;
}

export type RetryRun = ChangeReason;

export interface RetryRunResult {
  readonly runId: string;
  readonly retryOf: string;
  readonly executionArn: string;
  readonly dataset: string;
  readonly datasetVersion?: string;
}

// ---- monitoring -----------------------------------------------------------------------------------------------

export interface AlarmStatus {
  readonly name: string;
  readonly kind: AlarmKind;
  /** Absent for the alarms over all models. */
  readonly model?: string;
  readonly state: AlarmState;
  readonly previousState: AlarmState;
  readonly reason: string;
  readonly description?: string;
  readonly updatedAt: string;
}

export interface AlarmList {
  readonly alarms: readonly AlarmStatus[];
}

export interface AlarmHistory {
  readonly history: readonly AlarmStatus[];
}

export interface DriftReports {
  readonly model: string;
  readonly threshold: number;
  readonly reports: readonly DriftReport[];
}

/** An OpenAPI 3.1 document (this API's: docs/openapi.json). */
export type OpenApiDocument = Readonly<Record<string, unknown>> & { readonly openapi: string };

/**
 * Every type a route answers or takes, by the name the declaration gives it (core/declaration.ts ROUTES'
 * `response` and `body`): what lets a handler's route be typed by its declaration, and the OpenAPI document
 * name its schemas.
 */
export interface ApiTypes {
  AlarmHistory: AlarmHistory;
  AlarmList: AlarmList;
  AliasChange: AliasChange;
  AliasChangeResult: AliasChangeResult;
  AliasHistory: AliasHistory;
  AliasList: AliasList;
  AliasView: AliasView;
  AuditLog: AuditLog;
  CanaryChange: CanaryChange;
  ClassifyRequest: ClassifyRequest;
  ClassifyResponse: ClassifyResponse;
  DatasetDetail: DatasetDetail;
  DatasetList: DatasetList;
  DatasetVersionRecord: DatasetVersionRecord;
  DriftReports: DriftReports;
  JsonDocument: JsonDocument;
  ModelDetail: ModelDetail;
  ModelList: ModelList;
  ModelMetadataResponse: ModelMetadataResponse;
  ModelStatusResponse: ModelStatusResponse;
  CreateApiKeyBody: CreateApiKeyBody;
  CreatedApiKey: CreatedApiKey;
  ApiKeyList: ApiKeyList;
  RevokeApiKeyBody: RevokeApiKeyBody;
  RevokedApiKey: RevokedApiKey;
  V2ServerLive: V2ServerLive;
  V2ServerReady: V2ServerReady;
  V2ServerMetadata: V2ServerMetadata;
  V2ModelMetadata: V2ModelMetadata;
  V2ModelReady: V2ModelReady;
  V2InferenceRequest: V2InferenceRequest;
  V2InferenceResponse: V2InferenceResponse;
  ModelVersion: ModelVersion;
  OpenApiDocument: OpenApiDocument;
  PredictRequest: PredictRequest;
  PredictResponse: PredictResponse;
  RegressResponse: RegressResponse;
  RetryRun: RetryRun;
  RetryRunResult: RetryRunResult;
  RollbackChange: RollbackChange;
  RunList: RunList;
  RunProgress: RunProgress;
  RunRecord: RunRecord;
  StatusChange: StatusChange;
  StatusChangeResult: StatusChangeResult;
  StopRun: StopRun;
  StopRunResult: StopRunResult;
  TrialList: TrialList;
  ValidationReport: ValidationReport;
  VersionList: VersionList;
}
