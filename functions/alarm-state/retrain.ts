/**
 * Retraining as an alarm action: a pipeline execution on the model's dataset as it is now (the file of its
 * newest registered version), with the same input an upload gives plus `detail.retrain`, so RegisterDataset
 * runs again on content it has seen.
 */
import { randomUUID } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sfnClient } from '../../aws/clients.ts';
import { bucketName, requireEnv } from '../../aws/config.ts';
import { listDatasetVersions } from '../../aws/registry.ts';
import { ENV, type ObjectCreatedEvent } from '../../core/contract.ts';
import { retrainRunName } from '../../core/pipeline.ts';

/** Starts the run; returns what it did, for the alarm's log. */
export async function startRetraining(model: string, by: string, reason: string): Promise<string> {
  const versions = (await listDatasetVersions(model)).filter((v) => v.status === 'REGISTERED');
  const newest = versions.at(-1);
  if (!newest) return `no registered version of dataset "${model}" to train on`;
  const bucket = bucketName('datasets');
  const now = new Date();
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
      object: { key: newest.key },
      reason: 'NimbusRetrain',
      retrain: { by, reason },
    },
  };
  const name = retrainRunName(now, randomUUID());
  const out = await sfnClient().send(
    new StartExecutionCommand({
      stateMachineArn: requireEnv(ENV.stateMachineArn),
      name,
      input: JSON.stringify(event),
    }),
  );
  return `started retraining ${out.executionArn ?? name} on ${model}@${newest.version}`;
}
