/**
 * Deploy: the new version takes the `production` alias when no version holds it or when it is at least as
 * good on the primary metric; the run is marked SUCCEEDED either way.
 * Input: PipelineState with `model` and `evaluation`. Output: DeployResult.
 */
import { getAlias, getModelVersion, setAlias, updateRun } from '../../aws/registry.ts';
import { PRODUCTION_ALIAS } from '../../core/contract.ts';
import { ConflictError } from '../../core/errors.ts';
import type { DeployResult, EvaluationResult, PipelineState } from '../../core/pipeline.ts';
import { decidePromotion } from '../../core/registry.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('deploy');
/** Attempts when another promotion of the same alias lands in between. */
const ATTEMPTS = 3;

export async function handler(state: PipelineState): Promise<DeployResult> {
  const { model, evaluation } = state;
  if (!model || !evaluation) throw new Error('Deploy needs $.model and $.evaluation');
  logger.appendKeys({ runId: state.runId });
  const candidate = { version: model.version, metrics: evaluation };
  const result = await promote(model.model, candidate);
  await updateRun(state.runId, {
    status: 'SUCCEEDED',
    step: 'Deploy',
    modelVersion: model.version,
    promoted: result.promoted,
    metrics: Object.fromEntries(
      Object.entries(evaluation).filter(([name, value]) => name !== 'count' && typeof value === 'number'),
    ),
    finishedAt: new Date().toISOString(),
  });
  logger.info('deployment decided', { ...result });
  return result;
}

async function promote(
  model: string,
  candidate: { version: number; metrics: EvaluationResult },
): Promise<DeployResult> {
  for (let attempt = 1; ; attempt++) {
    const alias = await getAlias(model, PRODUCTION_ALIAS);
    const current = alias ? await getModelVersion(model, alias.version) : undefined;
    const decision = decidePromotion(candidate, current);
    if (!decision.promote)
      return {
        promoted: false,
        alias: PRODUCTION_ALIAS,
        version: candidate.version,
        reason: decision.reason,
      };
    try {
      await setAlias(model, PRODUCTION_ALIAS, candidate.version, alias?.version, decision.reason);
      return { promoted: true, alias: PRODUCTION_ALIAS, version: candidate.version, reason: decision.reason };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) throw error;
      logger.warn('alias moved during promotion; deciding again', { attempt });
    }
  }
}
