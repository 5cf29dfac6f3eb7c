/**
 * The local training jobs' own account, as SageMaker and Batch keep it: when each job was created, each
 * attempt's start and stop, its status, its instance type. The local training API (local/training-api.ts)
 * answers DescribeTrainingJob, DescribeJobs, DescribeJobQueues and DescribeComputeEnvironments from it, so
 * the pipeline prices its local runs with the same SDK calls as in AWS (aws/training-jobs.ts).
 *
 * The local jobs run on this machine: they are accounted as if on the stack's default instance types
 * (DEFAULT_TRAINING_INSTANCES), on demand (no Spot market here: billable seconds are the seconds trained).
 */
import { DEFAULT_TRAINING_INSTANCES } from '../core/contract.ts';

/** Jobs kept (the oldest are forgotten first): SageMaker and Batch keep theirs for months; here, a bound. */
const MAX_JOBS = 2000;

interface Attempt {
  readonly startedAt: number;
  stoppedAt?: number;
  reason?: string;
}

export interface LedgerJob {
  readonly platform: 'batch' | 'sagemaker';
  readonly name: string;
  readonly id: string;
  readonly queue?: string;
  readonly instanceType: string;
  readonly spot: boolean;
  readonly createdAt: number;
  /** When the data channels were downloaded and the container started (SageMaker). */
  trainingStartedAt?: number;
  endedAt?: number;
  readonly attempts: Attempt[];
  /** InProgress/Completed/Failed/Stopped (SageMaker), RUNNING/SUCCEEDED/FAILED (Batch). */
  status: string;
  reason?: string;
}

/** The local compute environment and job queue, as the stack's defaults make them. */
export const LOCAL_COMPUTE = {
  environmentName: 'nimbus-training-gpu',
  type: 'EC2',
  instanceTypes: [DEFAULT_TRAINING_INSTANCES.batch],
  maxvCpus: 16,
} as const;

export class TrainingLedger {
  private readonly jobs = new Map<string, LedgerJob>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new job, now. */
  open(job: Pick<LedgerJob, 'platform' | 'name' | 'id'> & { readonly queue?: string }): LedgerJob {
    const entry: LedgerJob = {
      ...job,
      instanceType:
        job.platform === 'batch' ? DEFAULT_TRAINING_INSTANCES.batch : DEFAULT_TRAINING_INSTANCES.sagemaker,
      spot: false,
      createdAt: this.now(),
      attempts: [],
      status: job.platform === 'batch' ? 'RUNNABLE' : 'InProgress',
    };
    // A name used again (a retried run's trial) is a new job; SageMaker would refuse the name, Batch not.
    this.jobs.delete(job.platform === 'batch' ? job.id : job.name);
    this.jobs.set(job.platform === 'batch' ? job.id : job.name, entry);
    while (this.jobs.size > MAX_JOBS) this.jobs.delete(this.jobs.keys().next().value as string);
    return entry;
  }

  startAttempt(job: LedgerJob): void {
    job.attempts.push({ startedAt: this.now() });
    job.trainingStartedAt ??= this.now();
    if (job.platform === 'batch') job.status = 'RUNNING';
  }

  stopAttempt(job: LedgerJob, reason?: string): void {
    const attempt = job.attempts.at(-1);
    if (attempt && attempt.stoppedAt === undefined) {
      attempt.stoppedAt = this.now();
      if (reason) attempt.reason = reason;
    }
  }

  close(job: LedgerJob, status: string, reason?: string): void {
    this.stopAttempt(job, reason);
    job.endedAt = this.now();
    job.status = status;
    if (reason) job.reason = reason;
  }

  /** DescribeTrainingJob's answer (JSON 1.1: times in epoch seconds), or undefined for a name not known. */
  describeTrainingJob(name: string, account: string, region: string): Record<string, unknown> | undefined {
    const job = this.jobs.get(name);
    if (job?.platform !== 'sagemaker') return undefined;
    const seconds = (ms: number) => ms / 1000;
    const start = job.trainingStartedAt;
    const end = job.endedAt;
    const trained = start === undefined ? 0 : Math.round(((end ?? this.now()) - start) / 1000);
    const transitions: Record<string, unknown>[] = [
      {
        Status: 'Starting',
        StartTime: seconds(job.createdAt),
        ...(start === undefined ? {} : { EndTime: seconds(start) }),
        StatusMessage: 'Downloading the training channels',
      },
    ];
    if (start !== undefined) {
      transitions.push({
        Status: 'Training',
        StartTime: seconds(start),
        ...(end === undefined ? {} : { EndTime: seconds(end) }),
        StatusMessage: 'Training image running',
      });
    }
    if (end !== undefined) {
      transitions.push({
        Status: job.status,
        StartTime: seconds(end),
        EndTime: seconds(end),
        StatusMessage: job.reason ?? 'Training job ended',
      });
    }
    return {
      TrainingJobName: job.name,
      TrainingJobArn: `arn:aws:sagemaker:${region}:${account}:training-job/${job.name}`,
      TrainingJobStatus: job.status,
      SecondaryStatus: end === undefined ? 'Training' : job.status,
      ...(job.reason ? { FailureReason: job.reason } : {}),
      ResourceConfig: { InstanceType: job.instanceType, InstanceCount: 1, VolumeSizeInGB: 30 },
      EnableManagedSpotTraining: job.spot,
      CreationTime: seconds(job.createdAt),
      ...(start === undefined ? {} : { TrainingStartTime: seconds(start) }),
      ...(end === undefined ? {} : { TrainingEndTime: seconds(end) }),
      LastModifiedTime: seconds(end ?? start ?? job.createdAt),
      SecondaryStatusTransitions: transitions,
      ...(end === undefined ? {} : { TrainingTimeInSeconds: trained, BillableTimeInSeconds: trained }),
    };
  }

  /** DescribeJobs' answer for the ids known (times in epoch milliseconds). */
  describeJobs(ids: readonly string[], account: string, region: string): Record<string, unknown>[] {
    return ids.flatMap((id) => {
      const job = this.jobs.get(id);
      if (job?.platform !== 'batch') return [];
      const first = job.attempts[0];
      const last = job.attempts.at(-1);
      return [
        {
          jobArn: `arn:aws:batch:${region}:${account}:job/${job.id}`,
          jobName: job.name,
          jobId: job.id,
          jobQueue: job.queue ?? '',
          status: job.status,
          ...(job.reason ? { statusReason: job.reason } : {}),
          createdAt: job.createdAt,
          ...(first ? { startedAt: first.startedAt } : {}),
          ...(job.endedAt === undefined ? {} : { stoppedAt: last?.stoppedAt ?? job.endedAt }),
          attempts: job.attempts
            .filter((a) => a.stoppedAt !== undefined)
            .map((a) => ({
              startedAt: a.startedAt,
              stoppedAt: a.stoppedAt,
              ...(a.reason ? { statusReason: a.reason } : {}),
            })),
          jobDefinition: `arn:aws:batch:${region}:${account}:job-definition/nimbus-training:1`,
        },
      ];
    });
  }
}

/** DescribeJobQueues' answer: every queue asked for is served by the one local compute environment. */
export function describeJobQueues(arns: readonly string[], account: string, region: string) {
  return arns.map((arn) => ({
    jobQueueArn: arn,
    jobQueueName: arn.split('/').pop() ?? arn,
    state: 'ENABLED',
    status: 'VALID',
    priority: 1,
    computeEnvironmentOrder: [{ order: 1, computeEnvironment: computeEnvironmentArn(account, region) }],
  }));
}

/** DescribeComputeEnvironments' answer for the local compute environment (by ARN or name). */
export function describeComputeEnvironments(names: readonly string[], account: string, region: string) {
  const arn = computeEnvironmentArn(account, region);
  return names
    .filter((name) => name === arn || name === LOCAL_COMPUTE.environmentName)
    .map(() => ({
      computeEnvironmentName: LOCAL_COMPUTE.environmentName,
      computeEnvironmentArn: arn,
      type: 'MANAGED',
      state: 'ENABLED',
      status: 'VALID',
      computeResources: {
        type: LOCAL_COMPUTE.type,
        instanceTypes: [...LOCAL_COMPUTE.instanceTypes],
        minvCpus: 0,
        maxvCpus: LOCAL_COMPUTE.maxvCpus,
      },
    }));
}

function computeEnvironmentArn(account: string, region: string): string {
  return `arn:aws:batch:${region}:${account}:compute-environment/${LOCAL_COMPUTE.environmentName}`;
}
