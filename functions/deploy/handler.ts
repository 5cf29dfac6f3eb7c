/**
 * Deploy: the new version takes the `production` alias when the gate passed and, where the gate asks for a
 * person, when one approved it. The gate is decided again against the version that holds the alias at the
 * moment of the change, so a concurrent promotion is not overwritten by a stale decision. The run is marked
 * SUCCEEDED either way, with the reason.
 * Input: PipelineState with `model`, `evaluation` and `gate`. Output: DeployResult.
 */

import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { changeStatus, currentAlias, getModelVersion, promote } from '../../aws/model-registry.ts';
import { updateRun } from '../../aws/runs.ts';
import { METRICS, PRODUCTION_ALIAS } from '../../core/contract.ts';
import { ConflictError } from '../../core/errors.ts';
import { decideGate, describeAlias, type GateMetric, pipelineActor } from '../../core/model-registry.ts';
import { type DeployResult, failureReason, type PipelineState } from '../../core/pipeline.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('deploy');
const metrics = createMetrics();
/** Attempts when another promotion of the same alias lands in between. */
const ATTEMPTS = 3;

export async function handler(state: PipelineState): Promise<DeployResult> {
  const { model, evaluation, gate } = state;
  if (!model || !evaluation || !gate) throw new Error('Deploy needs $.model, $.evaluation and $.gate');
  logger.appendKeys({ runId: state.runId });
  const result = await deploy(state);
  await updateRun(state.runId, {
    status: 'SUCCEEDED',
    step: 'Deploy',
    modelVersion: model.version,
    promoted: result.promoted,
    reason: result.reason,
    metrics: Object.fromEntries(
      Object.entries(evaluation).filter(([name, value]) => name !== 'count' && typeof value === 'number'),
    ),
    ...(evaluation.crossValidation ? { crossValidation: evaluation.crossValidation } : {}),
    finishedAt: new Date().toISOString(),
  });
  publishModelMetrics(metrics, model.model, [
    [METRICS.pipelineSucceeded, MetricUnit.Count, 1],
    [METRICS.pipelineFailed, MetricUnit.Count, 0],
  ]);
  logger.info('deployment decided', { ...result });
  return result;
}

async function deploy(state: PipelineState): Promise<DeployResult> {
  const model = state.model as NonNullable<PipelineState['model']>;
  const gate = state.gate as NonNullable<PipelineState['gate']>;
  const outcome = (promoted: boolean, reason: string): DeployResult => ({
    promoted,
    alias: PRODUCTION_ALIAS,
    version: model.version,
    reason,
  });
  if (!gate.passed) return outcome(false, gate.reason);
  const who = pipelineActor(state.runId);
  if (gate.approval === 'manual') {
    if (!state.approval) {
      return outcome(
        false,
        `no one approved v${model.version} in time (${failureReason(state.approvalError)})`,
      );
    }
    if (state.approval.decision !== 'approve') {
      return outcome(false, `${state.approval.who} rejected v${model.version}: ${state.approval.why}`);
    }
  } else {
    await changeStatus(model.model, model.version, 'approve', { who, why: `gate: ${gate.reason}` });
  }
  const candidate = {
    version: model.version,
    metrics: state.evaluation as NonNullable<PipelineState['evaluation']>,
  };
  for (let attempt = 1; ; attempt++) {
    const alias = await currentAlias(model.model, PRODUCTION_ALIAS);
    if (alias?.state.canary) {
      return outcome(
        false,
        `${PRODUCTION_ALIAS} has a canary in progress (${describeAlias(alias.state)}); promote or roll it back first`,
      );
    }
    const champion = alias ? await getModelVersion(model.model, alias.state.version) : undefined;
    if (champion && champion.version !== gate.champion) {
      // Another version took the alias since the gate ran: judge against that one.
      const again = decideGate(candidate, champion, {
        maxRegression: gate.maxRegression,
        approval: gate.approval,
        ...(gate.metric ? { metric: gate.metric as GateMetric } : {}),
      });
      if (!again.passed) return outcome(false, again.reason);
    }
    try {
      await promote(
        model.model,
        PRODUCTION_ALIAS,
        model.version,
        { who, why: gate.reason },
        { expectedRevision: alias?.revision ?? 0 },
      );
      return outcome(true, gate.reason);
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= ATTEMPTS) throw error;
      logger.warn('alias moved during promotion; deciding again', { attempt });
    }
  }
}
