/**
 * The pipeline's executions in Step Functions, for the functions that act on them:
 * - runs the platform starts itself — a retraining run (an alarm action) or a retry of a failed run — with
 *   the input an upload of the dataset's object gives, plus `detail.retrain` saying why (so RegisterDataset
 *   trains again on content it has seen);
 * - a run's execution described and stopped (the registry's `runs/:runId/stop`);
 * - a waiting task answered (an approval resuming the pipeline).
 * The state machine is `NIMBUS_STATE_MACHINE_ARN`.
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeExecutionCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { ENV } from '../core/contract.ts';
import { executionArn, type ObjectCreatedEvent } from '../core/events.ts';
import type { RetrainRequest } from '../core/pipeline.ts';
import { sfnClient } from './clients.ts';
import { requireEnv } from './config.ts';

/** Starts the pipeline on `bucket`/`key` as the execution `name` (the new run's id); returns its ARN. */
export async function startRunOn(
  bucket: string,
  key: string,
  retrain: RetrainRequest,
  name: string,
  now = new Date(),
): Promise<string> {
  const event: ObjectCreatedEvent = {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '',
    time: now.toISOString(),
    region: process.env.AWS_REGION ?? '',
    resources: [],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: { key },
      reason: 'NimbusRetrain',
      retrain,
    },
  };
  const out = await sfnClient().send(
    new StartExecutionCommand({
      stateMachineArn: requireEnv(ENV.stateMachineArn),
      name,
      input: JSON.stringify(event),
    }),
  );
  return out.executionArn ?? name;
}

/** Whether `error` is StartExecution's answer for a name an execution already has (started earlier). */
export const isExecutionAlreadyExists = (error: unknown): boolean =>
  (error as Error | undefined)?.name === 'ExecutionAlreadyExists';

/** The ARN of the execution that runs (or ran) the run `runId`: executions are named after their runs. */
export function runExecutionArn(runId: string): string {
  return executionArn(requireEnv(ENV.stateMachineArn), runId);
}

/** The execution's status (`RUNNING`, `SUCCEEDED`, `FAILED`, …); undefined when there is no such execution. */
export async function executionStatus(arn: string): Promise<string | undefined> {
  try {
    return (await sfnClient().send(new DescribeExecutionCommand({ executionArn: arn }))).status;
  } catch (error) {
    if ((error as Error).name !== 'ExecutionDoesNotExist') throw error;
    return undefined;
  }
}

/** Stops a running execution, failing it with `error` and `cause`. */
export async function stopExecution(arn: string, error: string, cause: string): Promise<void> {
  await sfnClient().send(new StopExecutionCommand({ executionArn: arn, error, cause }));
}

/** Step Functions' answers for a token whose execution is gone: timed out, stopped, or the wait timed out. */
const ENDED_TASK_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * Resumes the task waiting on `taskToken` with `output` (as JSON). Answers false when nothing waits on the
 * token any more — its execution ended (timed out, stopped) or the wait timed out; any other failure throws.
 */
export async function sendTaskSuccess(taskToken: string, output: unknown): Promise<boolean> {
  try {
    await sfnClient().send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    return true;
  } catch (error) {
    if (!ENDED_TASK_ERRORS.has((error as Error).name)) throw error;
    return false;
  }
}
