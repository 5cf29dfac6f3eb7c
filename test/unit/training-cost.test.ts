/**
 * A run's cost from its training jobs' own account: a SageMaker job's billable seconds (managed spot bills
 * fewer than it trained), a Batch job's attempts at its compute environment's spot or on-demand price, the
 * run's sums over rounds, and what is left out and said so (an unpriced instance type, a job not read).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { costLine } from '../../cli/commands/runs.ts';
import { TRAINING_PRICES } from '../../core/contract.ts';
import { batchJobCost, runCost, sageMakerJobCost, versionCost } from '../../core/training-cost.ts';

const at = (iso: string) => new Date(iso);

describe('training cost', () => {
  it('prices a managed-spot SageMaker job at its billable seconds, and its on-demand figure at the seconds trained', () => {
    const job = sageMakerJobCost(0, {
      TrainingJobName: 'nimbus-run-1-t0',
      TrainingJobStatus: 'Completed',
      ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 1 },
      EnableManagedSpotTraining: true,
      TrainingTimeInSeconds: 3600,
      BillableTimeInSeconds: 1080,
      SecondaryStatusTransitions: [
        { Status: 'Starting', StartTime: at('2026-11-02T10:00:00Z'), EndTime: at('2026-11-02T10:02:00Z') },
        {
          Status: 'Training',
          StartTime: at('2026-11-02T10:02:00Z'),
          EndTime: at('2026-11-02T11:02:00Z'),
          StatusMessage: 'Training image download completed. Training in progress.',
        },
        { Status: 'Completed', StartTime: at('2026-11-02T11:02:00Z') },
      ],
    });
    assert.equal(job.platform, 'sagemaker');
    assert.equal(job.spot, true);
    assert.equal(job.billableSeconds, 1080);
    assert.equal(job.usd, 0.4224, '1,080 s at $1.408/h');
    assert.equal(job.onDemandUsd, 1.408, 'an hour at $1.408/h');
    assert.deepEqual(
      job.transitions.map((t) => [t.status, t.startedAt, t.endedAt]),
      [
        ['Starting', '2026-11-02T10:00:00.000Z', '2026-11-02T10:02:00.000Z'],
        ['Training', '2026-11-02T10:02:00.000Z', '2026-11-02T11:02:00.000Z'],
        ['Completed', '2026-11-02T11:02:00.000Z', undefined],
      ],
    );
    const cost = runCost([job]);
    assert.equal(cost.spotSavingsUsd, 0.9856);
    assert.equal(cost.pricesAsOf, TRAINING_PRICES.asOf);
    assert.match(
      costLine(cost),
      /cost \$0\.4224 \(on demand \$1\.41, spot saved 70%\) estimated: 1 job, 1080 s billed on ml\.g5\.xlarge \(spot\)/,
    );
  });

  it("prices every attempt of a Batch job (a reclaimed spot attempt too) at its compute environment's price, a minute at least", () => {
    const t0 = Date.parse('2026-11-02T10:00:00Z');
    const job = batchJobCost(
      2,
      {
        jobName: 'nimbus-run-1-t2',
        status: 'SUCCEEDED',
        createdAt: t0,
        startedAt: t0 + 60_000,
        stoppedAt: t0 + 3_660_000,
        attempts: [
          { startedAt: t0 + 60_000, stoppedAt: t0 + 70_000, statusReason: 'Host EC2 terminated' },
          { startedAt: t0 + 120_000, stoppedAt: t0 + 3_660_000 },
        ],
      },
      { type: 'SPOT', instanceTypes: ['g4dn.xlarge'] },
    );
    assert.equal(job.trainingSeconds, 10 + 3540);
    assert.equal(job.billableSeconds, 60 + 3540, 'the 10 s attempt is billed a minute');
    assert.equal(job.spot, true);
    assert.equal(job.usd, 0.2, '3,600 s at the $0.20/h spot price');
    assert.equal(job.onDemandUsd, 0.526);
    assert.deepEqual(
      job.transitions.map((t) => t.status),
      ['RUNNABLE', 'RUNNING (attempt 1)', 'RUNNING (attempt 2)'],
    );
    assert.equal(job.transitions[1]?.message, 'Host EC2 terminated');
  });

  it('sums the rounds of a search, says which instance types it has no price for, and which jobs it could not read', () => {
    const batch = (trial: number, instanceType: string, seconds: number) =>
      batchJobCost(
        trial,
        {
          jobName: `nimbus-r-t${trial}`,
          status: 'SUCCEEDED',
          attempts: [{ startedAt: 0, stoppedAt: seconds * 1000 }],
        },
        { type: 'EC2', instanceTypes: [instanceType] },
      );
    const first = runCost([batch(0, 'g4dn.xlarge', 3600), batch(1, 'g4dn.xlarge', 1800)]);
    const both = runCost([batch(2, 'x9.unknown', 600)], ['trial 3: Batch has no job abc'], first);
    assert.deepEqual(
      both.jobs.map((j) => j.trial),
      [0, 1, 2],
    );
    assert.equal(both.usd, 0.789, 'the priced jobs: 1.5 h at $0.526/h');
    assert.equal(both.spotSavingsUsd, 0);
    assert.deepEqual(both.unpriced, ['x9.unknown']);
    assert.deepEqual(both.unrecorded, ['trial 3: Batch has no job abc']);
    assert.equal(both.jobs[2]?.usd, undefined, 'never guessed');
    assert.match(costLine(both), /no price for x9\.unknown; 1 not read: trial 3: Batch has no job abc/);
    assert.deepEqual(versionCost(both), {
      usd: 0.789,
      onDemandUsd: 0.789,
      spotSavingsUsd: 0,
      currency: 'USD',
      pricesAsOf: TRAINING_PRICES.asOf,
      region: TRAINING_PRICES.region,
      unpriced: ['x9.unknown'],
      jobs: 3,
    });
    // A job seen again (a round read twice) is counted once.
    assert.equal(runCost([batch(1, 'g4dn.xlarge', 1800)], [], both).jobs.length, 3);
  });
});
