/**
 * The trainer's cross-validation (core/cross-validation.ts): one model per fold, trained on the other folds
 * with the job's hyperparameters (its validation split still drives early stopping, so the fold left out is
 * only ever scored), then scored on the fold left out with the metrics Evaluate computes. Each fold's figures
 * are saved beside the job's checkpoints as it ends, so a retried job goes on from the next fold.
 */
import type * as tf from '@tensorflow/tfjs';
import { getBytesIfExists, putJson } from '../../aws/object-store.ts';
import {
  type CrossValidationSummary,
  type FoldFigures,
  foldPlan,
  scalarFigures,
  subset,
  summarizeFolds,
} from '../../core/cross-validation.ts';
import type { TrainingHyperparameters } from '../../core/hyperparameters.ts';
import { argmax, classificationMetrics, regressionMetrics } from '../../core/metrics.ts';
import { isRegressor } from '../../core/model-builders.ts';
import { type LabelledData, sampleSize, toTensors } from '../../core/model-data.ts';
import { predictProbabilities } from '../../core/model-inference.ts';
import { trainModel } from '../../core/model-training.ts';
import { type AnyPreprocessor, decodeTarget, isImagePreprocessor } from '../../core/preprocessor.ts';
import { tf as tfjs } from '../../core/tfjs.ts';

export interface CrossValidationJob {
  readonly folds: number;
  readonly seed: number;
  readonly bucket: string;
  readonly preprocessorKey: string;
  /** Where each fold's figures are kept as it ends (the job's checkpoint folder), for a retried job. */
  readonly progressKey?: string;
  readonly classes: readonly string[];
  readonly hyperparameters: TrainingHyperparameters;
  /** A new, untrained model of the job's architecture (seeded: every fold starts from the same weights). */
  readonly build: () => tf.LayersModel;
  /** When each fold's training must end (ms, as Date.now reads them), from the fold's index. */
  readonly deadline?: (fold: number) => number;
  readonly onFold?: (fold: number, figures: FoldFigures) => void;
}

/** Cross-validates the training split; the summary of every fold's figures. */
export async function crossValidate(
  job: CrossValidationJob,
  train: LabelledData,
  validation: LabelledData | undefined,
): Promise<CrossValidationSummary> {
  const probe = job.build();
  const regression = isRegressor(probe);
  const width = sampleSize(probe);
  probe.dispose();
  const pre = JSON.parse(
    new TextDecoder().decode((await getBytesIfExists(job.bucket, job.preprocessorKey)) ?? new Uint8Array()) ||
      '{}',
  ) as AnyPreprocessor;
  const done = await savedFolds(job);
  const perFold: FoldFigures[] = [...done];
  const plan = foldPlan(train.labels, job.folds, job.seed, regression);
  for (const [fold, rows] of plan.entries()) {
    if (fold < done.length) continue;
    const model = job.build();
    try {
      const deadline = job.deadline?.(fold);
      await trainModel(model, subset(train, rows.train, width), validation, job.hyperparameters, {
        ...(deadline === undefined ? {} : { deadline }),
      });
      const heldOut = subset(train, rows.validation, width);
      const figures = {
        loss: heldOutLoss(model, heldOut),
        ...score(model, heldOut, regression, pre, job.classes),
      };
      perFold.push(figures);
      job.onFold?.(fold + 1, figures);
      if (job.progressKey) await putJson(job.bucket, job.progressKey, perFold);
    } finally {
      model.dispose();
    }
  }
  return summarizeFolds(perFold, train.labels.length);
}

/** Figures of folds a previous attempt of the job finished. */
async function savedFolds(job: CrossValidationJob): Promise<FoldFigures[]> {
  if (!job.progressKey) return [];
  const bytes = await getBytesIfExists(job.bucket, job.progressKey);
  if (!bytes) return [];
  const saved = JSON.parse(new TextDecoder().decode(bytes)) as FoldFigures[];
  return Array.isArray(saved) ? saved.slice(0, job.folds) : [];
}

/** The model's training loss on the rows (what `validationLoss` is on the validation split). */
function heldOutLoss(model: tf.LayersModel, data: LabelledData): number {
  const [x, y] = toTensors(model, data);
  const result = model.evaluate(x, y, { batchSize: 256 });
  const results = Array.isArray(result) ? result : [result];
  try {
    return results[0]?.dataSync()[0] ?? Number.NaN;
  } finally {
    tfjs.dispose([x, y, ...results]);
  }
}

/** The metrics Evaluate computes, on the rows: in the target's own units for a regressor. */
function score(
  model: tf.LayersModel,
  data: LabelledData,
  regression: boolean,
  pre: AnyPreprocessor,
  classes: readonly string[],
): Record<string, number> {
  const outputs = predictProbabilities(model, data.x);
  if (regression) {
    // The model predicts standardized targets; the preprocessor knows their mean and spread.
    const units = (value: number) =>
      !isImagePreprocessor(pre) && pre.target ? decodeTarget(pre, value) : value;
    const { residuals: _residuals, ...metrics } = regressionMetrics(
      data.labels.map(units),
      outputs.map((row) => units(row[0] ?? 0)),
    );
    return scalarFigures(metrics);
  }
  return scalarFigures(classificationMetrics(data.labels, outputs.map(argmax), classes, outputs));
}
