/** The registry's runs: listed, one, its progress; stopped and retried (the admin credential). */

import { getDatasetVersion } from '../../aws/dataset-versions.ts';
import {
  executionStatus,
  isExecutionAlreadyExists,
  runExecutionArn,
  startRunOn,
  stopExecution,
} from '../../aws/executions.ts';
import { getJson, listObjects, mapLimit } from '../../aws/object-store.ts';
import { claimRetry, endUnfinishedRun, getRun, listRuns, listTrials } from '../../aws/runs.ts';
import type { RunRecord, TrainingProgress } from '../../core/api-types.ts';
import { runsOfVersion } from '../../core/dataset.ts';
import { ConflictError, InvalidRequestError } from '../../core/errors.ts';
import { KEYS } from '../../core/keys.ts';
import { nameProblem, quoteName } from '../../core/names.ts';
import { retryRunName } from '../../core/pipeline.ts';

import { artifactsBucket, change, datasetsBucket, logger, requireRun, route } from './api.ts';

route('listRuns', async ({ req }) => {
  const query = new URL(req.url).searchParams;
  const limit = query.get('limit');
  if (limit !== null && !/^[1-9]\d{0,3}$/.test(limit)) {
    throw new InvalidRequestError('"limit" must be a whole number from 1 to 9999', 'limit');
  }
  const dataset = query.get('dataset');
  // Any text: a refused upload's run carries the name as typed. Bounded, as every input is.
  if (dataset !== null && dataset.length > 1024) {
    throw new InvalidRequestError('"dataset" is at most 1024 characters', 'dataset');
  }
  return {
    runs: await listRuns({
      ...(dataset === null ? {} : { dataset }),
      ...(limit === null ? {} : { limit: Number(limit) }),
    }),
  };
});

route('getRun', async ({ params }) => requireRun(params.runId));

route('runTrials', async ({ params }) => ({
  trials: await listTrials((await requireRun(params.runId)).runId),
}));

/** Where a run is: its steps so far, and each training job's epochs (its learning curve) when it trains. */
route('runProgress', async ({ params }) => {
  const run = await requireRun(params.runId);
  const prefix = KEYS.trainingProgressPrefix(run.dataset, run.runId);
  const files = await listObjects(artifactsBucket, prefix);
  // A file being rewritten as it is read (the local S3's writes are not atomic) is left out of this answer.
  const trials = await mapLimit(files, 8, (file) =>
    getJson<TrainingProgress>(artifactsBucket, file.key).catch((error: unknown) => {
      logger.warn('training progress unreadable', { key: file.key, error: error as Error });
      return undefined;
    }),
  );
  const training = trials
    .filter((t): t is TrainingProgress => t !== undefined)
    .sort((a, b) => a.trial - b.trial);
  return {
    runId: run.runId,
    dataset: run.dataset,
    status: run.status,
    step: run.step,
    steps: run.steps ?? [],
    ...(run.reason ? { reason: run.reason } : {}),
    ...(run.modelVersion === undefined ? {} : { modelVersion: run.modelVersion }),
    // The first (or only) trial's curve, and every trial's when there is a search.
    ...(training[0] ? { training: training[0] } : {}),
    ...(training.length > 1 ? { trials: training } : {}),
  };
});

// ---- changes (admin) --------------------------------------------------------------------------------------

/**
 * Stops a running run: StopExecution on its execution (the execution-ended function then records the end,
 * with how long it ran and where). A run whose execution has already ended without saying so — or no longer
 * exists — is ended here. Answers the run as it is now, and whether its stop is still being recorded.
 */
route('stopRun', async (ctx) => {
  const { actor } = await change(ctx);
  const run = await requireRun(ctx.params.runId);
  if (run.status !== 'RUNNING') throw new ConflictError(`run ${run.runId} already ended ${run.status}`);
  const arn = runExecutionArn(run.runId);
  const status = await executionStatus(arn);
  if (status === 'RUNNING') {
    await stopExecution(arn, 'nimbus.RunStopped', `${actor.why} (${actor.who})`);
    logger.info('run stopping', { runId: run.runId, who: actor.who });
    return { run: await requireRun(run.runId), stopping: true };
  }
  await endUnfinishedRun(run.runId, {
    reason: `stopped: its execution had already ended (${status ?? 'it no longer exists'}): ${actor.why} (${actor.who})`,
    dataset: run.dataset,
    datasetKey: run.datasetKey,
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
  });
  return { run: await requireRun(run.runId), stopping: false };
});

/**
 * Retries a failed run: a new run on the same dataset version (the object it read, which must still hold the
 * same bytes — otherwise the new run fails saying so), named after the failed run (core/pipeline.ts
 * retryRunName), with `retryOf` on it and `retriedBy` on the failed run. Once per failed run: a second retry
 * answers 409 naming the first (retry that one if it failed too) — unless the first was claimed but never
 * started (a function that died between the two), which asking again starts. Refused (409) while another run on
 * the same bytes is RUNNING or has SUCCEEDED, and for a run whose dataset name is refused. Answers the new run's
 * id; its record appears when its first step opens it.
 */
route('retryRun', async (ctx) => {
  const { actor } = await change(ctx);
  const run = await requireRun(ctx.params.runId);
  if (run.status !== 'FAILED') {
    throw new ConflictError(
      `run ${run.runId} is ${run.status}: only a FAILED run is retried${run.status === 'RUNNING' ? ' (stop it first)' : ''}`,
    );
  }
  const location = KEYS.parseDatasetKey(run.datasetKey);
  if (!location) {
    throw new ConflictError(
      `run ${run.runId} read no dataset object (${quoteName(run.datasetKey)}): nothing to retry`,
    );
  }
  const problem = nameProblem('dataset', location.dataset, (valid) => `datasets/${valid}/${location.file}`);
  if (problem) throw new ConflictError(`run ${run.runId} cannot be retried: ${problem}`);
  const runId = retryRunName(run.runId);
  const already = () =>
    new ConflictError(`run ${run.runId} was already retried by run ${run.retriedBy ?? runId}`);
  if (run.retriedBy !== undefined && (run.retriedBy !== runId || (await getRun(runId)))) throw already();
  await refuseWhileLive(run, location.dataset);
  if (run.retriedBy === undefined && !(await claimRetry(run.runId, runId))) {
    const claimed = await requireRun(run.runId);
    if (claimed.retriedBy !== runId || (await getRun(runId))) {
      throw new ConflictError(`run ${run.runId} was already retried by run ${claimed.retriedBy ?? '?'}`);
    }
  }
  let executionArn: string;
  try {
    executionArn = await startRunOn(
      datasetsBucket,
      run.datasetKey,
      {
        by: actor.who,
        reason: `retry of run ${run.runId}: ${actor.why}`,
        retryOf: run.runId,
        ...(run.datasetVersion ? { version: run.datasetVersion } : {}),
      },
      runId,
    );
  } catch (error) {
    // The name is the retry's: its execution exists (started by an earlier call that did not hear back).
    if (isExecutionAlreadyExists(error)) throw already();
    throw error;
  }
  logger.info('run retried', { runId: run.runId, retry: runId, who: actor.who });
  return {
    runId,
    retryOf: run.runId,
    executionArn,
    dataset: run.dataset,
    datasetVersion: run.datasetVersion,
  };
});

/** A 409 when another run on the failed run's bytes is RUNNING or has SUCCEEDED: those bytes are in hand. */
async function refuseWhileLive(run: RunRecord, dataset: string): Promise<void> {
  if (!run.datasetVersion) return;
  const version = await getDatasetVersion(dataset, run.datasetVersion);
  if (!version) return;
  for (const id of runsOfVersion(version)) {
    if (id === run.runId || id === run.retriedBy) continue;
    const other = await getRun(id);
    if (other && other.status !== 'FAILED') {
      throw new ConflictError(
        `run ${id} on the same bytes (${dataset}@${version.version}) is ${other.status}: nothing to retry`,
      );
    }
  }
}
