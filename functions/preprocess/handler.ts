/**
 * Preprocess: seeded stratified train/validation/test split, preprocessing fitted on the training split,
 * processed splits written for training and evaluation, and the serving files (`preprocessor.json`,
 * `schema.json`, `baseline.json`) written into the model folder.
 * Input: PipelineState with `dataset`. Output: PreprocessResult (with the training job spec).
 */
import { bucketName } from '../../aws/config.ts';
import { getBytes, putJson } from '../../aws/object-store.ts';
import { updateRun } from '../../aws/registry.ts';
import { ARTIFACTS, type DataFile, KEYS } from '../../core/contract.ts';
import { parseCsv, type TypedRow, typedRow } from '../../core/dataset.ts';
import { DEFAULT_MLP } from '../../core/hyperparameters.ts';
import type { PipelineState, PreprocessResult, ProcessedSplit } from '../../core/pipeline.ts';
import {
  baselineStatistics,
  DEFAULT_SPLIT,
  encodeLabel,
  fitPreprocessor,
  type Preprocessor,
  stratifiedSplit,
  transformRow,
} from '../../core/preprocess.ts';
import { inputSchema } from '../../core/serving.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('preprocess');
const artifactsBucket = bucketName('artifacts');
/** Seed of the split: fixed, so a dataset version always splits the same way. */
const SPLIT_SEED = 0;

export async function handler(state: PipelineState): Promise<PreprocessResult> {
  const dataset = state.dataset;
  if (!dataset || dataset.skip) throw new Error('Preprocess needs a registered dataset in $.dataset');
  logger.appendKeys({ runId: state.runId });
  await updateRun(state.runId, { step: 'Preprocess' });

  const table = parseCsv(await getBytes(state.bucket, dataset.key));
  const { schema } = dataset;
  const rows = table.rows.map((row) => typedRow(schema, table.header, row));
  const split = stratifiedSplit(rows, (row) => String(row[schema.label]), DEFAULT_SPLIT, SPLIT_SEED);
  const pre = fitPreprocessor(schema, split.train);

  const model = dataset.name;
  const modelPrefix = KEYS.modelPrefix(model, state.runId);
  const write = (file: DataFile, value: unknown) =>
    putJson(artifactsBucket, KEYS.data(model, state.runId, file), value);
  await Promise.all([
    write('train.json', processed(pre, split.train)),
    write('validation.json', processed(pre, split.validation)),
    write('test.json', processed(pre, split.test)),
    write('test-rows.json', split.test),
    putJson(artifactsBucket, modelPrefix + ARTIFACTS.preprocessor, pre),
    putJson(artifactsBucket, modelPrefix + ARTIFACTS.schema, inputSchema(schema, pre)),
    putJson(artifactsBucket, modelPrefix + ARTIFACTS.baseline, baselineStatistics(schema, split.train)),
  ]);
  const counts = { train: split.train.length, validation: split.validation.length, test: split.test.length };
  logger.info('dataset preprocessed', { counts, width: pre.width });

  return {
    modelPrefix,
    counts,
    trainingJob: {
      runId: state.runId,
      model,
      bucket: artifactsBucket,
      trainKey: KEYS.data(model, state.runId, 'train.json'),
      validationKey: KEYS.data(model, state.runId, 'validation.json'),
      modelPrefix,
      hyperparameters: DEFAULT_MLP,
      lineage: {
        datasetName: dataset.name,
        datasetVersion: dataset.version,
        datasetHash: dataset.hash,
        datasetKey: dataset.key,
      },
    },
  };
}

function processed(pre: Preprocessor, rows: readonly TypedRow[]): ProcessedSplit {
  return {
    classes: pre.classes,
    features: rows.map((row) => transformRow(pre, row)),
    labels: rows.map((row) => encodeLabel(pre, String(row[pre.label]))),
  };
}
