/**
 * Gate and WaitForApproval.
 *
 * - Gate (after RegisterModel): the challenger against the version that holds `production`, by the gate of
 *   the dataset's manifest (an import's model.json) or else the platform's (`NIMBUS_GATE`): not worse than the champion by more than
 *   `maxRegression` on `metric`. Says whether a person must approve (`approval: 'manual'`).
 * - WaitForApproval (a `.waitForTaskToken` task): records the task token on the version, so that the registry
 *   API's approve or reject resumes the pipeline. The pipeline waits until then (or its timeout).
 * Input: PipelineState (Gate) or ApprovalRequest (WaitForApproval). Output: GateResult, or nothing.
 */
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { putApproval } from '../../aws/model-audit.ts';
import { currentAlias, getModelVersion } from '../../aws/model-registry.ts';
import { updateRun } from '../../aws/runs.ts';
import { ENV, METRICS, PRODUCTION_ALIAS } from '../../core/contract.ts';
import { ConfigurationError } from '../../core/errors.ts';
import { DEFAULT_GATE, decideGate, type GateSpec, parseGateSpec } from '../../core/model-registry.ts';
import type { ApprovalRequest, GateResult, PipelineState } from '../../core/pipeline.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('gate');
const metrics = createMetrics();

export async function handler(input: PipelineState | ApprovalRequest): Promise<GateResult | undefined> {
  if ('taskToken' in input) {
    await requestApproval(input);
    return undefined;
  }
  return gate(input);
}

async function gate(state: PipelineState): Promise<GateResult> {
  const { model, evaluation } = state;
  const dataset = state.dataset && !state.dataset.skip ? state.dataset : undefined;
  const imported = state.import && !state.import.skip ? state.import : undefined;
  if (!model || !evaluation || !(dataset || imported)) {
    throw new Error('Gate needs $.dataset (or $.import), $.model and $.evaluation');
  }
  logger.appendKeys({ runId: state.runId });
  const spec = (imported ? imported.gate : dataset?.manifest?.gate) ?? platformGate();
  await updateRun(state.runId, { step: 'Gate' });
  if (imported && !imported.evaluated) {
    // Nothing to judge it by: an imported version without an evaluation table takes no alias by itself.
    publishModelMetrics(metrics, model.model, [[METRICS.gatePassed, MetricUnit.Count, 0]]);
    const reason = `v${model.version} was imported without an evaluation table (model.json "evaluation"), so it takes no alias by itself: promote it, or try it in a canary`;
    logger.info('gate decided', { passed: false, reason });
    return {
      passed: false,
      metric: spec.metric ?? 'macroF1',
      reason,
      approval: spec.approval,
      maxRegression: spec.maxRegression,
    };
  }
  const alias = await currentAlias(model.model, PRODUCTION_ALIAS);
  const champion = alias ? await getModelVersion(model.model, alias.state.version) : undefined;
  const decision = decideGate({ version: model.version, metrics: evaluation }, champion, spec);
  publishModelMetrics(metrics, model.model, [
    [METRICS.gatePassed, MetricUnit.Count, decision.passed ? 1 : 0],
  ]);
  logger.info('gate decided', { ...decision, approval: spec.approval, champion: champion?.version });
  return {
    ...decision,
    approval: spec.approval,
    maxRegression: spec.maxRegression,
    ...(champion ? { champion: champion.version } : {}),
  };
}

async function requestApproval(request: ApprovalRequest): Promise<void> {
  logger.appendKeys({ runId: request.runId });
  await putApproval({
    model: request.model.model,
    version: request.model.version,
    runId: request.runId,
    taskToken: request.taskToken,
    reason: request.gate.reason,
    requestedAt: new Date().toISOString(),
  });
  await updateRun(request.runId, { step: 'WaitForApproval' });
  logger.info('waiting for approval', { model: request.model.model, version: request.model.version });
}

function platformGate(): GateSpec {
  const raw = process.env[ENV.gate];
  if (!raw) return DEFAULT_GATE;
  try {
    return parseGateSpec(JSON.parse(raw));
  } catch (error) {
    throw new ConfigurationError(`${ENV.gate} is not a gate: ${(error as Error).message}`);
  }
}
