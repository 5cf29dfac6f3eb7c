import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jobBudget, TRAINING_BUDGET_BOUNDS } from '../../core/budget.ts';
import {
  ENV,
  PIPELINE_DEFINITION_FILE,
  SAGEMAKER_JOB_HYPERPARAMETER,
  SUBSTITUTIONS,
  TRAINING_JOB_PREFIX,
  TRAINING_STATES,
  WAIT_FOR_APPROVAL_STATE,
} from '../../core/contract.ts';
import { FUNCTIONS, PIPELINE_FUNCTIONS } from '../../core/declaration.ts';
import { retrainRunName } from '../../core/pipeline.ts';
import { REPO_ROOT } from '../../core/repo.ts';

const validate = createRequire(import.meta.url)('asl-validator') as (
  definition: unknown,
  options?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errors: unknown[] };

interface State {
  Type: string;
  TimeoutSeconds?: number;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  Catch?: { ErrorEquals: string[]; Next: string }[];
  MaxConcurrency?: number;
  ItemProcessor?: { States: Record<string, State> };
}

const text = readFileSync(join(REPO_ROOT, PIPELINE_DEFINITION_FILE), 'utf8');
const definition = JSON.parse(text) as {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, State>;
};
/** Every state, the Map's own included, with the Map it runs in (if any). */
const states = Object.entries(definition.States).flatMap(([name, state]) => [
  { name, state, inMap: undefined as string | undefined },
  ...Object.entries(state.ItemProcessor?.States ?? {}).map(([inner, s]) => ({
    name: inner,
    state: s,
    inMap: name,
  })),
]);
const tasks = states.filter(({ state }) => state.Type === 'Task');
const byName = new Map(states.map(({ name, state }) => [name, state]));

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
    for (const name of PIPELINE_FUNCTIONS) {
      const { states, substitution } = FUNCTIONS[name].trigger;
      for (const state of states) mapped.set(state, `\${${substitution}}`);
    }
    for (const state of Object.values(TRAINING_STATES)) mapped.set(state, 'training');
    assert.deepEqual(tasks.map(({ name }) => name).sort(), [...mapped.keys()].sort());
    for (const { name, state } of tasks) {
      if (mapped.get(name) === 'training') continue;
      if (name === WAIT_FOR_APPROVAL_STATE) {
        // A callback task: the Lambda is invoked with the task token and the state waits for the answer.
        assert.equal(state.Resource, 'arn:aws:states:::lambda:invoke.waitForTaskToken');
        assert.equal(state.Parameters?.FunctionName, mapped.get(name));
        assert.equal(
          (state.Parameters?.Payload as Record<string, unknown> | undefined)?.['taskToken.$'],
          '$$.Task.Token',
        );
      } else assert.equal(state.Resource, mapped.get(name), name);
    }
  });

  it('waits for approval only after a passed gate that asks for it, and goes on to Deploy on timeout', () => {
    const choice = byName.get('NeedsApproval') as unknown as { Choices: unknown[]; Default: string };
    assert.equal(choice.Default, 'Deploy');
    assert.match(JSON.stringify(choice.Choices), /"\$\.gate\.passed".*"\$\.gate\.approval".*"manual"/);
    const wait = byName.get(WAIT_FOR_APPROVAL_STATE);
    assert.deepEqual(
      wait?.Catch?.map((c) => [c.ErrorEquals, c.Next]),
      [
        [['States.Timeout'], 'Deploy'],
        [['States.ALL'], 'MarkFailed'],
      ],
    );
    assert.equal((wait as { Next?: string } | undefined)?.Next, 'Deploy');
  });

  it('passes the job spec under the contract names to Batch and SageMaker', () => {
    const batch = byName.get(TRAINING_STATES.batch);
    const sagemaker = byName.get(TRAINING_STATES.sagemaker);
    assert.match(JSON.stringify(batch?.Parameters), new RegExp(`"Name":"${ENV.trainingJob}"`));
    assert.ok(
      Object.keys((sagemaker?.Parameters?.HyperParameters as object) ?? {}).includes(
        `${SAGEMAKER_JOB_HYPERPARAMETER}.$`,
      ),
    );
  });

  it('gives run ids that make valid execution names and, with any trial, valid SageMaker and Batch job names', () => {
    // Step Functions: at most 80 of letters, digits, - and _. SageMaker jobs: 63 of letters, digits and -.
    const execution = /^[A-Za-z0-9_-]{1,80}$/;
    const sageMaker = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
    const runIds = [randomUUID(), retrainRunName(new Date('2026-11-27T07:00:00Z'), randomUUID())];
    assert.match(runIds[1] ?? '', /^retrain-20261127070000-[0-9a-f]{8}$/);
    for (const runId of runIds) {
      assert.match(runId, execution);
      assert.match(`${TRAINING_JOB_PREFIX}${runId}-t999`, sageMaker, runId);
    }
  });

  it("names every trial's training job with the prefix IAM is scoped to, run and trial in the name", () => {
    const batch = byName.get(TRAINING_STATES.batch)?.Parameters?.['JobName.$'];
    const sagemaker = byName.get(TRAINING_STATES.sagemaker)?.Parameters?.['TrainingJobName.$'];
    for (const name of [batch, sagemaker]) {
      assert.equal(name, `States.Format('${TRAINING_JOB_PREFIX}{}-t{}', $.job.runId, $.job.trial)`);
    }
  });

  it("stops each training job at its own budget's limits, read from the job spec in the state", () => {
    const batch = byName.get(TRAINING_STATES.batch)?.Parameters as Record<string, Record<string, string>>;
    const sagemaker = byName.get(TRAINING_STATES.sagemaker)?.Parameters as Record<
      string,
      Record<string, string>
    >;
    assert.deepEqual(batch.Timeout, { 'AttemptDurationSeconds.$': '$.job.budget.attemptSeconds' });
    assert.deepEqual(sagemaker.StoppingCondition, {
      'MaxRuntimeInSeconds.$': '$.job.budget.attemptSeconds',
      'MaxWaitTimeInSeconds.$': '$.job.budget.waitSeconds',
    });
    // The paths name what Preprocess puts in every job spec (core/budget.ts JobBudget).
    const spec = { job: { budget: jobBudget({ minutes: 1, parameters: 1, runMinutes: 1 }) } };
    for (const path of [
      ...Object.values(batch.Timeout ?? {}),
      ...Object.values(sagemaker.StoppingCondition ?? {}),
    ]) {
      const value = path
        .replace(/^\$\./, '')
        .split('.')
        .reduce<unknown>((v, key) => (v as Record<string, unknown>)[key], spec);
      assert.ok(Number.isInteger(value) && (value as number) >= 60, `${path} → ${String(value)}`);
    }
    // The Task waits as long as a job of the widest budget a platform may set can take, and no longer.
    const widest = jobBudget({
      minutes: TRAINING_BUDGET_BOUNDS.minutes.max,
      parameters: TRAINING_BUDGET_BOUNDS.parameters.max,
      runMinutes: TRAINING_BUDGET_BOUNDS.runMinutes.max,
    });
    for (const name of Object.values(TRAINING_STATES)) {
      assert.equal(byName.get(name)?.TimeoutSeconds, widest.taskSeconds, name);
    }
  });

  it('runs training as a Map of trials with bounded concurrency, a failed trial caught inside the Map', () => {
    const map = states.find(({ state }) => state.Type === 'Map');
    assert.ok(map && (map.state.MaxConcurrency ?? 0) > 0, 'a Map with MaxConcurrency');
    for (const { name, inMap } of tasks.filter(({ name }) =>
      (Object.values(TRAINING_STATES) as string[]).includes(name),
    )) {
      assert.equal(inMap, map.name, name);
    }
  });

  it('gives an execution time for a round of training and the whole approval wait, within what a timer can hold', () => {
    // The longest path through one round of trials: every Task's own limit, one training job per round.
    const limit = (name: string) => byName.get(name)?.TimeoutSeconds ?? 0;
    const path = [
      'RegisterDataset',
      'Preprocess',
      'PlanTrials',
      TRAINING_STATES.batch,
      'RecordTrials',
      'Evaluate',
      'RegisterModel',
      'Gate',
      WAIT_FOR_APPROVAL_STATE,
      'Deploy',
      'MarkFailed',
    ];
    const needed = path.reduce((sum, name) => sum + limit(name), 0);
    assert.ok(limit(WAIT_FOR_APPROVAL_STATE) >= 7 * 24 * 3600, 'a week to approve');
    const execution = definition.TimeoutSeconds ?? Number.POSITIVE_INFINITY;
    assert.ok(execution > needed, `execution limit ${execution} s, one round needs ${needed} s`);
    // The local interpreter times the execution with setTimeout, which fires at once past 2^31 − 1 ms.
    assert.ok(execution * 1000 < 2 ** 31 - 1, `${execution} s overflows a timer`);
  });

  it("sends every failure except its own to MarkFailed (a trial's, to the Map's TrialFailed)", () => {
    for (const { name, state, inMap } of states) {
      if (name === 'MarkFailed' || name === WAIT_FOR_APPROVAL_STATE) continue;
      if (state.Type !== 'Task' && state.Type !== 'Map') continue;
      assert.deepEqual(
        state.Catch?.map((c) => [c.ErrorEquals, c.Next]),
        [[['States.ALL'], inMap ? 'TrialFailed' : 'MarkFailed']],
        name,
      );
    }
  });
});
