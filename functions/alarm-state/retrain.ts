/**
 * Retraining as an alarm action: a pipeline execution on the model's dataset as it is now (the file of its
 * newest registered version), with the same input an upload gives plus `detail.retrain`, so RegisterDataset
 * runs again on content it has seen.
 */
import { randomUUID } from 'node:crypto';
import { bucketName } from '../../aws/config.ts';
import { listDatasetVersions } from '../../aws/dataset-versions.ts';
import { startRunOn } from '../../aws/executions.ts';
import { retrainRunName } from '../../core/pipeline.ts';

/** Starts the run; returns what it did, for the alarm's log. */
export async function startRetraining(model: string, by: string, reason: string): Promise<string> {
  const versions = (await listDatasetVersions(model)).filter((v) => v.status === 'REGISTERED');
  const newest = versions.at(-1);
  if (!newest) return `no registered version of dataset "${model}" to train on`;
  const now = new Date();
  const arn = await startRunOn(
    bucketName('datasets'),
    newest.key,
    { by, reason },
    retrainRunName(now, randomUUID()),
    now,
  );
  return `started retraining ${arn} on ${model}@${newest.version}`;
}
