/**
 * What a run's training cost: each training job's own account (a SageMaker training job's description, a
 * Batch job's attempts and its compute environment) priced from the contract's table (TRAINING_PRICES) into
 * an estimate per job, summed per run and carried to the model version it produced.
 *
 * The job descriptions come in the shapes the AWS SDK answers (DescribeTrainingJob, DescribeJobs,
 * DescribeComputeEnvironments), reduced to the fields read here, so that this file needs no SDK: the same
 * code prices a job on AWS and one of the local platform's emulated jobs.
 */
import { TRAINING_PRICES } from './contract.ts';

/** One stage of a job's life: SageMaker's secondary status transitions, or Batch's queue and attempts. */
export interface JobTransition {
  readonly status: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly message?: string;
}

/** The cost of one training job, as estimated from its description. */
export interface TrainingJobCost {
  readonly trial: number;
  readonly platform: 'batch' | 'sagemaker';
  readonly jobName: string;
  readonly instanceType: string;
  /** Managed spot training (SageMaker) or a SPOT compute environment (Batch). */
  readonly spot: boolean;
  /** Its final status, as the service names it (Completed, Failed, Stopped; SUCCEEDED, FAILED). */
  readonly status: string;
  /** Seconds on the instance: SageMaker's TrainingTimeInSeconds, or the sum of the Batch attempts. */
  readonly trainingSeconds: number;
  /** Seconds billed: SageMaker's BillableTimeInSeconds (less than trained with spot), Batch's at least 60. */
  readonly billableSeconds: number;
  /** The estimate, in USD, at the price paid; absent when the table has no price for the instance type. */
  readonly usd?: number;
  /** What the same seconds would cost on demand. */
  readonly onDemandUsd?: number;
  readonly transitions: readonly JobTransition[];
}

/** The cost of a run: its training jobs, each priced, and their sum. */
export interface RunCost {
  /** The sum over the priced jobs, at the prices paid. */
  readonly usd: number;
  /** The same jobs on demand. */
  readonly onDemandUsd: number;
  /** What spot saved: `onDemandUsd - usd`. */
  readonly spotSavingsUsd: number;
  readonly currency: 'USD';
  /** The date of the table's prices. */
  readonly pricesAsOf: string;
  /** The region the table's prices are of. */
  readonly region: string;
  readonly jobs: readonly TrainingJobCost[];
  /** Instance types the table has no price for: their jobs are counted in `jobs` but not in the sums. */
  readonly unpriced?: readonly string[];
  /** Jobs whose description could not be read, with why (the run goes on without their cost). */
  readonly unrecorded?: readonly string[];
}

/** What a model version keeps of its run's cost. */
export type VersionCost = Omit<RunCost, 'jobs' | 'unrecorded'> & { readonly jobs: number };

/** DescribeTrainingJob's answer, as far as the cost reads it. */
export interface SageMakerJobDescription {
  readonly TrainingJobName?: string;
  readonly TrainingJobStatus?: string;
  readonly ResourceConfig?: { readonly InstanceType?: string; readonly InstanceCount?: number };
  readonly EnableManagedSpotTraining?: boolean;
  readonly TrainingStartTime?: Date;
  readonly TrainingEndTime?: Date;
  readonly TrainingTimeInSeconds?: number;
  readonly BillableTimeInSeconds?: number;
  readonly SecondaryStatusTransitions?: readonly {
    readonly Status?: string;
    readonly StartTime?: Date;
    readonly EndTime?: Date;
    readonly StatusMessage?: string;
  }[];
}

/** DescribeJobs' answer for one job, as far as the cost reads it (times in epoch milliseconds). */
export interface BatchJobDescription {
  readonly jobName?: string;
  readonly status?: string;
  readonly createdAt?: number;
  readonly startedAt?: number;
  readonly stoppedAt?: number;
  readonly attempts?: readonly {
    readonly startedAt?: number;
    readonly stoppedAt?: number;
    readonly statusReason?: string;
  }[];
}

/** A compute environment's resources (DescribeComputeEnvironments), as far as the cost reads them. */
export interface BatchComputeResources {
  /** EC2, SPOT, FARGATE or FARGATE_SPOT. */
  readonly type?: string;
  readonly instanceTypes?: readonly string[];
}

/** EC2 and SageMaker bill Linux instances per second, with a minimum of one minute. */
const MINIMUM_BILLED_SECONDS = 60;

/** A price per hour → the cost of `seconds`, rounded to a hundredth of a cent. */
function priced(hourly: number, seconds: number): number {
  return Math.round(((hourly * seconds) / 3600) * 10_000) / 10_000;
}

const iso = (date: Date | number | undefined) =>
  date === undefined ? undefined : new Date(date).toISOString();

/**
 * A SageMaker job's cost: BillableTimeInSeconds at the instance type's on-demand price, times the instance
 * count. With managed spot, SageMaker bills fewer seconds than the job trained (its savings are
 * `1 - billable / training`), so the on-demand figure is the training seconds at the same price.
 */
export function sageMakerJobCost(trial: number, job: SageMakerJobDescription): TrainingJobCost {
  const instanceType = job.ResourceConfig?.InstanceType ?? 'unknown';
  const count = job.ResourceConfig?.InstanceCount ?? 1;
  const trainingSeconds =
    job.TrainingTimeInSeconds ?? secondsBetween(job.TrainingStartTime, job.TrainingEndTime);
  const billableSeconds = job.BillableTimeInSeconds ?? trainingSeconds;
  const price = TRAINING_PRICES.sagemaker[instanceType];
  return {
    trial,
    platform: 'sagemaker',
    jobName: job.TrainingJobName ?? '',
    instanceType,
    spot: job.EnableManagedSpotTraining === true,
    status: job.TrainingJobStatus ?? 'Unknown',
    trainingSeconds,
    billableSeconds,
    ...(price === undefined
      ? {}
      : {
          usd: priced(price.onDemand * count, billableSeconds),
          onDemandUsd: priced(price.onDemand * count, trainingSeconds),
        }),
    transitions: (job.SecondaryStatusTransitions ?? []).map((t) => ({
      status: t.Status ?? 'Unknown',
      startedAt: iso(t.StartTime) ?? '',
      ...(t.EndTime ? { endedAt: iso(t.EndTime) } : {}),
      ...(t.StatusMessage ? { message: t.StatusMessage } : {}),
    })),
  };
}

/**
 * A Batch job's cost: each attempt's running time (a retried spot job pays for every attempt) at the compute
 * environment's first instance type's price, spot or on demand, at least a minute per attempt. What the
 * instance spends booting and pulling the image before the container starts is not in the job's account,
 * and so not in the estimate.
 */
export function batchJobCost(
  trial: number,
  job: BatchJobDescription,
  compute: BatchComputeResources,
): TrainingJobCost {
  const instanceType = compute.instanceTypes?.[0] ?? 'unknown';
  const spot = compute.type === 'SPOT' || compute.type === 'FARGATE_SPOT';
  const attempts = (job.attempts ?? []).filter((a) => a.startedAt !== undefined);
  const runs =
    attempts.length > 0
      ? attempts
      : job.startedAt === undefined
        ? []
        : [{ startedAt: job.startedAt, stoppedAt: job.stoppedAt }];
  const seconds = runs.map((a) =>
    Math.max(0, ((a.stoppedAt ?? a.startedAt ?? 0) - (a.startedAt ?? 0)) / 1000),
  );
  const trainingSeconds = Math.round(seconds.reduce((sum, s) => sum + s, 0));
  const billableSeconds = Math.round(
    seconds.reduce((sum, s) => sum + Math.max(MINIMUM_BILLED_SECONDS, s), 0),
  );
  const price = TRAINING_PRICES.ec2[instanceType];
  const transitions: JobTransition[] = [];
  if (job.createdAt !== undefined) {
    transitions.push({
      status: 'RUNNABLE',
      startedAt: iso(job.createdAt) ?? '',
      ...(runs[0]?.startedAt === undefined ? {} : { endedAt: iso(runs[0].startedAt) }),
    });
  }
  for (const [i, attempt] of runs.entries()) {
    transitions.push({
      status: runs.length > 1 ? `RUNNING (attempt ${i + 1})` : 'RUNNING',
      startedAt: iso(attempt.startedAt) ?? '',
      ...(attempt.stoppedAt === undefined ? {} : { endedAt: iso(attempt.stoppedAt) }),
      ...('statusReason' in attempt && attempt.statusReason ? { message: attempt.statusReason } : {}),
    });
  }
  return {
    trial,
    platform: 'batch',
    jobName: job.jobName ?? '',
    instanceType,
    spot,
    status: job.status ?? 'UNKNOWN',
    trainingSeconds,
    billableSeconds,
    ...(price === undefined
      ? {}
      : {
          usd: priced(spot ? price.spot : price.onDemand, billableSeconds),
          onDemandUsd: priced(price.onDemand, billableSeconds),
        }),
    transitions,
  };
}

function secondsBetween(start: Date | undefined, end: Date | undefined): number {
  if (!start || !end) return 0;
  return Math.max(0, Math.round((end.getTime() - start.getTime()) / 1000));
}

/** A run's cost: its jobs (those of earlier rounds kept, a job seen again replaced) and their sums. */
export function runCost(
  jobs: readonly TrainingJobCost[],
  unrecorded: readonly string[] = [],
  earlier?: RunCost,
): RunCost {
  const byName = new Map<string, TrainingJobCost>();
  for (const job of [...(earlier?.jobs ?? []), ...jobs]) byName.set(job.jobName || `trial ${job.trial}`, job);
  const all = [...byName.values()].sort((a, b) => a.trial - b.trial);
  const sum = (pick: (job: TrainingJobCost) => number | undefined) =>
    Math.round(all.reduce((total, job) => total + (pick(job) ?? 0), 0) * 10_000) / 10_000;
  const usd = sum((job) => job.usd);
  const onDemandUsd = sum((job) => job.onDemandUsd);
  const unpriced = [...new Set(all.filter((job) => job.usd === undefined).map((job) => job.instanceType))];
  const notRead = [...(earlier?.unrecorded ?? []), ...unrecorded];
  return {
    usd,
    onDemandUsd,
    spotSavingsUsd: Math.round((onDemandUsd - usd) * 10_000) / 10_000,
    currency: 'USD',
    pricesAsOf: TRAINING_PRICES.asOf,
    region: TRAINING_PRICES.region,
    jobs: all,
    ...(unpriced.length > 0 ? { unpriced } : {}),
    ...(notRead.length > 0 ? { unrecorded: notRead } : {}),
  };
}

/** What a model version keeps of its run's cost: the sums, and how many jobs they cover. */
export function versionCost(cost: RunCost): VersionCost {
  const { jobs, unrecorded: _unrecorded, ...sums } = cost;
  return { ...sums, jobs: jobs.length };
}

/** `$0.0123 (on demand $0.0410, spot saved 70%)`: a cost in one line. */
export function formatCost(cost: Pick<RunCost, 'usd' | 'onDemandUsd' | 'spotSavingsUsd'>): string {
  const dollars = (usd: number) => `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
  if (cost.spotSavingsUsd <= 0) return dollars(cost.usd);
  const share = Math.round((cost.spotSavingsUsd / cost.onDemandUsd) * 100);
  return `${dollars(cost.usd)} (on demand ${dollars(cost.onDemandUsd)}, spot saved ${share}%)`;
}
