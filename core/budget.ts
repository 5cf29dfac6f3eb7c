/**
 * The training budget: how long one training job may train (minutes), how long all of a run's jobs may train
 * together (runMinutes: a search's trials share it), and how large a model it may build (trainable
 * parameters). The platform sets it (the construct's `trainingBudget`, the local platform's option; carried to
 * Preprocess in ENV.trainingBudget); a manifest's `budget` may only lower it. Preprocess puts the run's budget
 * in the training job spec, PlanTrials each trial's share of it, with the hard timeouts derived from it, which
 * the state machine reads by JSONPath (Batch's attempt duration, SageMaker's MaxRuntimeInSeconds and
 * MaxWaitTimeInSeconds). The training Task states' own TimeoutSeconds is fixed at the widest budget's
 * (`taskSeconds` of TRAINING_BUDGET_BOUNDS): `TimeoutSecondsPath` is resolved against the Task's Parameters by
 * the local interpreter, against its input by Step Functions, so it cannot be one path for both.
 *
 * The parameters of a model are counted here without tfjs, as `model.countParams()` counts those of the
 * builders in core/model-builders.ts, so that a run fails at planning — before any training job starts — when a
 * model (the defaults, or any trial a search can plan) is over the budget.
 */
import { alexNetParameters } from './alexnet.ts';
import { checkBound, MANIFEST_BOUNDS, type NumberBound } from './bounds.ts';
import { TRAINING_RETRY } from './contract.ts';
import { DatasetValidationError, NimbusError } from './errors.ts';
import type { CnnHyperparameters, MlpHyperparameters, ModelHyperparameters } from './hyperparameters.ts';

export interface TrainingBudget {
  /** Minutes a training job trains at most (fractions allowed); then it keeps its best epoch. */
  readonly minutes: number;
  /** The most trainable parameters a job's model may have. */
  readonly parameters: number;
  /**
   * Minutes all the training jobs of one run may train together: a search's trials share it (each gets at
   * most `minutes`, and no more than its share), so a search of many trials costs at most this, not
   * trials × `minutes`.
   */
  readonly runMinutes: number;
}

/**
 * 60 minutes: an hour of one GPU (g4dn.xlarge, about $0.53 on demand) is enough for every default model on the
 * data one machine handles, and a job that would take longer stops on its best epoch and says so instead of
 * running for a day. 10 M parameters: 40 MB of weights (120 MB with Adam's moments) — the default MLP on a
 * 20-column table has about 1,200, the default CNN on 64-pixel RGB images about half a million.
 */
export const DEFAULT_TRAINING_BUDGET: TrainingBudget = {
  minutes: 60,
  parameters: 10_000_000,
  runMinutes: 240,
};

/**
 * The widest budget a platform may set: 24 hours (the limit training had before there was a budget; with
 * retries and waiting for capacity a job then stays within the pipeline's 14-day execution limit) and 10⁹
 * parameters (4 GB of weights, 12 GB with Adam's moments: about what a 16 GB GPU holds).
 */
export const TRAINING_BUDGET_BOUNDS = {
  minutes: MANIFEST_BOUNDS['budget.minutes'],
  parameters: MANIFEST_BOUNDS['budget.parameters'],
  runMinutes: MANIFEST_BOUNDS['budget.runMinutes'],
} as const satisfies Record<keyof TrainingBudget, NumberBound>;

const BUDGET_FIELDS = ['minutes', 'parameters', 'runMinutes'] as const;

/**
 * The minutes one training job of a run may train when the run has `jobs` of them (a search's trials): at
 * most the job's `minutes`, and no more than its share of the run's `runMinutes`.
 */
export function jobMinutes(budget: TrainingBudget, jobs: number): number {
  return Math.min(budget.minutes, budget.runMinutes / Math.max(1, jobs));
}

/**
 * Seconds a job gets beyond its budget before it is stopped from outside: starting the backend and reading
 * the splits (the budget's clock starts with the process), the batch in progress when the time is up,
 * putting back the best epoch's weights, and writing the model, its card and the SageMaker copy.
 */
export const TRAINING_TIMEOUT_MARGIN_SECONDS = 600;
/** Waiting for a GPU: a Batch job in its queue (RUNNABLE), a SageMaker job for spot capacity. */
export const CAPACITY_WAIT_SECONDS = 6 * 3600;
/** AWS Batch refuses an attempt duration below 60 seconds. */
const MIN_ATTEMPT_SECONDS = 60;

/** A training job's budget, with the hard timeouts the state machine applies to it. */
export interface JobBudget extends TrainingBudget {
  /** One attempt of the container: Batch's `Timeout.AttemptDurationSeconds`, SageMaker's `MaxRuntimeInSeconds`. */
  readonly attemptSeconds: number;
  /** SageMaker's `MaxWaitTimeInSeconds` (managed spot): the attempt plus waiting for capacity. */
  readonly waitSeconds: number;
  /**
   * Every Batch attempt plus waiting for capacity: what the training Task states' fixed TimeoutSeconds is for
   * the widest budget (test/infra/pipeline-definition.test.ts holds them equal).
   */
  readonly taskSeconds: number;
}

export function jobBudget(budget: TrainingBudget): JobBudget {
  const attemptSeconds = Math.max(
    MIN_ATTEMPT_SECONDS,
    Math.ceil(budget.minutes * 60) + TRAINING_TIMEOUT_MARGIN_SECONDS,
  );
  return {
    minutes: budget.minutes,
    parameters: budget.parameters,
    runMinutes: budget.runMinutes,
    attemptSeconds,
    waitSeconds: attemptSeconds + CAPACITY_WAIT_SECONDS,
    taskSeconds: TRAINING_RETRY.attempts * attemptSeconds + CAPACITY_WAIT_SECONDS,
  };
}

/**
 * A platform's budget (the construct prop, the local option, ENV.trainingBudget's JSON): each field optional
 * (the default's), each within TRAINING_BUDGET_BOUNDS. Throws an Error naming the field.
 */
export function parseTrainingBudget(value: unknown): TrainingBudget {
  if (value === undefined) return DEFAULT_TRAINING_BUDGET;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('trainingBudget must be an object: {"minutes": 60, "parameters": 10000000}');
  }
  const raw = value as Record<string, unknown>;
  const unknown = Object.keys(raw).filter((key) => !(BUDGET_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) throw new Error(`trainingBudget has no field ${unknown.join(', ')}`);
  const budget = { ...DEFAULT_TRAINING_BUDGET };
  for (const field of BUDGET_FIELDS) {
    const v = raw[field];
    if (v === undefined) continue;
    try {
      checkBound(`budget.${field}`, v, TRAINING_BUDGET_BOUNDS[field]);
    } catch (error) {
      throw new Error((error as Error).message.replace(/^manifest budget\./, 'trainingBudget.'));
    }
    budget[field] = v as number;
  }
  return budget;
}

/** Checks a manifest's `budget` where the manifest is read: an object of bounded fields. */
export function checkManifestBudget(value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DatasetValidationError(
      'manifest budget must be an object: {"minutes": 30, "parameters": 100000}',
    );
  }
  for (const [field, v] of Object.entries(value)) {
    if (!(BUDGET_FIELDS as readonly string[]).includes(field)) {
      throw new DatasetValidationError(
        `manifest budget.${field} is not a budget field (${BUDGET_FIELDS.join(', ')})`,
      );
    }
    checkBound(`budget.${field}`, v, MANIFEST_BOUNDS[`budget.${field as (typeof BUDGET_FIELDS)[number]}`]);
  }
}

/**
 * The budget of a run: the platform's, lowered by the manifest's `budget` where it says so. A manifest value
 * above the platform's is refused, naming the field and the platform's bound.
 */
export function runBudget(
  platform: TrainingBudget,
  manifest: Partial<TrainingBudget> | undefined,
): TrainingBudget {
  if (manifest === undefined) return platform;
  checkManifestBudget(manifest);
  const budget = { ...platform };
  for (const field of BUDGET_FIELDS) {
    const v = manifest[field];
    if (v === undefined) continue;
    if (v > platform[field]) {
      throw new DatasetValidationError(
        `manifest budget.${field} ${v} is above the platform's training budget ` +
          `(trainingBudget.${field}: ${platform[field]}); a manifest may only lower it`,
      );
    }
    budget[field] = v;
  }
  return budget;
}

/** A model over the parameter budget (at planning, or in the trainer). */
export class TrainingBudgetError extends NimbusError {}

/** What a model is built for: feature rows of a width (and a class count, or regression), or images. */
export type ModelInput =
  | {
      readonly kind: 'features';
      readonly width: number;
      readonly classes: number;
      readonly task: 'classification' | 'regression';
    }
  | {
      readonly kind: 'image';
      readonly height: number;
      readonly width: number;
      readonly channels: number;
      readonly classes: number;
    };

const dense = (inputs: number, units: number) => inputs * units + units;

/** Trainable parameters of `buildMlp(width, classes, hp, task)`: dense layers (dropout has none). */
export function mlpParameters(
  input: Extract<ModelInput, { kind: 'features' }>,
  hp: Pick<MlpHyperparameters, 'hiddenUnits'>,
): number {
  let inputs = input.width;
  let total = 0;
  for (const units of hp.hiddenUnits) {
    total += dense(inputs, units);
    inputs = units;
  }
  return total + dense(inputs, input.task === 'regression' ? 1 : input.classes);
}

/**
 * Trainable parameters of `buildCnn([height, width, channels], classes, hp)`: per block `convsPerBlock`
 * same-padded convolutions (k×k×in×filters + filters each), then 2×2 pooling; the flattened maps into the
 * dense head. Throws a TrainingBudgetError for a block that would get maps too small to pool (as buildCnn).
 */
export function cnnParameters(
  input: Extract<ModelInput, { kind: 'image' }>,
  hp: Pick<CnnHyperparameters, 'blockFilters' | 'convsPerBlock' | 'kernelSize' | 'denseUnits'>,
): number {
  let { height, width, channels } = input;
  let total = 0;
  hp.blockFilters.forEach((filters, block) => {
    for (let c = 0; c < hp.convsPerBlock; c++) {
      total += hp.kernelSize * hp.kernelSize * channels * filters + filters;
      channels = filters;
    }
    if (height < 2 || width < 2) {
      throw new TrainingBudgetError(
        `block ${block + 1} of blockFilters ${JSON.stringify(hp.blockFilters)} gets ${height}×${width} maps ` +
          'of these images: too small to pool; use fewer blocks',
      );
    }
    height = Math.floor(height / 2);
    width = Math.floor(width / 2);
  });
  let inputs = height * width * channels;
  for (const units of hp.denseUnits) {
    total += dense(inputs, units);
    inputs = units;
  }
  return total + dense(inputs, input.classes);
}

/** Trainable parameters of the model the hyperparameters name for this input (what the trainer builds). */
export function countParameters(hp: ModelHyperparameters, input: ModelInput): number {
  if (hp.architecture === 'cnn' || hp.architecture === 'alexnet') {
    if (input.kind !== 'image')
      throw new TrainingBudgetError('a CNN trains on images; this dataset is tabular');
    return hp.architecture === 'cnn' ? cnnParameters(input, hp) : alexNetParameters(input, hp.denseUnits);
  }
  if (input.kind !== 'features') throw new TrainingBudgetError('an MLP trains on feature rows, not images');
  return mlpParameters(input, hp);
}

/** The hyperparameters that decide a model's size, by architecture. */
export const SIZE_HYPERPARAMETERS = {
  mlp: ['hiddenUnits'],
  cnn: ['blockFilters', 'convsPerBlock', 'kernelSize', 'denseUnits'],
  alexnet: ['denseUnits'],
} as const;

/** What a model's size comes from, for a message: `hiddenUnits [4096,4096]`. */
export function sizeOf(hp: ModelHyperparameters): string {
  const record = hp as unknown as Record<string, unknown>;
  return SIZE_HYPERPARAMETERS[hp.architecture]
    .map((name) => `${name} ${JSON.stringify(record[name])}`)
    .join(', ');
}

/** The message of a model over the parameter budget: the count, the budget, and what made it that large. */
export function overBudgetMessage(count: number, budget: number, what: string): string {
  const n = (v: number) => v.toLocaleString('en-US');
  return `${what} has ${n(count)} trainable parameters, over the training budget of ${n(budget)} parameters`;
}

/** Throws a TrainingBudgetError when the hyperparameters build a model over `budget` parameters. */
export function checkParameterBudget(
  hp: ModelHyperparameters,
  input: ModelInput,
  budget: number,
  what = `the model (${sizeOf(hp)})`,
): number {
  const count = countParameters(hp, input);
  if (count > budget) throw new TrainingBudgetError(overBudgetMessage(count, budget, what));
  return count;
}
