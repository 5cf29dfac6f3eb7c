/**
 * MarkFailed: the run is FAILED with a readable reason (from the caught error, without the stack trace).
 * Works whether or not the run record exists yet (an error before RegisterDataset opened it).
 * Input: PipelineState with `error`. Output: `{ runId, reason }`.
 */
import { updateRun } from '../../aws/registry.ts';
import { KEYS } from '../../core/contract.ts';
import { failureReason, type PipelineState } from '../../core/pipeline.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('mark-failed');

export async function handler(state: PipelineState): Promise<{ runId: string; reason: string }> {
  const reason = failureReason(state.error);
  const now = new Date().toISOString();
  await updateRun(state.runId, {
    status: 'FAILED',
    reason,
    dataset: KEYS.parseDatasetKey(state.key)?.dataset ?? '',
    datasetKey: state.key,
    finishedAt: now,
  });
  logger.warn('run failed', { runId: state.runId, reason });
  return { runId: state.runId, reason };
}
