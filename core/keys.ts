/**
 * Key layouts: where everything lives in S3 (KEYS: datasets, runs, models, capture, batch, monitoring; the
 * files of a model folder and of a checkpoint folder), the sort keys of the models table (MODEL_KEYS,
 * ALARM_KEYS), and which uploads under `datasets/<name>/` start a run (datasetTrigger).
 */

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
  /** Models trained elsewhere, imported (core/onnx.ts): `models/<name>/<file>.onnx` and `model.json`. */
  modelsPrefix: 'models/',
  modelManifest: (model: string): string => `models/${model}/model.json`,
  /** `models/<name>/<file>` → its parts; undefined for keys outside the layout. */
  parseModelKey(key: string): { model: string; file: string } | undefined {
    const match = /^models\/([^/]+)\/([^/]+)$/.exec(key);
    return match?.[1] && match[2] ? { model: match[1], file: match[2] } : undefined;
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
  /** The servable model folder of a run (see ARTIFACTS). */
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
  /** An imported model's file, as uploaded (core/onnx.ts). */
  onnx: 'model.onnx',
  /** Present in an imported model's folder: how requests map onto its input tensors (core/onnx.ts OnnxBinding). */
  onnxBinding: 'onnx.json',
  /**
   * One of our versions written as ONNX (core/onnx-export.ts), on its first download: a file of its own, so
   * that what writes it can never touch an imported version's `model.onnx`.
   */
  onnxExport: 'export.onnx',
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
 * The models table's partition of API key scopes (core/api-keys.ts): outside the model name rule, so no model
 * is ever named so, and without a `META` item, so no listing of models shows it.
 */
export const API_KEY_KEYS = {
  partition: '#api-keys',
  key: (id: string): string => `KEY#${id}`,
  prefix: 'KEY#',
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
