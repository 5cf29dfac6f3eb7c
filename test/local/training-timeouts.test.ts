/**
 * The hard timeouts of a training job on one machine, as Batch and SageMaker apply them: past the attempt
 * duration (Batch) or the maximum runtime (SageMaker) the training process is stopped and the job fails the
 * way the service reports it. The job here hangs on an object store that never answers, so only the timeout
 * can end it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { jobBudget } from '../../core/budget.ts';
import {
  ENV,
  SAGEMAKER_JOB_HYPERPARAMETER,
  SUBSTITUTIONS,
  type SubstitutionKey,
} from '../../core/contract.ts';
import { defaultHyperparameters } from '../../core/hyperparameters.ts';
import { failureReason, type TrainingJobSpec } from '../../core/pipeline.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { BATCH_TIMEOUT_REASON, LocalPipeline } from '../../local/pipeline.ts';

describe('training job timeouts on the local pipeline', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let endpoint = '';
  const saved = { ...process.env };
  const pipeline = new LocalPipeline({
    repoRoot: REPO_ROOT,
    // Only the training handlers run here; the definition needs valid ARNs to load.
    substitutions: Object.fromEntries(
      Object.values(SUBSTITUTIONS).map((key) => [
        key,
        'arn:aws:lambda:us-east-1:000000000000:function:unused',
      ]),
    ) as Record<SubstitutionKey, string>,
    stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:nimbus-timeouts',
  });
  const spec: TrainingJobSpec = {
    runId: 'timeouts',
    trial: 0,
    model: 'hanging',
    bucket: 'nimbus-artifacts',
    trainKey: 'artifacts/hanging/runs/timeouts/data/train.json',
    validationKey: 'artifacts/hanging/runs/timeouts/data/validation.json',
    modelPrefix: 'artifacts/hanging/runs/timeouts/model/',
    hyperparameters: defaultHyperparameters('tabular'),
    budget: jobBudget({ minutes: 1, parameters: 1000, runMinutes: 1 }),
    lineage: {
      datasetName: 'hanging',
      datasetVersion: 'v',
      datasetHash: 'h',
      datasetKey: 'datasets/hanging/x.csv',
    },
  };

  before(async () => {
    // An S3 endpoint that accepts connections and never answers.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    endpoint = `http://127.0.0.1:${address.port}`;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'NIMBUSLOCAL',
      AWS_SECRET_ACCESS_KEY: 'nimbus-local-secret',
    });
    delete process.env[ENV.trainingJob];
    delete process.env[ENV.sageMakerRoot];
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  /** The States.TaskFailed a `.sync` job ends with, and its Cause (the job's description). */
  const failure = async (job: Promise<unknown>) => {
    const error = (await job.then(
      () => assert.fail('the job should have failed'),
      (e: unknown) => e,
    )) as Error;
    assert.equal(error.name, 'States.TaskFailed');
    return { cause: JSON.parse(error.message) as Record<string, unknown>, message: error.message };
  };

  it('stops a Batch job past its attempt duration, fails it as Batch does, and does not retry it', async () => {
    const { cause, message } = await failure(
      pipeline.runBatchJob({
        JobName: 'nimbus-timeouts-t0',
        JobQueue: 'queue',
        ContainerOverrides: { Environment: [{ Name: ENV.trainingJob, Value: JSON.stringify(spec) }] },
        Timeout: { AttemptDurationSeconds: 1 },
      }),
    );
    assert.equal(cause.Status, 'FAILED');
    assert.equal(cause.StatusReason, BATCH_TIMEOUT_REASON);
    assert.deepEqual(cause.Attempts, [{ StatusReason: BATCH_TIMEOUT_REASON }], 'one attempt: not retried');
    assert.equal(
      failureReason({ Error: 'States.TaskFailed', Cause: message }),
      'training job nimbus-timeouts-t0 failed: Job attempt duration exceeded timeout',
    );
    assert.deepEqual(pipeline.runningJobs, [], 'the process is gone');
  });

  it('stops a SageMaker job past its maximum runtime: Stopped, MaxRuntimeExceeded', async () => {
    const { cause, message } = await failure(
      pipeline.runSageMakerJob({
        TrainingJobName: 'nimbus-timeouts-t1',
        HyperParameters: { [SAGEMAKER_JOB_HYPERPARAMETER]: JSON.stringify({ ...spec, trial: 1 }) },
        InputDataConfig: [],
        StoppingCondition: { MaxRuntimeInSeconds: 1 },
      }),
    );
    assert.deepEqual(cause, {
      TrainingJobName: 'nimbus-timeouts-t1',
      TrainingJobStatus: 'Stopped',
      SecondaryStatus: 'MaxRuntimeExceeded',
    });
    assert.equal(
      failureReason({ Error: 'States.TaskFailed', Cause: message }),
      'training job nimbus-timeouts-t1 stopped: MaxRuntimeExceeded',
    );
  });
});
