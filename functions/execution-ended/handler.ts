/**
 * ExecutionEnded: the end of a pipeline execution that the pipeline could not record itself — it timed out,
 * was stopped (StopExecution, the console, `nimbus runs stop`) or failed outside its own catch. The run is
 * marked FAILED with a reason that says which and where (the step it was in), unless it already ended: a run
 * that went through MarkFailed keeps its own reason, and its execution's FAILED event changes nothing.
 * Input: Step Functions' "Execution Status Change" event (an EventBridge rule; locally the same event from the
 * local pipeline). Output: what was recorded.
 */
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { endUnfinishedRun, getRun } from '../../aws/runs.ts';
import { METRICS } from '../../core/contract.ts';
import type { ExecutionStatusChangeEvent } from '../../core/events.ts';
import { KEYS } from '../../core/keys.ts';
import { executionEndReason } from '../../core/pipeline.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('execution-ended');
const metrics = createMetrics();

export interface ExecutionEndedResult {
  readonly runId: string;
  readonly status: string;
  /** Whether this call ended the run (false: it had ended already). */
  readonly recorded: boolean;
  readonly reason?: string;
}

export async function handler(event: ExecutionStatusChangeEvent): Promise<ExecutionEndedResult> {
  const { detail } = event;
  const runId = detail.name;
  if (detail.status === 'RUNNING' || detail.status === 'SUCCEEDED') {
    return { runId, status: detail.status, recorded: false };
  }
  const run = await getRun(runId);
  if (run && run.status !== 'RUNNING') return { runId, status: detail.status, recorded: false };

  const key = datasetKey(detail.input) ?? run?.datasetKey ?? '';
  const dataset = run?.dataset ?? KEYS.parseDatasetKey(key)?.dataset ?? '';
  const stoppedAt = detail.stopDate ?? Date.parse(event.time);
  const reason = executionEndReason(detail.status, {
    took: stoppedAt - detail.startDate,
    ...(run?.step ? { step: run.step } : {}),
    ...(detail.error ? { error: detail.error } : {}),
    ...(detail.cause ? { cause: detail.cause } : {}),
  });
  const recorded = await endUnfinishedRun(runId, {
    reason,
    dataset,
    datasetKey: key,
    startedAt: new Date(detail.startDate).toISOString(),
    finishedAt: new Date(stoppedAt).toISOString(),
  });
  if (recorded) {
    publishModelMetrics(metrics, dataset || undefined, [
      [METRICS.pipelineFailed, MetricUnit.Count, 1],
      [METRICS.pipelineSucceeded, MetricUnit.Count, 0],
    ]);
    logger.warn('run ended by its execution', { runId, status: detail.status, reason });
  }
  return { runId, status: detail.status, recorded, reason };
}

/** The dataset key of the upload that started the execution (its input: the "Object Created" event). */
function datasetKey(input: string | null): string | undefined {
  if (!input) return undefined;
  try {
    const key = (JSON.parse(input) as { detail?: { object?: { key?: unknown } } }).detail?.object?.key;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}
