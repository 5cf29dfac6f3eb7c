/** Training hyperparameters: plain data, so that steps which do not train need not load tfjs. */
import { checkHyperparameter, HYPERPARAMETER_BOUNDS } from './bounds.ts';
import { DatasetValidationError } from './errors.ts';

/** What every model's training loop takes. */
export interface TrainingHyperparameters {
  readonly learningRate: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
  /** L2 penalty on every layer's weights (0 = none). */
  readonly weightDecay?: number;
  /** Stop when validation loss has not improved for this many epochs; 0 trains every epoch. */
  readonly patience?: number;
  /** `cosine` decays the learning rate towards zero over the epochs. */
  readonly schedule?: 'constant' | 'cosine';
  /** `balanced` weighs each class by the inverse of its frequency, for imbalanced data. */
  readonly classWeight?: 'none' | 'balanced';
  /** Tabular: `smote` oversamples smaller classes to the largest with synthetic rows (SMOTE). */
  readonly oversample?: 'none' | 'smote';
  /** Images: random horizontal flips and/or shifts of up to 10% each epoch. */
  readonly augment?: 'none' | 'flip' | 'shift' | 'flip+shift';
  /**
   * Start from the weights of the version holding `production` when they fit (core/warm-start.ts). Unset: on
   * for a retraining run, off otherwise.
   */
  readonly warmStart?: boolean;
}

/** The hyperparameters that are true or false (absent from the defaults: unset means their default). */
export const FLAGS: readonly string[] = ['warmStart'];

/** The values a string hyperparameter may take. */
export const CHOICES: Readonly<Record<string, readonly string[]>> = {
  schedule: ['constant', 'cosine'],
  classWeight: ['none', 'balanced'],
  oversample: ['none', 'smote'],
  augment: ['none', 'flip', 'shift', 'flip+shift'],
};

export interface MlpHyperparameters extends TrainingHyperparameters {
  readonly hiddenUnits: readonly number[];
  readonly dropout: number;
}

/**
 * A small AlexNet-style image classifier: conv blocks (each `convsPerBlock` 3×3-style convolutions with ReLU,
 * then 2×2 max pooling), then dropout and a dense head.
 */
export interface CnnHyperparameters extends TrainingHyperparameters {
  /** Filters of each block's convolutions, e.g. [16, 32]. */
  readonly blockFilters: readonly number[];
  readonly convsPerBlock: number;
  readonly kernelSize: number;
  readonly denseUnits: readonly number[];
  readonly dropout: number;
}

export const DEFAULT_MLP: MlpHyperparameters = {
  hiddenUnits: [32, 16],
  dropout: 0.1,
  learningRate: 0.01,
  epochs: 120,
  batchSize: 16,
  seed: 42,
  weightDecay: 0,
  patience: 0,
  schedule: 'constant',
  classWeight: 'none',
  oversample: 'none',
};

export const DEFAULT_CNN: CnnHyperparameters = {
  blockFilters: [16, 32],
  convsPerBlock: 1,
  kernelSize: 3,
  denseUnits: [64],
  dropout: 0.25,
  learningRate: 0.002,
  // Until validation loss has not improved for 5 epochs (the best epoch's weights kept), within the budget's
  // minutes: 3,000 MNIST digits stop after about 25 (bench/accuracy.ts). Shifts of up to 10% each epoch
  // (flips are not a default: they turn a 2 into a 5's mirror).
  epochs: 40,
  batchSize: 64,
  seed: 42,
  weightDecay: 0,
  patience: 5,
  schedule: 'constant',
  classWeight: 'none',
  augment: 'shift',
};

/**
 * AlexNet (core/alexnet.ts): its five convolutions are fixed by the architecture, scaled to the input; the dense
 * head and the training settings are hyperparameters. A GPU model: about 58 M parameters with the original
 * head, over the default training budget of 10 M (raise the platform's, or shrink `denseUnits`).
 */
export interface AlexNetHyperparameters extends TrainingHyperparameters {
  /** The hidden dense layers, each followed by dropout: the original's [4096, 4096]. */
  readonly denseUnits: readonly number[];
  readonly dropout: number;
}

/** The original's head and dropout; Adam at 1e-4 (the original trained SGD with momentum for 90 epochs). */
export const DEFAULT_ALEXNET: AlexNetHyperparameters = {
  denseUnits: [4096, 4096],
  dropout: 0.5,
  learningRate: 1e-4,
  epochs: 60,
  batchSize: 128,
  seed: 42,
  weightDecay: 0.0005,
  patience: 8,
  schedule: 'constant',
  classWeight: 'none',
  augment: 'flip+shift',
};

/** The image architectures a manifest may name (`image.architecture`). */
export const IMAGE_ARCHITECTURES = ['cnn', 'alexnet'] as const;
export type ImageArchitecture = (typeof IMAGE_ARCHITECTURES)[number];

/** What a training job trains: the architecture and its hyperparameters. */
export type ModelHyperparameters =
  | ({ readonly architecture: 'mlp' } & MlpHyperparameters)
  | ({ readonly architecture: 'cnn' } & CnnHyperparameters)
  | ({ readonly architecture: 'alexnet' } & AlexNetHyperparameters);

/** Tabular data trains an MLP, images a CNN — or AlexNet, when the manifest's `image.architecture` says so. */
export function defaultHyperparameters(
  data: 'tabular' | 'image',
  imageArchitecture: ImageArchitecture = 'cnn',
): ModelHyperparameters {
  if (data === 'tabular') return { architecture: 'mlp', ...DEFAULT_MLP };
  return imageArchitecture === 'alexnet'
    ? { architecture: 'alexnet', ...DEFAULT_ALEXNET }
    : { architecture: 'cnn', ...DEFAULT_CNN };
}

/**
 * Defaults overridden by a manifest's `hyperparameters` object: only names the architecture has, each of the
 * default's type and within its bound (core/bounds.ts HYPERPARAMETER_BOUNDS: a number, or a list of whole
 * numbers); anything else is a finding naming the field, the bound and the value.
 */
export function withOverrides(defaults: ModelHyperparameters, overrides: unknown): ModelHyperparameters {
  if (overrides === undefined) return defaults;
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new DatasetValidationError('manifest "hyperparameters" must be an object');
  }
  const merged: Record<string, unknown> = { ...defaults };
  for (const [name, value] of Object.entries(overrides)) {
    const current = (defaults as unknown as Record<string, unknown>)[name];
    if (name === 'architecture') {
      if (value !== defaults.architecture) {
        throw new DatasetValidationError(
          `manifest hyperparameters.architecture "${String(value)}" does not fit this dataset (${defaults.architecture})` +
            (defaults.architecture === 'mlp' ? '' : '; an image model is chosen by image.architecture'),
        );
      }
      continue;
    }
    if (FLAGS.includes(name)) {
      if (typeof value !== 'boolean') {
        throw new DatasetValidationError(`manifest hyperparameters.${name} must be true or false`);
      }
      merged[name] = value;
      continue;
    }
    if (current === undefined) {
      const known = [...Object.keys(defaults).filter((k) => k !== 'architecture'), ...FLAGS];
      throw new DatasetValidationError(
        `manifest hyperparameters.${name} is not a ${defaults.architecture} hyperparameter (${known.join(', ')})`,
      );
    }
    const choices = CHOICES[name];
    if (choices && !choices.includes(value as string)) {
      throw new DatasetValidationError(
        `manifest hyperparameters.${name} must be one of ${choices.join(', ')}`,
      );
    }
    // Every hyperparameter is a choice or bounded: a new one without either must not pass unchecked.
    if (!choices && !(name in HYPERPARAMETER_BOUNDS)) throw new Error(`hyperparameter ${name} has no bound`);
    checkHyperparameter(name, value);
    merged[name] = value;
  }
  return merged as unknown as ModelHyperparameters;
}
