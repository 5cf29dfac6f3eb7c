/**
 * Evaluate: the trained model on the held-out test split — accuracy, macro-F1 and confusion matrix for a
 * classifier; RMSE, MAE and R² in the target's units for a regressor — written as `metrics.json` into the
 * model folder.
 * Input: PipelineState with `preprocess`. Output: EvaluationResult.
 */
import { bucketName } from '../../aws/config.ts';
import { getBytes, getBytesIfExists, getJson, putJson } from '../../aws/object-store.ts';
import { updateRun } from '../../aws/runs.ts';
import { loadPredictor, useBundledTfjs } from '../../aws/servables.ts';
import * as tfjsModels from '../../aws/tfjs-models.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import {
  argmax,
  classificationFigures,
  classificationMetrics,
  regressionMetrics,
} from '../../core/metrics.ts';
import { splitData } from '../../core/model-data.ts';
import type { EvaluationResult, PipelineState, ProcessedSplit, TrainingCard } from '../../core/pipeline.ts';
import { type AnyPreprocessor, decodeTarget, isImagePreprocessor } from '../../core/preprocessor.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('evaluate');
const artifactsBucket = bucketName('artifacts');
// tfjs is in this bundle already (training data is read with it): no second copy for a CNN.
useBundledTfjs(tfjsModels);

export async function handler(state: PipelineState): Promise<EvaluationResult> {
  const { preprocess, dataset } = state;
  if (!preprocess || !dataset || dataset.skip) throw new Error('Evaluate needs $.dataset and $.preprocess');
  logger.appendKeys({ runId: state.runId });
  await updateRun(state.runId, { step: 'Evaluate' });

  const [model, test, pre, cardBytes] = await Promise.all([
    loadPredictor(artifactsBucket, preprocess.modelPrefix),
    getJson<ProcessedSplit>(artifactsBucket, KEYS.data(dataset.name, state.runId, 'test.json')),
    getJson<AnyPreprocessor>(artifactsBucket, preprocess.modelPrefix + ARTIFACTS.preprocessor),
    getBytesIfExists(artifactsBucket, preprocess.modelPrefix + ARTIFACTS.card),
  ]);
  // The trainer's cross-validation of the training split, when the manifest asked for one: in metrics.json
  // whole (each fold's figures too), in the registry as each figure's mean and sd.
  const cv = cardBytes
    ? (JSON.parse(new TextDecoder().decode(cardBytes)) as TrainingCard).crossValidation
    : undefined;
  const crossValidation = cv ? { folds: cv.folds, mean: cv.mean, sd: cv.sd } : undefined;
  const written = (test: object) => ({ test, ...(cv ? { crossValidation: cv } : {}) });
  const data = await splitData(test, (key) => getBytes(artifactsBucket, key));
  const outputs = await model.predict(data.x);
  model.dispose();
  if (!isImagePreprocessor(pre) && pre.task === 'regression') {
    // In the target's own units: the model predicts standardized targets.
    const metrics = regressionMetrics(
      data.labels.map((label) => decodeTarget(pre, label)),
      outputs.map((row) => decodeTarget(pre, row[0] ?? 0)),
    );
    await putJson(artifactsBucket, preprocess.modelPrefix + ARTIFACTS.metrics, written(metrics));
    const { residuals: _residuals, ...figures } = metrics;
    logger.info('model evaluated', { ...figures, ...(crossValidation ? { crossValidation } : {}) });
    return { ...figures, ...(crossValidation ? { crossValidation } : {}) };
  }
  const metrics = classificationMetrics(data.labels, outputs.map(argmax), test.classes, outputs);
  await putJson(artifactsBucket, preprocess.modelPrefix + ARTIFACTS.metrics, written(metrics));
  logger.info('model evaluated', {
    accuracy: metrics.accuracy,
    macroF1: metrics.macroF1,
    count: metrics.count,
    ...(crossValidation ? { crossValidation: crossValidation.mean } : {}),
  });
  return { ...classificationFigures(metrics), ...(crossValidation ? { crossValidation } : {}) };
}
