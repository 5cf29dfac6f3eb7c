/** Training hyperparameters: plain data, so that steps which do not train need not load tfjs. */

/** What every model's training loop takes. */
export interface TrainingHyperparameters {
  readonly learningRate: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
}

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
};

export const DEFAULT_CNN: CnnHyperparameters = {
  blockFilters: [16, 32],
  convsPerBlock: 1,
  kernelSize: 3,
  denseUnits: [64],
  dropout: 0.25,
  learningRate: 0.001,
  epochs: 8,
  batchSize: 64,
  seed: 42,
};
