/** Cross-validation's pure parts: the fold plan, the summary, trial scores, the manifest field and the gate. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  crossValidatedScore,
  foldPlan,
  parseValidationSpec,
  subset,
  summarizeFolds,
} from '../../core/cross-validation.ts';
import { parseManifest } from '../../core/manifest.ts';
import { decideGate } from '../../core/model-registry.ts';

describe('cross-validation', () => {
  it('cuts the training split into stratified folds: every row scored once, each class spread evenly', () => {
    const labels = [...Array(30).fill(0), ...Array(12).fill(1), ...Array(6).fill(2)] as number[];
    const plan = foldPlan(labels, 3, 5);
    assert.equal(plan.length, 3);
    const scored = plan.flatMap((fold) => fold.validation).sort((a, b) => a - b);
    assert.deepEqual(
      scored,
      labels.map((_, i) => i),
    );
    for (const fold of plan) {
      assert.equal(fold.train.length + fold.validation.length, labels.length);
      assert.ok(!fold.train.some((i) => fold.validation.includes(i)));
      const counts = [0, 1, 2].map((c) => fold.validation.filter((i) => labels[i] === c).length);
      assert.deepEqual(counts, [10, 4, 2]);
    }
    assert.deepEqual(foldPlan(labels, 3, 5), plan, 'seeded');
    // A regressor's folds are stratified by target quintile.
    const targets = Array.from({ length: 50 }, (_, i) => i / 10);
    for (const fold of foldPlan(targets, 5, 1, true)) {
      const low = fold.validation.filter((i) => (targets[i] as number) < 1).length;
      assert.equal(low, 2, 'each fold has its share of the lowest fifth');
    }
    const data = { x: Float32Array.from([0, 1, 10, 11, 20, 21]), labels: [0, 1, 2] };
    assert.deepEqual(subset(data, [2, 0], 2), { x: Float32Array.from([20, 21, 0, 1]), labels: [2, 0] });
  });

  it("summarizes the folds by each figure's mean and sd (numpy's std), and scores a trial by them", () => {
    const summary = summarizeFolds(
      [
        { loss: 0.5, accuracy: 0.9 },
        { loss: 0.3, accuracy: 0.8 },
        { loss: 0.4, accuracy: 1, rocAuc: 1 },
      ],
      90,
    );
    assert.equal(summary.folds, 3);
    assert.ok(Math.abs((summary.mean.loss as number) - 0.4) < 1e-12);
    // numpy.std([0.9, 0.8, 1.0]) = 0.08164965809277258
    assert.ok(Math.abs((summary.sd.accuracy as number) - 0.08164965809277258) < 1e-12);
    assert.equal(summary.mean.rocAuc, undefined, 'a figure one fold lacks is left out');
    assert.equal(crossValidatedScore(summary, 'validationLoss'), summary.mean.loss);
    assert.equal(crossValidatedScore(summary, 'validationAccuracy'), summary.mean.accuracy);
    assert.equal(crossValidatedScore(undefined, 'validationLoss'), undefined);
  });

  it('is asked for by validation.folds, 2 to 10, and the gate may compare its means', () => {
    assert.deepEqual(parseManifest({ validation: { folds: 5 } }).validation, { folds: 5 });
    assert.deepEqual(parseValidationSpec({ folds: 10 }), { folds: 10 });
    assert.throws(
      () => parseManifest({ validation: { folds: 1 } }),
      /validation.folds must be a whole number from 2 to 10 \(got 1\)/,
    );
    assert.throws(
      () => parseManifest({ validation: { folds: 3, shuffle: true } }),
      /unknown field\(s\) shuffle/,
    );
    assert.throws(() => parseManifest({ validation: 5 }), /"validation" must be an object/);
    assert.throws(() => parseManifest({ gate: { on: 'cv' } }), /set "validation": \{ "folds": k \} too/);
    assert.throws(() => parseManifest({ gate: { on: 'train' } }), /"gate.on" must be "test" or "cv"/);

    const version = (v: number, test: number, cv?: number) => ({
      version: v,
      metrics: {
        count: 30,
        macroF1: test,
        ...(cv === undefined
          ? {}
          : { crossValidation: { folds: 5, mean: { macroF1: cv }, sd: { macroF1: 0.01 } } }),
      },
    });
    const gate = { maxRegression: 0, approval: 'auto' as const, on: 'cv' as const };
    // On the test split v2 is worse; on the folds' means it is better: the gate takes the means.
    const decision = decideGate(version(2, 0.9, 0.96), version(1, 0.95, 0.94), gate);
    assert.equal(decision.passed, true);
    assert.match(decision.reason, /macroF1 0.9600 >= v1 0.9400 \(cross-validated means, 5 folds\)/);
    const fallback = decideGate(version(2, 0.9, 0.96), version(1, 0.95), gate);
    assert.equal(fallback.passed, false);
    assert.match(fallback.reason, /on the test split: v1 has no cross-validation/);
    assert.equal(
      decideGate(version(2, 0.9, 0.96), version(1, 0.95, 0.94)).passed,
      false,
      'default: the test split',
    );
  });
});
