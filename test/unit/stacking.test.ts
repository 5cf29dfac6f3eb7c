/** Stacking: the meta-models' fits (checked against numpy), what they learn that an average cannot, serving. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combinePredictions } from '../../core/ensemble.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import { defaultHyperparameters } from '../../core/hyperparameters.ts';
import { argmax } from '../../core/metrics.ts';
import { createRandom, type Random } from '../../core/random.ts';
import { parseSearchSpec } from '../../core/search-spec.ts';
import { fitStack, StackingError, stackPredict } from '../../core/stacking.ts';

/** Two members' class probabilities for ten rows, and the rows' classes. */
const members = [
  [
    [0.7, 0.2, 0.1],
    [0.6, 0.3, 0.1],
    [0.2, 0.5, 0.3],
    [0.1, 0.8, 0.1],
    [0.3, 0.3, 0.4],
    [0.1, 0.2, 0.7],
    [0.5, 0.4, 0.1],
    [0.2, 0.2, 0.6],
    [0.4, 0.5, 0.1],
    [0.3, 0.1, 0.6],
  ],
  [
    [0.5, 0.4, 0.1],
    [0.2, 0.7, 0.1],
    [0.1, 0.6, 0.3],
    [0.3, 0.4, 0.3],
    [0.2, 0.2, 0.6],
    [0.1, 0.1, 0.8],
    [0.6, 0.2, 0.2],
    [0.4, 0.3, 0.3],
    [0.1, 0.8, 0.1],
    [0.2, 0.3, 0.5],
  ],
];
const labels = [0, 1, 1, 1, 2, 2, 0, 2, 0, 2];

function close(
  actual: readonly number[],
  expected: readonly number[],
  tolerance: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, what);
  for (const [i, v] of actual.entries()) {
    assert.ok(Math.abs(v - (expected[i] as number)) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`);
  }
}

function gaussian(random: Random): number {
  return Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
}

describe('stacking meta-models', () => {
  it('logistic: the coefficients numpy finds by full Newton on the same objective', () => {
    // numpy 2.4: θ (3 classes × [6 features, intercept]) from 0 by θ −= H⁻¹∇ until the step is below 1e-14,
    // where f = Σᵢ −log softmax(θ x̃ᵢ)_yᵢ + ½‖θ‖² and H = Σᵢ (diag pᵢ − pᵢpᵢᵀ) ⊗ x̃ᵢx̃ᵢᵀ + I.
    const model = fitStack('logistic', members, labels, 1);
    assert.equal(model.kind, 'logistic');
    assert.equal(model.width, 3);
    assert.equal(model.rows, 10);
    const numpy = [
      [0.4096671393, -0.0102041568, -0.4493826603, 0.2898522607, 0.0753907535, -0.4151626919],
      [-0.1621662089, 0.4021255722, -0.3041216025, -0.2098050182, 0.3339517079, -0.1883089289],
      [-0.2475009304, -0.3919214154, 0.7535042628, -0.0800472424, -0.4093424613, 0.6034716208],
    ];
    for (const [k, row] of numpy.entries()) {
      close(model.coefficients[k] as number[], row, 1e-7, `class ${k}`);
    }
    close(model.intercepts, [-0.0499196778, -0.0641622392, 0.114081917], 1e-7, 'intercepts');
    // Its outputs are probabilities.
    for (const p of stackPredict(model, members)) {
      assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    }
  });

  it('ridge: the closed form numpy solves, intercept unpenalised', () => {
    const a = [[0.4], [-1.0], [0.1], [1.8], [-0.2], [1.2], [-1.7], [0.8], [0.3], [0.5]];
    const b = [[0.6], [-1.5], [0.5], [2.4], [-0.9], [0.4], [-2.2], [1.5], [-0.3], [1.0]];
    const y = [0.5, -1.2, 0.3, 2.1, -0.4, 0.9, -2.0, 1.1, 0.0, 0.7];
    // numpy: w = solve(XcᵀXc + αI, Xcᵀyc), b = ȳ − w·x̄.
    const one = fitStack('ridge', [a, b], y, 1);
    close(one.coefficients[0] as number[], [0.4916539188, 0.4671555836], 1e-9, 'α = 1');
    close(one.intercepts, [0.0217628003], 1e-9, 'α = 1 intercept');
    const tenth = fitStack('ridge', [a, b], y, 0.1);
    close(tenth.coefficients[0] as number[], [0.5994911373, 0.4189288462], 1e-9, 'α = 0.1');
    close(tenth.intercepts, [0.0052726229], 1e-9, 'α = 0.1 intercept');
  });

  /**
   * Rows of 3 classes and two members: one right with probability ~0.6, one that confidently names the next
   * class along (informative, but its labels are off by one) — averaging them follows the confident one.
   */
  function shiftedMembers(rows: number, seed: number) {
    const random = createRandom(seed);
    const y = Array.from({ length: rows }, () => Math.floor(random() * 3));
    const noisy = (probabilities: number[]) => {
      const raw = probabilities.map((p) => Math.max(1e-3, p + 0.1 * gaussian(random)));
      const sum = raw.reduce((s, v) => s + v, 0);
      return raw.map((v) => v / sum);
    };
    const honest = y.map((c) => noisy([0, 1, 2].map((k) => (k === c ? 0.6 : 0.2))));
    const shifted = y.map((c) => noisy([0, 1, 2].map((k) => (k === (c + 1) % 3 ? 0.9 : 0.05))));
    return { y, members: [honest, shifted] };
  }

  const accuracy = (outputs: readonly number[][], y: readonly number[]) =>
    outputs.filter((p, i) => argmax(p) === y[i]).length / y.length;

  it('classification: learns what an average cannot — better on rows it did not fit', () => {
    const fit = shiftedMembers(60, 1);
    const heldOut = shiftedMembers(300, 2);
    const stack = fitStack('logistic', fit.members, fit.y, 1);
    const stacked = accuracy(combinePredictions({ method: 'stack', stack }, heldOut.members), heldOut.y);
    const averaged = accuracy(combinePredictions({ method: 'average' }, heldOut.members), heldOut.y);
    assert.ok(stacked >= 0.95, `stacked ${stacked}`);
    assert.ok(stacked > averaged + 0.3, `stacked ${stacked} vs averaged ${averaged}`);
  });

  it('regression: ridge undoes members’ scale and offset that an average keeps', () => {
    const make = (rows: number, seed: number) => {
      const random = createRandom(seed);
      const y = Array.from({ length: rows }, () => gaussian(random));
      return {
        y,
        members: [
          y.map((v) => [2 * v + 0.1 * gaussian(random)]),
          y.map((v) => [v + 1 + 0.3 * gaussian(random)]),
        ],
      };
    };
    const fit = make(80, 3);
    const heldOut = make(200, 4);
    const stack = fitStack('ridge', fit.members, fit.y, 1);
    const rmse = (outputs: readonly number[][]) =>
      Math.sqrt(
        outputs.reduce((s, p, i) => s + ((p[0] as number) - (heldOut.y[i] as number)) ** 2, 0) /
          heldOut.y.length,
      );
    const stacked = rmse(combinePredictions({ method: 'stack', stack }, heldOut.members));
    const averaged = rmse(combinePredictions({ method: 'average' }, heldOut.members));
    assert.ok(stacked < 0.1, `stacked RMSE ${stacked}`);
    assert.ok(stacked < averaged / 5, `stacked ${stacked} vs averaged ${averaged}`);
  });

  it('refuses a stack without its meta-model, or members that are not the ones it was fitted on', () => {
    const stack = fitStack('logistic', members, labels, 1);
    assert.throws(() => combinePredictions({ method: 'stack' }, members), StackingError);
    assert.throws(
      () => stackPredict(stack, [members[0] as number[][]]),
      /takes 2 members of 3 outputs; got 1 of 3/,
    );
    assert.throws(() => fitStack('logistic', members, [0, 1, 1, 1, 2, 2, 0, 2, 0, 3], 1), /label 3/);
    assert.throws(() => fitStack('ridge', [[], []], [], 1), StackingError);
  });
});

describe('stack ensembles in a search spec', () => {
  const mlp = defaultHyperparameters('tabular');
  const space = { dropout: { uniform: [0, 0.5] } };
  const invalid = (pattern: RegExp) => (error: unknown) =>
    error instanceof DatasetValidationError && pattern.test(error.message);

  it('takes method stack with a regularization (default 1), for a classifier and a regressor', () => {
    assert.deepEqual(parseSearchSpec({ ensemble: { size: 3, method: 'stack' }, space }, mlp).ensemble, {
      size: 3,
      method: 'stack',
      regularization: 1,
    });
    const regression = parseSearchSpec(
      { ensemble: { size: 2, method: 'stack', regularization: 0.5 }, space },
      mlp,
      'regression',
    );
    assert.equal(regression.ensemble?.regularization, 0.5);
  });

  it('names the field of a bad one', () => {
    assert.throws(
      () => parseSearchSpec({ ensemble: { size: 2, method: 'blend' }, space }, mlp),
      invalid(/ensemble.method must be average, vote or stack/),
    );
    assert.throws(
      () => parseSearchSpec({ ensemble: { size: 2, method: 'stack', regularization: 0 }, space }, mlp),
      invalid(
        /^manifest search: ensemble.regularization must be a number from 0.000001 to 1000000 \(got 0\)$/,
      ),
    );
    assert.throws(
      () => parseSearchSpec({ ensemble: { size: 2, regularization: 2 }, space }, mlp),
      invalid(/ensemble.regularization is the stacking meta-model's: it needs ensemble.method stack/),
    );
  });
});
