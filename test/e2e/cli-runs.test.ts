/**
 * The `nimbus` CLI's commands that train, as a person or a script runs them: a child process per command
 * (asynchronous: the emulators run in this process) against a local platform of its own on free ports — uploads
 * watched to their end, a run stopped, a failed run retried — each on a dataset of its own. Deadlines are
 * generous: a busy machine is slow, not wrong. The commands that read and change the registry: cli.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { EXIT } from '../../cli/output.ts';
import type { RunRecord } from '../../core/api-types.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { writeEndpointsFile } from '../../local/endpoints.ts';
import type { TrainingEvent } from '../../local/pipeline.ts';
import { localPlatformFixture } from '../helpers.ts';
import { expectExit, nimbus } from '../nimbus-cli.ts';

const IRIS = join(REPO_ROOT, 'examples', 'iris.csv');

describe('nimbus CLI against a local platform', () => {
  const local = localPlatformFixture();
  const dir = mkdtempSync(join(tmpdir(), 'nimbus-cli-'));
  const endpointsFile = join(dir, 'endpoints.json');
  const cli = (...args: string[]) => nimbus(['--endpoints-file', endpointsFile, ...args]);
  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse(expectExit(await cli('--json', ...args), 0).stdout) as T;

  before(() => writeEndpointsFile(endpointsFile, local.platform.endpoints));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uploads a CSV (CRLF), watches its run to success with progress on stderr, and a second with --watch', async () => {
    // iris as a file of its own name: the dataset `petals`.
    const petals = join(dir, 'petals.csv');
    writeFileSync(petals, readFileSync(IRIS));
    const upload = await json<{ key: string; version: string; runId: string; newRun: boolean }>(
      'datasets',
      'upload',
      petals,
    );
    assert.equal(upload.key, 'datasets/petals/petals.csv');
    assert.equal(upload.newRun, true);
    assert.match(upload.version, /^[0-9a-f]{16}$/);
    const first = upload.runId;

    const watched = expectExit(await cli('runs', 'watch', first), 0);
    for (const step of ['RegisterDataset', 'Preprocess', 'Train', 'Evaluate', 'RegisterModel', 'Deploy']) {
      assert.match(watched.stderr, new RegExp(`run ${first.slice(0, 8)}  ${step}\\n`));
    }
    assert.match(watched.stderr, /epoch \d+\/120/);
    assert.match(watched.stderr, /SUCCEEDED/);
    assert.match(
      watched.stdout,
      new RegExp(`run ${first} SUCCEEDED in .+: petals v1, serving as production`),
    );
    // Its training job's cost, from the emulated Batch API's account of the job and its compute environment.
    assert.match(
      watched.stdout,
      /\n {2}cost \$\d+\.\d{4} estimated: 1 job, \d+ s billed on g4dn\.xlarge \(us-east-1 prices of \d{4}-\d{2}-\d{2}\)\n/,
    );
    const shown = expectExit(await cli('runs', 'show', first), 0);
    assert.match(shown.stdout, new RegExp(`^run ${first} {2}SUCCEEDED\n {2}dataset petals@[0-9a-f]{16}`));
    assert.match(shown.stdout, /\n {4}Preprocess +\d{4}-\d{2}-\d{2} [\d:]{8} {2}[\d.]+s\n/);
    assert.match(shown.stdout, /\n {2}test accuracy /);
    assert.match(shown.stdout, /cost \$\d+\.\d{4} estimated: 1 job/);
    assert.match(
      shown.stdout,
      new RegExp(
        `\\n {4}trial 0 {2}nimbus-${first}-t0 {2}SUCCEEDED {2}g4dn\\.xlarge {2}\\d+ s trained, \\d+ s billed {2}\\$\\d+\\.\\d{4}`,
      ),
    );

    const again = expectExit(await cli('datasets', 'upload', petals), 0);
    assert.match(again.stdout, new RegExp(`registered by run ${first}: no new run`));

    // The same rows in another order: a new dataset version, a second model version, followed with --watch.
    const variant = join(dir, 'petals-reordered.csv');
    const [header, ...rows] = readFileSync(IRIS, 'utf8').trim().split(/\r?\n/);
    writeFileSync(variant, `${[header, ...rows.slice(70), ...rows.slice(0, 70)].join('\r\n')}\r\n`);
    const second = expectExit(await cli('datasets', 'upload', variant, '--name', 'petals', '--watch'), 0);
    assert.match(
      second.stderr,
      /uploaded s3:\/\/nimbus-datasets\/datasets\/petals\/petals-reordered\.csv: run \S+ started/,
    );
    assert.match(second.stderr, /epoch 120\/120/);
    assert.match(second.stdout, /SUCCEEDED in .+: petals v2/);
  });

  it('stops a running run: its training job ends, and the run is FAILED with the reason', async () => {
    const { client, platform } = local;
    // A job that would train for its whole budget: 10,000 epochs of one-row batches, no early stopping.
    const training = new Promise<{ runId: string; pid: number }>((resolve) => {
      const listener = (event: TrainingEvent) => {
        if (event.event !== 'epoch' || typeof event.pid !== 'number') return;
        platform.pipeline.off('training', listener);
        resolve({ runId: event.runId, pid: event.pid });
      };
      platform.pipeline.on('training', listener);
    });
    await client.upload(
      'datasets/endless/dataset.json',
      JSON.stringify({ hyperparameters: { epochs: 10_000, batchSize: 1, patience: 0 } }),
    );
    await client.upload('datasets/endless/iris.csv', readFileSync(IRIS, 'utf8'));
    const { runId: stopped, pid } = await training;

    const stop = expectExit(await cli('runs', 'stop', stopped, '--reason', 'wrong file'), 0);
    assert.match(
      stop.stdout,
      new RegExp(`run ${stopped} FAILED: stopped after [\\d.]+ (s|min), in \\w+: wrong file \\(.+\\)`),
    );
    const run = await client.registryJson<RunRecord>(`/runs/${stopped}`);
    assert.equal(run.status, 'FAILED');
    assert.match(run.reason ?? '', /wrong file/);
    assert.ok(run.finishedAt, 'when it ended');
    // The training process was stopped with its execution, not left to run its 10,000 epochs.
    const deadline = Date.now() + 60_000;
    while (isAlive(pid)) {
      assert.ok(Date.now() < deadline, `training process ${pid} still runs`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // … and not started again, as a job stopped from outside would be while its execution runs: once the
    // execution has ended, no job of it starts.
    await platform.pipeline.idle();
    assert.deepEqual(
      platform.pipeline.runningJobs.filter((job) => job.includes(stopped)),
      [],
      'no training job of the stopped run',
    );
    assert.equal((await client.registry('/models/endless')).status, 404, 'no model registered');

    const again = await cli('runs', 'stop', stopped);
    expectExit(again, EXIT.failed);
    assert.match(again.stderr, /already ended FAILED/);
    expectExit(await cli('runs', 'stop', 'no-such-run'), EXIT.notFound);

    // A run that says RUNNING though its execution is gone (it ended without a word): ended by the stop.
    const now = new Date().toISOString();
    await client.db.send(
      new PutCommand({
        TableName: client.endpoints.tables.runs,
        Item: {
          runId: 'stale',
          status: 'RUNNING',
          dataset: 'endless',
          datasetKey: 'datasets/endless/x.csv',
          startedAt: now,
          updatedAt: now,
        },
      }),
    );
    const stale = expectExit(await cli('runs', 'stop', 'stale', '--reason', 'cleanup'), 0);
    assert.match(
      stale.stdout,
      /run stale FAILED: stopped: its execution had already ended \(it no longer exists\): cleanup/,
    );
  });

  it('uploads again bytes whose runs all failed as a new run, and retries a failed run once', async () => {
    const { client } = local;
    await client.upload(
      'datasets/cli-retry/dataset.json',
      JSON.stringify({ hyperparameters: { batchSize: 0 } }),
    );
    const file = join(dir, 'iris.csv');
    writeFileSync(file, readFileSync(IRIS));
    const first = await json<{ runId: string; newRun: boolean }>(
      'datasets',
      'upload',
      file,
      '--name',
      'cli-retry',
    );
    assert.equal(first.newRun, true);
    const [failedFirst] = await client.waitForRuns('cli-retry');
    assert.equal(failedFirst?.status, 'FAILED');
    // The same bytes again: the only run on them failed, so the upload starts (and names) a new one.
    const again = await json<{ runId: string; newRun: boolean }>(
      'datasets',
      'upload',
      file,
      '--name',
      'cli-retry',
    );
    assert.equal(again.newRun, true);
    assert.notEqual(again.runId, first.runId);
    const failed = (await client.waitForRuns('cli-retry', 2)).find((r) => r.runId === again.runId);
    assert.equal(failed?.status, 'FAILED');
    await client.upload(
      'datasets/cli-retry/dataset.json',
      JSON.stringify({ hyperparameters: { epochs: 10 } }),
    );
    const retried = expectExit(
      await cli('runs', 'retry', failed.runId, '--reason', 'manifest fixed', '--watch'),
      0,
    );
    assert.match(
      retried.stdout,
      new RegExp(`^run (retry-\\S+) retries ${failed.runId} \\(cli-retry\\)`, 'm'),
    );
    assert.match(retried.stdout, /run retry-\S+ SUCCEEDED in .+: cli-retry v1, serving as production/);
    const twice = await cli('runs', 'retry', failed.runId);
    expectExit(twice, EXIT.failed);
    assert.match(twice.stderr, /already retried by run retry-/);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
