/**
 * Checkpoints: a training job killed mid-run (as a reclaimed spot instance kills a container) is started
 * again by the job's retry strategy and resumes from its last epoch checkpoint; the run's record says so.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { KEYS } from '../../core/keys.ts';
import type { TrainingCard } from '../../core/pipeline.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { localPlatformFixture } from '../helpers.ts';

const IRIS = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'));

describe('training checkpoints', () => {
  const local = localPlatformFixture();

  it('resumes a killed training job from its last checkpoint and records it on the run', async () => {
    const { client, platform } = local;
    let killedAt: number | undefined;
    const events: string[] = [];
    platform.pipeline.on('training', (event) => {
      events.push(event.event);
      if (
        event.event === 'epoch' &&
        event.epoch === 5 &&
        killedAt === undefined &&
        typeof event.pid === 'number'
      ) {
        killedAt = 10;
        process.kill(event.pid, 'SIGKILL');
      }
    });
    await client.upload('datasets/flowers/dataset.json', JSON.stringify({ hyperparameters: { epochs: 30 } }));
    await client.upload('datasets/flowers/iris.csv', IRIS);
    const [run] = await client.waitForRuns('flowers');
    assert.equal(run?.status, 'SUCCEEDED', run?.reason);
    assert.equal(killedAt, 10, 'the job was killed after epoch 10');
    assert.deepEqual(
      events.filter((e) => e === 'started' || e === 'resumed' || e === 'finished'),
      ['started', 'started', 'resumed', 'finished'],
    );
    // Iris epochs are a few milliseconds: checkpoints are spaced to cost at most ~10% of training, so the last
    // one before the kill is from epoch 10 or earlier (the first epoch's always exists).
    const resumedFrom = run.training?.resumedFromEpoch ?? 0;
    assert.ok(resumedFrom >= 1 && resumedFrom <= 10, `resumed from epoch ${resumedFrom}`);
    assert.equal(run.training?.epochs, 30);

    // One history across both attempts: every epoch once, in order.
    const card = await client.artifactJson<TrainingCard>(
      `${KEYS.modelPrefix('flowers', run.runId)}card.json`,
    );
    assert.deepEqual(
      card.history.map((log) => log.epoch),
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    assert.equal(card.training.resumedFromEpoch, resumedFrom);
    assert.ok((run.metrics?.accuracy ?? 0) >= 0.9, `accuracy ${run.metrics?.accuracy}`);
    // Its model saved, the job kept none of its checkpoints (each went once the next was saved).
    const left = await client.s3.send(
      new ListObjectsV2Command({
        Bucket: client.endpoints.artifactsBucket,
        Prefix: KEYS.checkpointPrefix('flowers', run.runId),
      }),
    );
    assert.equal(left.KeyCount ?? 0, 0, JSON.stringify((left.Contents ?? []).map((o) => o.Key)));
  });
});
