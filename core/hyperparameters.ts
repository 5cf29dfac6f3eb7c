/** Training hyperparameters: plain data, so that steps which do not train need not load tfjs. */
export interface MlpHyperparameters {
  readonly hiddenUnits: readonly number[];
  readonly dropout: number;
  readonly learningRate: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly seed: number;
}

export const DEFAULT_MLP: MlpHyperparameters = {
  hiddenUnits: [32, 16],
  dropout: 0.1,
  learningRate: 0.01,
  epochs: 120,
  batchSize: 16,
  seed: 42,
};
