/**
 * The training jobs' own account, read from the services that ran them: SageMaker's DescribeTrainingJob
 * (`@aws-sdk/client-sagemaker`), Batch's DescribeJobs and the job queue's compute environment
 * (`@aws-sdk/client-batch`) — locally, the same calls to the emulated contract (local/training-api.ts,
 * `AWS_ENDPOINT_URL_SAGEMAKER` and `AWS_ENDPOINT_URL_BATCH`). Priced by core/training-cost.ts.
 *
 * The SDK clients are loaded on first use: only RecordTrials calls them.
 */
import type { BatchClient } from '@aws-sdk/client-batch';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { TRAINING_JOB_PREFIX, type TrainingPlatform } from '../core/contract.ts';
import type { TrialResult } from '../core/pipeline.ts';
import {
  type BatchComputeResources,
  batchJobCost,
  sageMakerJobCost,
  type TrainingJobCost,
} from '../core/training-cost.ts';

/** Batch describes at most 100 jobs per call. */
const DESCRIBE_JOBS_BATCH = 100;

let sagemaker: Promise<SageMakerClient> | undefined;
let batch: Promise<BatchClient> | undefined;

function sageMakerClient(): Promise<SageMakerClient> {
  sagemaker ??= import('@aws-sdk/client-sagemaker').then(({ SageMakerClient }) => new SageMakerClient({}));
  return sagemaker;
}

function batchClient(): Promise<BatchClient> {
  batch ??= import('@aws-sdk/client-batch').then(({ BatchClient }) => new BatchClient({}));
  return batch;
}

/** A trial's job name, as the definition's TrainOn* states format it (`nimbus-<runId>-t<trial>`). */
export function trainingJobName(runId: string, trial: number): string {
  return `${TRAINING_JOB_PREFIX}${runId}-t${trial}`;
}

/** What the round's jobs cost, and which could not be read (with why): a missing account never fails a run. */
export interface RoundCost {
  readonly jobs: readonly TrainingJobCost[];
  readonly unrecorded: readonly string[];
}

/** Reads and prices the training jobs of one round of trials. */
export async function describeRoundCost(
  runId: string,
  platform: TrainingPlatform,
  results: readonly TrialResult[],
): Promise<RoundCost> {
  return platform === 'sagemaker' ? sageMakerRound(runId, results) : batchRound(results);
}

async function sageMakerRound(runId: string, results: readonly TrialResult[]): Promise<RoundCost> {
  const { DescribeTrainingJobCommand } = await import('@aws-sdk/client-sagemaker');
  const client = await sageMakerClient();
  const outcomes = await Promise.all(
    results.map(async (result) => {
      const name = result.trainingJob?.jobName ?? trainingJobName(runId, result.trial);
      try {
        const job = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
        return { job: sageMakerJobCost(result.trial, job) };
      } catch (error) {
        return { unrecorded: `trial ${result.trial} (${name}): ${(error as Error).message}` };
      }
    }),
  );
  return collect(outcomes);
}

async function batchRound(results: readonly TrialResult[]): Promise<RoundCost> {
  const { DescribeComputeEnvironmentsCommand, DescribeJobQueuesCommand, DescribeJobsCommand } = await import(
    '@aws-sdk/client-batch'
  );
  const client = await batchClient();
  const unrecorded: string[] = [];
  const ids = new Map<string, number>();
  for (const result of results) {
    const id = result.trainingJob?.jobId ?? jobIdOfFailure(result.error?.Cause);
    if (id) ids.set(id, result.trial);
    else unrecorded.push(`trial ${result.trial}: no Batch job id (the job was never submitted)`);
  }
  const jobs: TrainingJobCost[] = [];
  const computeOfQueue = new Map<string, Promise<BatchComputeResources>>();
  const compute = (queue: string) => {
    let found = computeOfQueue.get(queue);
    if (!found) {
      found = (async () => {
        const { jobQueues } = await client.send(new DescribeJobQueuesCommand({ jobQueues: [queue] }));
        const order = [...(jobQueues?.[0]?.computeEnvironmentOrder ?? [])].sort(
          (a, b) => (a.order ?? 0) - (b.order ?? 0),
        );
        const environment = order[0]?.computeEnvironment;
        if (!environment) return {};
        const { computeEnvironments } = await client.send(
          new DescribeComputeEnvironmentsCommand({ computeEnvironments: [environment] }),
        );
        return computeEnvironments?.[0]?.computeResources ?? {};
      })();
      computeOfQueue.set(queue, found);
    }
    return found;
  };
  const all = [...ids.keys()];
  for (let start = 0; start < all.length; start += DESCRIBE_JOBS_BATCH) {
    const slice = all.slice(start, start + DESCRIBE_JOBS_BATCH);
    try {
      const answer = await client.send(new DescribeJobsCommand({ jobs: slice }));
      const described = new Set<string>();
      for (const job of answer.jobs ?? []) {
        const trial = ids.get(job.jobId ?? '');
        if (trial === undefined) continue;
        described.add(job.jobId ?? '');
        try {
          jobs.push(batchJobCost(trial, job, job.jobQueue ? await compute(job.jobQueue) : {}));
        } catch (error) {
          unrecorded.push(`trial ${trial}: its compute environment: ${(error as Error).message}`);
        }
      }
      for (const id of slice) {
        if (!described.has(id)) unrecorded.push(`trial ${ids.get(id)}: Batch has no job ${id}`);
      }
    } catch (error) {
      for (const id of slice) unrecorded.push(`trial ${ids.get(id)}: ${(error as Error).message}`);
    }
  }
  return { jobs, unrecorded };
}

/** A failed `.sync` Batch job's Cause is the job's description: its id. */
function jobIdOfFailure(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const job = JSON.parse(cause) as { JobId?: unknown; jobId?: unknown };
    const id = job.JobId ?? job.jobId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function collect(outcomes: readonly ({ job: TrainingJobCost } | { unrecorded: string })[]): RoundCost {
  return {
    jobs: outcomes.flatMap((o) => ('job' in o ? [o.job] : [])),
    unrecorded: outcomes.flatMap((o) => ('unrecorded' in o ? [o.unrecorded] : [])),
  };
}
