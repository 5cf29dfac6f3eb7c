/**
 * MarkFailed: the run is FAILED with a readable reason (from the caught error, without the stack trace).
 * Works whether or not the run record exists yet (an error before RegisterDataset opened it).
 * Input: PipelineState with `error`. Output: `{ runId, reason }`.
 */
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { updateRun } from '../../aws/registry.ts';
import { KEYS, METRICS } from '../../core/contract.ts';
import { failureReason, type PipelineState } from '../../core/pipeline.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('mark-failed');
const metrics = createMetrics();

export async function handler(state: PipelineState): Promise<{ runId: string; reason: string }> {
  const reason = failureReason(state.error);
  const now = new Date().toISOString();
  const dataset = KEYS.parseDatasetKey(state.key)?.dataset ?? '';
  // The model is named after its dataset; a key outside the layout counts for all models only.
  publishModelMetrics(metrics, dataset || undefined, [
    [METRICS.pipelineFailed, MetricUnit.Count, 1],
    [METRICS.pipelineSucceeded, MetricUnit.Count, 0],
  ]);
  await updateRun(state.runId, {
    status: 'FAILED',
    reason,
    dataset,
    datasetKey: state.key,
    finishedAt: now,
  });
  logger.warn('run failed', { runId: state.runId, reason });
  return { runId: state.runId, reason };
}
