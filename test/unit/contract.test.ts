import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { API } from '../../core/contract.ts';
import { KEYS } from '../../core/keys.ts';
import { executionEndReason, failureReason } from '../../core/pipeline.ts';

describe('contract', () => {
  it('parses dataset keys and model paths', () => {
    assert.deepEqual(KEYS.parseDatasetKey('datasets/iris/iris.csv'), { dataset: 'iris', file: 'iris.csv' });
    assert.equal(KEYS.parseDatasetKey('other/iris.csv'), undefined);
    assert.deepEqual(API.parseModelPath('/v1/models/iris:predict'), { model: 'iris', verb: 'predict' });
    assert.deepEqual(API.parseModelPath('/v1/models/iris'), { model: 'iris', verb: undefined });
    assert.equal(API.parseModelPath('/v2/x'), undefined);
  });

  it('turns a caught Lambda error into a reason without the stack trace', () => {
    const cause = JSON.stringify({
      errorType: 'DatasetValidationError',
      errorMessage: 'the file is empty',
      trace: ['at x'],
    });
    assert.equal(
      failureReason({ Error: 'DatasetValidationError', Cause: cause }),
      'DatasetValidationError: the file is empty',
    );
    assert.equal(failureReason({ Error: 'States.Timeout' }), 'States.Timeout');
  });

  it('says how a run ended when its execution ended it: timed out, stopped or failed, when and where', () => {
    const hours = (h: number) => h * 3_600_000;
    assert.equal(
      executionEndReason('TIMED_OUT', { took: hours(24 * 14), step: 'WaitForApproval' }),
      'the pipeline ran past its time limit after 14 days, in WaitForApproval',
    );
    assert.equal(
      executionEndReason('ABORTED', { took: 95_000, step: 'Train', error: 'x', cause: 'wrong file' }),
      'stopped after 95 s, in Train: wrong file',
    );
    assert.equal(executionEndReason('ABORTED', { took: hours(3) }), 'stopped after 3 h');
    assert.equal(
      executionEndReason('FAILED', {
        took: 600_000,
        step: 'Evaluate',
        error: 'States.Runtime',
        cause: 'The JSONPath $.model could not be found',
      }),
      'States.Runtime: The JSONPath $.model could not be found (after 10 min, in Evaluate)',
    );
    assert.ok(executionEndReason('ABORTED', { took: 0, cause: 'x'.repeat(5000) }).length <= 2001, 'capped');
  });

  it("reads a failed training job's reason from the Batch and SageMaker job descriptions", () => {
    const batch = {
      JobName: 'nimbus-1',
      Status: 'FAILED',
      StatusReason: 'Essential container in task exited',
      Container: {},
    };
    assert.equal(
      failureReason({ Error: 'States.TaskFailed', Cause: JSON.stringify(batch) }),
      'training job nimbus-1 failed: Essential container in task exited',
    );
    const sagemaker = {
      TrainingJobName: 'nimbus-2',
      TrainingJobStatus: 'Failed',
      FailureReason: 'AlgorithmError: oom',
    };
    assert.equal(
      failureReason({ Error: 'States.TaskFailed', Cause: JSON.stringify(sagemaker) }),
      'training job nimbus-2 failed: AlgorithmError: oom',
    );
    assert.ok(failureReason({ Error: 'X', Cause: 'y'.repeat(5000) }).length <= 2001);
  });
});
