/**
 * Cross-validation (`validation: { "folds": k }` in the manifest): the training split cut into k stratified
 * folds (by class, or by target quintile for a regressor: core/split.ts), a model trained on each k − 1 and
 * scored on the one left out with the metrics Evaluate computes, then the mean and standard deviation of
 * every figure over the folds. The model served is refitted on the whole training split afterwards; the
 * summary goes into its card, `metrics.json` and the registry, search trials are ranked by it, and the gate
 * may compare its means (`gate.on: "cv"`).
 *
 * Pure: the fold plan, subsets of the data, and the summary. The training loop over the folds is the
 * trainer's (containers/training/cross-validation.ts).
 */
import { checkBound, MANIFEST_BOUNDS } from './bounds.ts';
import type { LabelledData } from './model-data.ts';
import { stratifiedKFold, targetStrata } from './split.ts';

/** The manifest's `validation`. */
export interface ValidationSpec {
  readonly folds: number;
}

/** Checks the manifest's `validation` object: `{ "folds": k }`, k from 2 to 10. */
export function parseValidationSpec(value: unknown): ValidationSpec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error('"validation" must be an object: { "folds": k }');
  }
  const { folds, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`"validation" has unknown field(s) ${unknown.join(', ')} (folds)`);
  checkBound('validation.folds', folds, MANIFEST_BOUNDS['validation.folds']);
  return { folds: folds as number };
}

/** One fold's figures on the rows it left out: the model's loss and every scalar metric. */
export type FoldFigures = Readonly<Record<string, number>>;

/** What cross-validation found: each fold's figures, and their mean and standard deviation by name. */
export interface CrossValidationSummary {
  readonly folds: number;
  /** Rows of the training split cross-validated. */
  readonly rows: number;
  readonly mean: Readonly<Record<string, number>>;
  /** Standard deviation over the folds (numpy's `std`: divided by k). */
  readonly sd: Readonly<Record<string, number>>;
  readonly perFold: readonly FoldFigures[];
}

/**
 * The folds of a training split: row indices to train on and to score, stratified by class (or by target
 * quintile, `regression`), seeded so that the same split and seed always cut the same folds.
 */
export function foldPlan(
  labels: readonly number[],
  folds: number,
  seed: number,
  regression = false,
): { train: number[]; validation: number[] }[] {
  const stratum = regression ? targetStrata(labels) : (label: number) => String(label);
  const indices = labels.map((_, i) => i);
  return stratifiedKFold(indices, (i) => stratum(labels[i] as number), folds, seed).map((fold) => ({
    train: [...fold.train].sort((a, b) => a - b),
    validation: [...fold.validation].sort((a, b) => a - b),
  }));
}

/** The rows `indices` of `data`, whose samples are `width` values each. */
export function subset(data: LabelledData, indices: readonly number[], width: number): LabelledData {
  const x = new Float32Array(indices.length * width);
  indices.forEach((row, i) => {
    x.set(data.x.subarray(row * width, (row + 1) * width), i * width);
  });
  return { x, labels: indices.map((row) => data.labels[row] as number) };
}

/** The numbers of a metrics object (counts and lists left out): what is averaged over the folds. */
export function scalarFigures(metrics: object): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const [name, value] of Object.entries(metrics)) {
    if (name !== 'count' && typeof value === 'number' && Number.isFinite(value)) figures[name] = value;
  }
  return figures;
}

/** Mean and standard deviation of each figure the folds have (a figure some fold lacks is left out). */
export function summarizeFolds(perFold: readonly FoldFigures[], rows: number): CrossValidationSummary {
  const names = Object.keys(perFold[0] ?? {}).filter((name) => perFold.every((f) => name in f));
  const mean: Record<string, number> = {};
  const sd: Record<string, number> = {};
  for (const name of names) {
    const values = perFold.map((f) => f[name] as number);
    const m = values.reduce((a, b) => a + b, 0) / values.length;
    mean[name] = m;
    sd[name] = Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length);
  }
  return { folds: perFold.length, rows, mean, sd, perFold };
}

/**
 * A search trial's score from its cross-validation: the folds' mean loss for `validationLoss`, their mean
 * accuracy for `validationAccuracy`; undefined when the trial has none.
 */
export function crossValidatedScore(
  summary: CrossValidationSummary | undefined,
  metric: 'validationLoss' | 'validationAccuracy',
): number | undefined {
  const value = summary?.mean[metric === 'validationLoss' ? 'loss' : 'accuracy'];
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}
