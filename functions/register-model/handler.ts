/**
 * RegisterModel: a new version number for the model (one atomic counter), the version item with its
 * metrics and lineage (dataset version and hash, run, hyperparameters, backend and library versions), and
 * its run's training cost.
 * Input: PipelineState with `dataset`, `preprocess`, `evaluation`. Output: RegisterModelResult.
 */
import { bucketName } from '../../aws/config.ts';
import { allocateModelVersion, putModelVersion } from '../../aws/model-registry.ts';
import { getJson } from '../../aws/object-store.ts';
import { getRun, updateRun } from '../../aws/runs.ts';
import { ARTIFACTS } from '../../core/keys.ts';
import { pipelineActor } from '../../core/model-registry.ts';
import type { PipelineState, RegisterModelResult, TrainingCard } from '../../core/pipeline.ts';
import { versionCost } from '../../core/training-cost.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('register-model');
const artifactsBucket = bucketName('artifacts');

export async function handler(state: PipelineState): Promise<RegisterModelResult> {
  if (state.import) return registerImport(state);
  const { dataset, preprocess, evaluation } = state;
  if (!dataset || dataset.skip || !preprocess || !evaluation) {
    throw new Error('RegisterModel needs $.dataset, $.preprocess and $.evaluation');
  }
  logger.appendKeys({ runId: state.runId });
  const card = await getJson<TrainingCard>(artifactsBucket, preprocess.modelPrefix + ARTIFACTS.card);
  const { training } = card;
  await updateRun(state.runId, {
    step: 'RegisterModel',
    training: {
      epochs: training.epochs,
      seconds: training.seconds,
      ...(training.resumedFromEpoch === undefined ? {} : { resumedFromEpoch: training.resumedFromEpoch }),
      ...(training.stoppedEarly === undefined ? {} : { stoppedEarly: training.stoppedEarly }),
      ...(training.bestEpoch === undefined ? {} : { bestEpoch: training.bestEpoch }),
      ...(training.stoppedOnBudget === undefined ? {} : { stoppedOnBudget: training.stoppedOnBudget }),
    },
  });
  const model = dataset.name;
  // RecordTrials priced the run's training jobs on its record.
  const cost = (await getRun(state.runId))?.cost;
  const version = await allocateModelVersion(model);
  await putModelVersion(
    {
      model,
      version,
      artifactPrefix: preprocess.modelPrefix,
      metrics: evaluation,
      lineage: card.lineage,
      ...(cost ? { cost: versionCost(cost) } : {}),
      createdAt: new Date().toISOString(),
    },
    {
      who: pipelineActor(state.runId),
      why: `trained on ${dataset.name}@${dataset.version} by run ${state.runId}`,
    },
  );
  logger.info('model version registered', { model, version });
  return { model, version };
}

/** An imported model's version: its folder, evaluation and lineage as ImportModel made them. */
async function registerImport(state: PipelineState): Promise<RegisterModelResult> {
  const imported = state.import;
  if (!imported || imported.skip) throw new Error('RegisterModel needs $.import');
  logger.appendKeys({ runId: state.runId });
  await updateRun(state.runId, { step: 'RegisterModel' });
  const { model } = imported;
  const version = await allocateModelVersion(model);
  await putModelVersion(
    {
      model,
      version,
      artifactPrefix: imported.modelPrefix,
      metrics: imported.evaluation,
      lineage: imported.lineage,
      createdAt: new Date().toISOString(),
    },
    {
      who: pipelineActor(state.runId),
      why: `imported from s3://${state.bucket}/${state.key}${
        imported.lineage.external?.producerName
          ? ` (made by ${imported.lineage.external.producerName} ${imported.lineage.external.producerVersion ?? ''})`.replace(
              ' )',
              ')',
            )
          : ''
      } by run ${state.runId}`,
    },
  );
  logger.info('model version registered', { model, version, imported: true });
  return { model, version };
}
