/** The training budget as the synthesized stack carries it: Preprocess's environment, the Batch job's timeout. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_TRAINING_BUDGET, jobBudget, TRAINING_TIMEOUT_MARGIN_SECONDS } from '../../core/budget.ts';
import { ENV } from '../../core/contract.ts';
import { synth } from './synth.ts';

describe('the training budget of NimbusPlatform', () => {
  /** The environment variable of every function that has it (Preprocess only), and the job's timeout. */
  const budgetOf = (template: Template) => {
    const functions = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: {
          Environment: { Variables: Match.objectLike({ [ENV.trainingBudget]: Match.anyValue() }) },
        },
      }),
    );
    const [job] = Object.values(template.findResources('AWS::Batch::JobDefinition'));
    return {
      variables: functions.map((fn) => JSON.parse(fn.Properties.Environment.Variables[ENV.trainingBudget])),
      attemptSeconds: job?.Properties.Timeout?.AttemptDurationSeconds,
    };
  };

  it('gives Preprocess the default budget, and Batch jobs a timeout of an hour plus the margin, not 24 h', () => {
    const { variables, attemptSeconds } = budgetOf(synth().template());
    assert.deepEqual(variables, [DEFAULT_TRAINING_BUDGET]);
    assert.equal(attemptSeconds, jobBudget(DEFAULT_TRAINING_BUDGET).attemptSeconds);
    assert.ok(attemptSeconds < 24 * 3600);
  });

  it('carries a budget prop to Preprocess and the job definition, and refuses one out of bounds at synth', () => {
    const { variables, attemptSeconds } = budgetOf(
      synth({ trainingBudget: { minutes: 120, parameters: 2_000_000 } }).template(),
    );
    assert.deepEqual(variables, [{ minutes: 120, parameters: 2_000_000, runMinutes: 240 }]);
    assert.equal(attemptSeconds, 120 * 60 + TRAINING_TIMEOUT_MARGIN_SECONDS);
    assert.throws(
      () => synth({ trainingBudget: { minutes: 0 } }),
      /^Error: Test\/Platform: trainingBudget\.minutes must be a number from 0\.01 to 1440 \(got 0\)$/,
    );
    assert.throws(
      () => synth({ trainingBudget: { parameters: 2.5 } }),
      /trainingBudget\.parameters must be a whole/,
    );
  });
});
