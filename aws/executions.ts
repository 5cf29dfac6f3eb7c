/**
 * Pipeline executions the platform starts itself — a retraining run (an alarm action) or a retry of a failed
 * run — with the input an upload of the dataset's object gives, plus `detail.retrain` saying why (so
 * RegisterDataset trains again on content it has seen). The state machine is `NIMBUS_STATE_MACHINE_ARN`.
 */
import { randomUUID } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ENV, type ObjectCreatedEvent } from '../core/contract.ts';
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
