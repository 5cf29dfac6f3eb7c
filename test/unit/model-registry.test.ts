import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classificationMetrics, regressionMetrics } from '../../core/metrics.ts';
import {
  type AliasEntry,
  aliasAt,
  decideGate,
  entryTime,
  parseGateSpec,
  rollbackTarget,
  routeVersion,
  stickyBucket,
} from '../../core/model-registry.ts';

describe('metrics and promotion', () => {
  it('computes accuracy, macro-F1 and the confusion matrix', () => {
    const m = classificationMetrics([0, 0, 1, 1], [0, 1, 1, 1], ['a', 'b']);
    assert.equal(m.accuracy, 0.75);
    assert.deepEqual(m.confusionMatrix, [
      [1, 1],
      [0, 2],
    ]);
    assert.ok(Math.abs(m.macroF1 - (2 / 3 + 0.8) / 2) < 1e-12);
  });

  it("gives a reviewer's figures as scikit-learn computes them: per class, macro and weighted, ROC/PR AUC, log loss", () => {
    const actual = [0, 0, 1, 1, 2, 2, 2, 0];
    const probabilities = [
      [0.7, 0.2, 0.1],
      [0.4, 0.5, 0.1],
      [0.2, 0.6, 0.2],
      [0.3, 0.3, 0.4],
      [0.1, 0.2, 0.7],
      [0.2, 0.2, 0.6],
      [0.5, 0.1, 0.4],
      [0.6, 0.3, 0.1],
    ];
    const m = classificationMetrics(actual, [0, 1, 1, 2, 2, 2, 0, 0], ['a', 'b', 'c'], probabilities);
    // scikit-learn 1.9.1: precision_recall_fscore_support (zero_division=0), roc_auc_score(multi_class='ovr',
    // average='macro'), average_precision_score on the one-hot labels (average='macro'), log_loss.
    const close = (a: number | undefined, b: number, what: string) =>
      assert.ok(a !== undefined && Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);
    const expected = [
      {
        precision: 2 / 3,
        recall: 2 / 3,
        f1: 2 / 3,
        support: 3,
        rocAuc: 0.9333333333333333,
        prAuc: 0.9166666666666665,
      },
      { precision: 0.5, recall: 0.5, f1: 0.5, support: 2, rocAuc: 0.875, prAuc: 0.75 },
      {
        precision: 2 / 3,
        recall: 2 / 3,
        f1: 2 / 3,
        support: 3,
        rocAuc: 0.9666666666666667,
        prAuc: 0.9166666666666665,
      },
    ];
    for (const [c, want] of expected.entries()) {
      for (const [key, value] of Object.entries(want)) {
        close(m.perClass[c]?.[key as keyof typeof want] as number, value, `${key} of class ${c}`);
      }
    }
    close(m.macroF1, 0.611111111111111, 'macro F1');
    close(m.macroPrecision, 0.611111111111111, 'macro precision');
    close(m.weightedF1, 0.625, 'weighted F1');
    close(m.rocAuc, 0.9249999999999999, 'ROC AUC');
    close(m.prAuc, 0.861111111111111, 'PR AUC');
    close(m.logLoss, 0.6602976284062103, 'log loss');
    // Regression: mean_absolute_percentage_error, and numpy.quantile of the residuals.
    const r = regressionMetrics([3, -0.5, 2, 7, 4.2], [2.5, 0, 2, 8, 3.9]);
    close(r.mape, 0.2761904761904762, 'MAPE');
    const q = [-0.9, -0.5, 0, 0.30000000000000027, 0.46];
    for (const [i, key] of (['p5', 'p25', 'p50', 'p75', 'p95'] as const).entries()) {
      close(r.residuals[key], q[i] as number, `residual ${key}`);
    }
  });

  it('promotes when no version holds the alias or the candidate is at least as good', () => {
    const metrics = (macroF1: number) => ({ accuracy: macroF1, macroF1, count: 30 });
    assert.equal(decideGate({ version: 1, metrics: metrics(0.5) }, undefined).passed, true);
    assert.equal(
      decideGate({ version: 2, metrics: metrics(0.9) }, { version: 1, metrics: metrics(0.9) }).passed,
      true,
    );
    const worse = decideGate({ version: 3, metrics: metrics(0.8) }, { version: 2, metrics: metrics(0.9) });
    assert.equal(worse.passed, false);
    assert.match(worse.reason, /v2 stays/);
  });

  it("lets a challenger within the allowed regression through, judged by the gate's metric", () => {
    const v = (version: number, accuracy: number, macroF1: number) => ({
      version,
      metrics: { accuracy, macroF1, count: 30 },
    });
    const gate = parseGateSpec({ maxRegression: 0.02 });
    assert.equal(decideGate(v(2, 0.9, 0.89), v(1, 0.9, 0.9), gate).passed, true);
    assert.equal(decideGate(v(2, 0.9, 0.87), v(1, 0.9, 0.9), gate).passed, false);
    const byAccuracy = parseGateSpec({ metric: 'accuracy', approval: 'manual' });
    assert.equal(decideGate(v(2, 0.95, 0.5), v(1, 0.9, 0.9), byAccuracy).passed, true);
    assert.equal(byAccuracy.approval, 'manual');
    assert.throws(() => parseGateSpec({ maxRegression: -1 }), /maxRegression/);
    assert.throws(() => parseGateSpec({ metric: 'loss' }), /gate.metric/);
    assert.throws(() => parseGateSpec({ approvl: 'manual' }), /unknown field/);
  });
});

describe('aliases', () => {
  const entry = (
    revision: number,
    version: number,
    action: AliasEntry['action'] = 'promote',
    undoes?: number,
  ) =>
    ({
      model: 'm',
      kind: 'alias',
      alias: 'production',
      revision,
      action,
      state: { version },
      who: 'test',
      why: 'test',
      at: new Date(Date.UTC(2026, 0, 1, 0, revision)).toISOString(),
      ...(undoes === undefined ? {} : { undoes }),
    }) as AliasEntry;

  it('rolls back like an undo stack: each rollback goes one change further back', () => {
    const history = [entry(1, 1), entry(2, 2), entry(3, 3)];
    assert.deepEqual(rollbackTarget(history), { state: { version: 2 }, undoes: 3 });
    history.push(entry(4, 2, 'rollback', 3));
    assert.deepEqual(rollbackTarget(history), { state: { version: 1 }, undoes: 2 });
    history.push(entry(5, 1, 'rollback', 2));
    assert.equal(rollbackTarget(history), undefined, 'nothing before the first version');
    assert.equal(rollbackTarget([entry(1, 1)]), undefined);
  });

  it('answers where an alias pointed at a time, and keeps entry times increasing', () => {
    const history = [entry(1, 1), entry(2, 2), entry(3, 3)];
    assert.equal(aliasAt(history, new Date(Date.UTC(2025, 11, 31))), undefined);
    assert.equal(aliasAt(history, new Date(Date.UTC(2026, 0, 1, 0, 2, 30)))?.state.version, 2);
    assert.equal(aliasAt(history, new Date(Date.UTC(2026, 0, 1, 0, 2)))?.state.version, 2, 'inclusive');
    const later = entryTime({ at: '2030-01-01T00:00:00.000Z' }, new Date('2026-01-01T00:00:00.000Z'));
    assert.equal(later, '2030-01-01T00:00:00.001Z', 'never before the entry it follows');
  });

  it('splits traffic by weight, and keeps a sticky caller on one version', () => {
    const state = { version: 1, canary: { version: 2, weight: 0.1 }, stickyHeader: 'x-user' };
    assert.equal(
      routeVersion(state, undefined, () => 0.05),
      2,
    );
    assert.equal(
      routeVersion(state, undefined, () => 0.5),
      1,
    );
    assert.equal(routeVersion({ version: 7 }, 'anyone'), 7);
    const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const share = users.filter((u) => routeVersion(state, u) === 2).length / users.length;
    assert.ok(Math.abs(share - 0.1) < 0.02, `sticky hashing spreads callers evenly (${share})`);
    for (const u of users.slice(0, 100)) assert.equal(routeVersion(state, u), routeVersion(state, u));
    assert.ok(stickyBucket('a') >= 0 && stickyBucket('a') < 1);
  });
});
