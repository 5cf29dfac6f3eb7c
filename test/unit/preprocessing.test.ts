import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baselineStatistics } from '../../core/baseline.ts';
import { chooseLabel, typedRow } from '../../core/dataset.ts';
import { DatasetValidationError } from '../../core/errors.ts';
import { regressionMetrics } from '../../core/metrics.ts';
import { decideGate } from '../../core/model-registry.ts';
import { decodeTarget, encodeLabel, fitPreprocessor, transformRow } from '../../core/preprocessor.ts';
import { stratifiedKFold, stratifiedSplit, targetStrata } from '../../core/split.ts';
import { inferSchema } from '../../core/validation/validate.ts';
import { csv, fixture, iris, irisTable, parseCsv } from './tables.ts';

describe('preprocessing', () => {
  const table = irisTable;
  const schema = inferSchema(table, chooseLabel(table.header));
  const rows = table.rows.map((row) => typedRow(schema, table.header, row));

  it('splits stratified and reproducibly by seed', () => {
    const a = stratifiedSplit(rows, (r) => String(r.species), undefined, 0);
    const b = stratifiedSplit(rows, (r) => String(r.species), undefined, 0);
    const c = stratifiedSplit(rows, (r) => String(r.species), undefined, 1);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.test, c.test);
    assert.equal(a.train.length + a.validation.length + a.test.length, 150);
    for (const label of schema.classes) {
      assert.equal(a.test.filter((r) => r.species === label).length, 10);
    }
  });

  it('standardizes with training statistics and one-hot encodes categories (unknown → zeros)', async () => {
    const s = inferSchema(
      await parseCsv(
        csv('x,c,label\n1,a,p\n2,b,q\n3,a,p\n4,b,q\n5,a,p\n6,b,q\n7,a,p\n8,b,q\n9,a,p\n10,b,q\n'),
      ),
      'label',
    );
    const pre = fitPreprocessor(s, [
      { x: 1, c: 'a', label: 'p' },
      { x: 3, c: 'b', label: 'q' },
    ]);
    assert.deepEqual(transformRow(pre, { x: 3, c: 'b' }), [1, 0, 1]);
    assert.deepEqual(transformRow(pre, { x: 1, c: 'zzz' }), [-1, 0, 0]);
    assert.deepEqual(transformRow(pre, { x: null, c: 'a' }), [0, 1, 0]);
    assert.equal(pre.width, 3);
  });

  it('records baseline statistics of the training rows', () => {
    const baseline = baselineStatistics(schema, rows);
    assert.equal(baseline.rowCount, 150);
    assert.deepEqual(baseline.label, { setosa: 50, versicolor: 50, virginica: 50 });
    const petal = baseline.numeric.petal_length;
    assert.ok(petal);
    assert.equal(petal.min, 1);
    assert.equal(petal.max, 6.9);
    assert.equal(petal.quantiles.length, 11);
  });
});

describe('regression', () => {
  const diabetes = fixture('diabetes.csv');
  it('takes a numeric label with more than 20 values for regression, unless the manifest says otherwise', async () => {
    const table = await parseCsv(diabetes);
    assert.equal(inferSchema(table, 'progression').task, 'regression');
    assert.deepEqual(inferSchema(table, 'progression').classes, []);
    assert.equal(inferSchema(table, 'sex').task, 'classification');
    const irisTable = await parseCsv(iris);
    assert.throws(
      () => inferSchema(irisTable, 'species', 'regression'),
      (error: unknown) =>
        error instanceof DatasetValidationError && /regression needs a numeric label/.test(error.message),
    );
  });

  it('scores RMSE, MAE and R² (0 for predicting the mean, 1 for perfect)', () => {
    const m = regressionMetrics([1, 2, 3, 4], [1, 2, 3, 6]);
    assert.equal(m.rmse, 1);
    assert.equal(m.mae, 0.5);
    assert.equal(regressionMetrics([1, 2, 3], [2, 2, 2]).r2, 0);
    assert.equal(regressionMetrics([1, 2, 3], [1, 2, 3]).r2, 1);
  });

  it('splits regression rows by target quintile, and standardizes the target on the training split', async () => {
    const stratum = targetStrata([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual([1, 3, 5, 7, 10].map(stratum), ['q0', 'q1', 'q2', 'q3', 'q4']);
    const table = await parseCsv(diabetes);
    const schema = inferSchema(table, 'progression');
    const rows = table.rows.map((row) => typedRow(schema, table.header, row));
    const pre = fitPreprocessor(schema, rows);
    const encoded = rows.map((row) => encodeLabel(pre, String(row.progression)));
    assert.ok(Math.abs(encoded.reduce((a, b) => a + b, 0) / encoded.length) < 1e-9);
    assert.equal(decodeTarget(pre, encodeLabel(pre, '151')), 151);
  });

  it('promotes a regressor by lower RMSE', () => {
    const v = (version: number, rmse: number) => ({ version, metrics: { rmse, r2: 0.5, mae: 1, count: 10 } });
    assert.equal(decideGate(v(2, 50), v(1, 55)).passed, true);
    assert.match(decideGate(v(2, 60), v(1, 55)).reason, /rmse 60.0000 > v1 55.0000; v1 stays/);
  });
});

describe('preprocessing options and k-fold', () => {
  const schema = {
    kind: 'tabular' as const,
    task: 'classification' as const,
    label: 'y',
    features: [
      { name: 'x', type: 'numeric' as const },
      { name: 'c', type: 'categorical' as const },
    ],
    classes: ['a', 'b'],
    rowCount: 6,
  };
  const rows = [1, 2, 3, 4, 5, 100].map((x, i) => ({ x, c: i < 4 ? 'red' : 'blue', y: i % 2 ? 'a' : 'b' }));

  it('imputes by median or most frequent, scales by min-max or robust, clips outliers to the IQR fences', () => {
    const minmax = fitPreprocessor(schema, rows, { scale: 'minmax' });
    assert.deepEqual(transformRow(minmax, { x: 100, c: 'red' }).slice(0, 1), [1]);
    assert.deepEqual(transformRow(minmax, { x: 1, c: 'red' }).slice(0, 1), [0]);
    const robust = fitPreprocessor(schema, rows, { impute: 'median', scale: 'robust', clip: 'iqr' });
    const [median] = transformRow(robust, { x: null, c: null });
    assert.equal(median, 0, 'a missing value is the median, the robust centre');
    const [clipped] = transformRow(robust, { x: 1e6, c: 'red' });
    const [fence] = transformRow(robust, { x: 100, c: 'red' });
    assert.equal(clipped, fence, 'both are clipped to the upper fence');
    assert.ok((fence as number) < 5);
    const frequent = fitPreprocessor(schema, rows, { impute: 'most-frequent' });
    assert.deepEqual(transformRow(frequent, { x: 1, c: null }).slice(1), [0, 1], 'missing colour → red');
    assert.deepEqual(transformRow(frequent, { x: 1, c: 'green' }).slice(1), [0, 0], 'unseen colour → zeros');
  });

  it('splits a large table (a spread of this many rows once overflowed the call stack)', () => {
    const items = Array.from({ length: 300_000 }, (_, i) => i);
    const split = stratifiedSplit(items, (i) => (i % 2 ? 'a' : 'b'));
    assert.equal(split.train.length + split.validation.length + split.test.length, 300_000);
    assert.equal(split.test.length, 60_000);
  });

  it('splits into k stratified folds: each item validated exactly once, classes even across folds', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ i, label: i < 20 ? 'a' : 'b' }));
    const folds = stratifiedKFold(items, (item) => item.label, 5, 1);
    assert.equal(folds.length, 5);
    const seen = folds.flatMap((f) => f.validation.map((item) => item.i)).sort((a, b) => a - b);
    assert.deepEqual(
      seen,
      items.map((item) => item.i),
    );
    for (const fold of folds) {
      assert.equal(fold.validation.filter((item) => item.label === 'a').length, 4);
      assert.equal(fold.train.length + fold.validation.length, 50);
    }
    assert.throws(() => stratifiedKFold(items, (item) => item.label, 1), RangeError);
  });
});
