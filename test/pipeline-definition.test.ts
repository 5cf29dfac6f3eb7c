import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ENV,
  FUNCTIONS,
  PIPELINE_DEFINITION_FILE,
  SAGEMAKER_JOB_HYPERPARAMETER,
  SUBSTITUTIONS,
  TRAINING_JOB_PREFIX,
  TRAINING_STATES,
} from '../core/contract.ts';
import { REPO_ROOT } from '../core/repo.ts';

const validate = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errors: unknown[] };

interface State {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Catch?: { ErrorEquals: string[]; Next: string }[];
}

const text = readFileSync(join(REPO_ROOT, PIPELINE_DEFINITION_FILE), 'utf8');
const definition = JSON.parse(text) as { StartAt: string; States: Record<string, State> };
const tasks = Object.entries(definition.States).filter(([, state]) => state.Type === 'Task');

describe('the training pipeline definition', () => {
  it('is valid Amazon States Language once its placeholders are filled', () => {
    const filled = text
      .replace(/\$\{[A-Za-z]+FunctionArn\}/g, 'arn:aws:lambda:us-east-1:123456789012:function:f')
      .replace(/\$\{[A-Za-z]+\}/g, 'x');
    const result = validate(JSON.parse(filled));
    assert.deepEqual(result.errors, []);
    assert.equal(result.isValid, true);
  });

  it('uses exactly the placeholders the contract names', () => {
    const used = [...new Set([...text.matchAll(/\$\{([A-Za-z]+)\}/g)].map((m) => m[1]))].sort();
    assert.deepEqual(used, Object.values(SUBSTITUTIONS).sort());
  });

  it('maps every Task state to a handler, each Lambda state to its own function', () => {
    const mapped = new Map<string, string>();
    for (const fn of Object.values(FUNCTIONS))
      for (const state of fn.states) mapped.set(state, `\${${fn.arn}}`);
    for (const state of Object.values(TRAINING_STATES)) mapped.set(state, 'training');
    assert.deepEqual(tasks.map(([name]) => name).sort(), [...mapped.keys()].sort());
    for (const [name, state] of tasks) {
      if (mapped.get(name) !== 'training') assert.equal(state.Resource, mapped.get(name), name);
    }
  });

  it('passes the job spec under the contract names to Batch and SageMaker', () => {
    const batch = definition.States[TRAINING_STATES.batch];
    const sagemaker = definition.States[TRAINING_STATES.sagemaker];
    assert.match(JSON.stringify(batch?.Parameters), new RegExp(`"Name":"${ENV.trainingJob}"`));
    assert.ok(
      Object.keys((sagemaker?.Parameters?.HyperParameters as object) ?? {}).includes(
        `${SAGEMAKER_JOB_HYPERPARAMETER}.$`,
      ),
    );
  });

  it('names both training jobs with the prefix IAM is scoped to', () => {
    const batch = definition.States[TRAINING_STATES.batch]?.Parameters?.['JobName.$'];
    const sagemaker = definition.States[TRAINING_STATES.sagemaker]?.Parameters?.['TrainingJobName.$'];
    for (const name of [batch, sagemaker]) {
      assert.equal(name, `States.Format('${TRAINING_JOB_PREFIX}{}', $.runId)`);
    }
  });

  it('sends every failure except its own to MarkFailed', () => {
    for (const [name, state] of tasks) {
      if (name === 'MarkFailed') continue;
      assert.deepEqual(
        state.Catch?.map((c) => [c.ErrorEquals, c.Next]),
        [[['States.ALL'], 'MarkFailed']],
        name,
      );
    }
  });
});
