/**
 * The pipeline's SageMaker branch on one machine: the training entrypoint runs under the SageMaker contract
 * (hyperparameters.json, /opt/ml/model), on a dataset whose label the manifest names.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DescribeTrainingJobCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { ModelVersion, RunRecord } from '../../core/api-types.ts';
import { DEFAULT_TRAINING_INSTANCES, ENV, TRAINING_PRICES } from '../../core/contract.ts';
import type { TypedRow } from '../../core/dataset.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import type { TrainingCard } from '../../core/pipeline.ts';
import { localPlatformFixture } from '../helpers.ts';

describe('training through the SageMaker contract', () => {
  const local = localPlatformFixture({ trainingPlatform: 'sagemaker' });

  it('trains wine with the manifest label and serves it', async () => {
    const { client } = local;
    await client.upload(KEYS.manifest('wine'), JSON.stringify({ label: 'cultivar' }));
    await client.upload(
      'datasets/wine/wine.csv',
      readFileSync(new URL('../fixtures/wine.csv', import.meta.url)),
    );
    const [run] = await client.waitForRuns('wine');
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    assert.equal((await client.runs('wine')).length, 1, 'the manifest upload starts no run');

    const card = await client.artifactJson<TrainingCard>(
      KEYS.modelPrefix('wine', run.runId) + ARTIFACTS.card,
    );
    assert.equal(card.contract, 'sagemaker');
    assert.equal(card.training.data, 'channel', 'the splits came in as the train and validation channels');
    const metrics = await client.artifactJson<{ test: { accuracy: number; confusionMatrix: number[][] } }>(
      KEYS.modelPrefix('wine', run.runId) + ARTIFACTS.metrics,
    );
    assert.ok(metrics.test.accuracy >= 0.9, `accuracy ${metrics.test.accuracy}`);
    assert.equal(metrics.test.confusionMatrix.length, 3);

    const [row] = await client.artifactJson<TypedRow[]>(KEYS.data('wine', run.runId, 'test-rows.json'));
    const response = await client.predict('wine', { instances: [row] });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { predictions: { label: string }[] };
    assert.match(body.predictions[0]?.label ?? '', /^class_[012]$/);

    // The job's own account, through the SDK, from the emulated SageMaker API…
    const { endpoints } = local.platform;
    const sagemaker = new SageMakerClient({
      endpoint: endpoints.training,
      region: endpoints.region,
      credentials: { accessKeyId: endpoints.accessKeyId, secretAccessKey: endpoints.secretAccessKey },
    });
    const job = await sagemaker.send(
      new DescribeTrainingJobCommand({ TrainingJobName: `nimbus-${run.runId}-t0` }),
    );
    assert.equal(job.TrainingJobStatus, 'Completed');
    assert.equal(job.ResourceConfig?.InstanceType, DEFAULT_TRAINING_INSTANCES.sagemaker);
    assert.deepEqual(
      job.SecondaryStatusTransitions?.map((t) => t.Status),
      ['Starting', 'Training', 'Completed'],
    );
    assert.ok((job.TrainingTimeInSeconds ?? 0) >= 1, `trained ${job.TrainingTimeInSeconds} s`);
    // …priced on the run, its model version, and shown by the registry API.
    const record = await client.registryJson<RunRecord>(`/runs/${run.runId}`);
    const [cost] = record.cost?.jobs ?? [];
    assert.equal(cost?.platform, 'sagemaker');
    assert.equal(cost.billableSeconds, job.BillableTimeInSeconds);
    const hourly = TRAINING_PRICES.sagemaker[DEFAULT_TRAINING_INSTANCES.sagemaker]?.onDemand ?? 0;
    assert.equal(cost.usd, Math.round(((hourly * cost.billableSeconds) / 3600) * 10_000) / 10_000);
    assert.equal(record.cost?.usd, cost.usd);
    const version = await client.registryJson<ModelVersion>(`/models/wine/versions/${record.modelVersion}`);
    assert.equal(version.cost?.usd, cost.usd);
    assert.equal(version.cost?.jobs, 1);
  });

  it('fails the run with the reason the container wrote to /opt/ml/output/failure, and registers nothing', async () => {
    const { client } = local;
    process.env[ENV.tfBackend] = 'no-such-backend';
    try {
      await client.upload(
        'datasets/wine-broken/wine.csv',
        readFileSync(new URL('../fixtures/wine.csv', import.meta.url)),
      );
      const [run] = await client.waitForRuns('wine-broken');
      assert.equal(run?.status, 'FAILED');
      assert.match(
        run.reason ?? '',
        /training job nimbus-[0-9a-f-]+-t0 failed: ConfigurationError: unknown tfjs backend "no-such-backend"/,
      );
      assert.deepEqual(await client.modelItems('wine-broken'), []);
      // A failed job is paid for too: its account is on the run.
      const [job] = (await client.registryJson<RunRecord>(`/runs/${run.runId}`)).cost?.jobs ?? [];
      assert.equal(job?.status, 'Failed');
      assert.equal(job.instanceType, DEFAULT_TRAINING_INSTANCES.sagemaker);
    } finally {
      delete process.env[ENV.tfBackend];
    }
  });
});
