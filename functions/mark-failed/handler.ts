/**
 * MarkFailed: the run is FAILED with a readable reason (from the caught error, without the stack trace).
 * Works whether or not the run record exists yet (an error before RegisterDataset opened it, such as a refused
 * dataset name): the record it leaves is complete either way (aws/runs.ts endUnfinishedRun).
 * Input: PipelineState with `error`. Output: `{ runId, reason }`.
 */
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { endUnfinishedRun } from '../../aws/runs.ts';
import { METRICS } from '../../core/contract.ts';
import { KEYS } from '../../core/keys.ts';
import { NAME_PATTERN } from '../../core/names.ts';
import { failureReason, type PipelineState } from '../../core/pipeline.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('mark-failed');
const metrics = createMetrics();

export async function handler(state: PipelineState): Promise<{ runId: string; reason: string }> {
  const reason = failureReason(state.error);
  const now = new Date().toISOString();
  const dataset = KEYS.parseDatasetKey(state.key)?.dataset ?? KEYS.parseModelKey(state.key)?.model ?? '';
  // The model is named after its dataset; a key outside the layout, or a refused name, counts for all models
  // only (a name a user typed is no metric dimension until it is a valid one).
  publishModelMetrics(metrics, NAME_PATTERN.test(dataset) ? dataset : undefined, [
    [METRICS.pipelineFailed, MetricUnit.Count, 1],
    [METRICS.pipelineSucceeded, MetricUnit.Count, 0],
  ]);
  await endUnfinishedRun(state.runId, {
    reason,
    dataset,
    datasetKey: state.key,
    startedAt: state.startedAt ?? now,
    finishedAt: now,
  });
  logger.warn('run failed', { runId: state.runId, reason });
  return { runId: state.runId, reason };
}
