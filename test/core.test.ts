import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { baselineStatistics } from '../core/baseline.ts';
import { API } from '../core/contract.ts';
import { chooseLabel, contentHash, typedRow } from '../core/dataset.ts';
import { DatasetValidationError, InvalidRequestError } from '../core/errors.ts';
import { KEYS } from '../core/keys.ts';
import { classificationMetrics, regressionMetrics } from '../core/metrics.ts';
import {
  type AliasEntry,
  aliasAt,
  decideGate,
  entryTime,
  parseGateSpec,
  rollbackTarget,
  routeVersion,
  stickyBucket,
} from '../core/model-registry.ts';
import { executionEndReason, failureReason } from '../core/pipeline.ts';
import { decodeTarget, encodeLabel, fitPreprocessor, transformRow } from '../core/preprocessor.ts';
import { inputSchema, parsePredictRequest, toPredictions } from '../core/serving.ts';
import { stratifiedKFold, stratifiedSplit, targetStrata } from '../core/split.ts';
import { bytesOf } from '../core/table-reader.ts';
import { inferSchema, readTable } from '../core/validation/validate.ts';

/** A CSV's table, read as the platform reads it. */
const parseCsv = (bytes: Uint8Array) => readTable(bytesOf(bytes));

const csv = (text: string) => new TextEncoder().encode(text);
const iris = readFileSync(new URL('../examples/iris.csv', import.meta.url));
const irisTable = await parseCsv(iris);

async function rejects(text: string, pattern: RegExp) {
  await assert.rejects(
    async () => {
      const table = await await parseCsv(csv(text));
      inferSchema(table, chooseLabel(table.header));
    },
    (error: unknown) => error instanceof DatasetValidationError && pattern.test(error.message),
  );
}

describe('dataset validation', () => {
  it('reads iris: 150 rows, four numeric features, label "species" (the last column)', async () => {
    const table = await parseCsv(iris);
    const schema = inferSchema(table, chooseLabel(table.header));
    assert.equal(schema.rowCount, 150);
    assert.equal(schema.label, 'species');
    assert.deepEqual(schema.classes, ['setosa', 'versicolor', 'virginica']);
    assert.deepEqual(
      schema.features.map((f) => f.type),
      ['numeric', 'numeric', 'numeric', 'numeric'],
    );
  });

  it('chooses the manifest label, else a column named label/target/class, else the last column', () => {
    assert.equal(chooseLabel(['a', 'b', 'c'], { label: 'b' }), 'b');
    assert.equal(chooseLabel(['Target', 'b', 'c']), 'Target');
    assert.equal(chooseLabel(['a', 'b', 'c']), 'c');
    assert.throws(() => chooseLabel(['a', 'b'], { label: 'z' }), /"z", which is not in the header/);
  });

  it('infers categorical columns and handles a BOM and CRLF line ends', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `${i},${i % 2 ? 'red' : 'blue'},${i % 3 ? 'y' : 'n'}`);
    const table = await parseCsv(csv(`\uFEFFsize,colour,label\r\n${rows.join('\r\n')}\r\n`));
    const schema = inferSchema(table, chooseLabel(table.header));
    assert.deepEqual(schema.features, [
      { name: 'size', type: 'numeric' },
      { name: 'colour', type: 'categorical' },
    ]);
  });

  it('reads a file whose lines end in CRLF, LF and CR mixed (edited on two systems)', async () => {
    const rows = Array.from({ length: 12 }, (_, i) => `${i},${i % 2 ? 'red' : 'blue'},${i % 3 ? 'y' : 'n'}`);
    const ends = ['\r\n', '\n', '\r'];
    const text = `size,colour,label\r\n${rows.map((r, i) => `${r}${ends[i % 3]}`).join('')}`;
    const table = await parseCsv(csv(text));
    assert.equal(table.rows.length, 12);
    assert.ok(table.rows.every((row) => row.length === 3));
  });

  it('rejects an empty file, a header without rows, and a header of numbers', async () => {
    await rejects('', /empty/);
    await rejects('a,b,c\n', /no data rows/);
    await rejects('1,2,3\n4,5,6\n', /looks like data, not a header/);
  });

  it('rejects rows with the wrong number of fields and names their line numbers', async () => {
    await rejects('a,b,label\n1,2,x\n1,2\n1,2,y,9\n', /row 3 has 2 fields.*row 4 has 4 fields/);
  });

  it('rejects duplicate and blank column names', async () => {
    await rejects('a,a,label\n1,2,x\n', /names column "a" twice/);
    await rejects('a,,label\n1,2,x\n', /header column 2 has no name/);
  });

  it('rejects binary or non-UTF-8 bytes', async () => {
    await assert.rejects(
      () => parseCsv(new Uint8Array([0x61, 0x2c, 0x62, 0x0a, 0xff, 0xfe, 0x00, 0x01])),
      /not UTF-8 text/,
    );
  });

  it('rejects a single class, too few rows, missing labels and an empty column', async () => {
    const rows = (n: number, f: (i: number) => string) =>
      Array.from({ length: n }, (_, i) => f(i)).join('\n');
    await rejects(`x,label\n${rows(20, (i) => `${i},a`)}`, /1 distinct value/);
    await rejects(`x,label\n${rows(5, (i) => `${i},${i % 2}`)}`, /has 5 rows; at least 10/);
    await rejects(
      `x,label\n${rows(20, (i) => `${i},${i === 4 ? '' : i % 2}`)}`,
      /missing in 1 row\(s\): rows 6/,
    );
    await rejects(`x,y,label\n${rows(20, (i) => `${i},,${i % 2}`)}`, /column "y" has no values/);
    await rejects(`x,label\n${rows(20, (i) => `${i},${i === 0 ? 'rare' : i % 2}`)}`, /"rare" \(1 rows\)/);
  });

  it('hashes content, not names: the same bytes give the same version', () => {
    assert.equal(contentHash(csv('a,b\n1,2\n')), contentHash(csv('a,b\n1,2\n')));
    assert.notEqual(contentHash(csv('a,b\n1,2\n')), contentHash(csv('a,b\n1,3\n')));
  });
});

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
  const diabetes = readFileSync(new URL('fixtures/diabetes.csv', import.meta.url));
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

describe('predict requests', () => {
  it('refuses a category the model never saw when the rule says so, and accepts it when the rule is zeros', async () => {
    const schema = (unknown: 'error' | 'zeros') => ({
      kind: 'tabular' as const,
      task: 'classification' as const,
      label: 'y',
      classes: ['a', 'b'],
      features: [{ name: 'colour', type: 'categorical' as const, categories: ['blue', 'red'], unknown }],
    });
    const body = JSON.stringify({ instances: [{ colour: 'red' }, { colour: 'green' }] });
    await assert.rejects(
      () => parsePredictRequest(body, schema('error')),
      (error: InvalidRequestError) =>
        /instances\[1\]\.colour is the string "green", a category this model never saw \(it knows "blue", "red"\)/.test(
          error.message,
        ) &&
        error.field === 'colour' &&
        error.instance === 1,
    );
    assert.equal((await parsePredictRequest(body, schema('zeros')))[1]?.colour, 'green');
    const nan = '{"instances": [{"colour": NaN}], "note": "NaN in a string stays text"}';
    await assert.rejects(() => parsePredictRequest(nan, schema('zeros')), /colour must be a string, got NaN/);
  });

  const table = irisTable;
  const schema = inferSchema(table, chooseLabel(table.header));
  const pre = fitPreprocessor(
    schema,
    table.rows.map((row) => typedRow(schema, table.header, row)),
  );
  const input = inputSchema(schema, pre);
  const good = { sepal_length: 5, sepal_width: 3, petal_length: 1.5, petal_width: 0.2 };
  const invalid = (body: string, pattern: RegExp, field?: string, instance?: number) =>
    assert.rejects(
      () => parsePredictRequest(body, input),
      (error: unknown) =>
        error instanceof InvalidRequestError &&
        pattern.test(error.message) &&
        error.field === field &&
        error.instance === instance,
    );

  it('accepts the row format and ignores the label column', async () => {
    const rows = await parsePredictRequest(
      JSON.stringify({ instances: [good, { ...good, species: 'setosa' }] }),
      input,
    );
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[1], good);
  });

  it('names the instance and field of a bad value', async () => {
    await invalid('{', /not valid JSON/);
    await invalid('[]', /object with an "instances" array/, 'instances');
    await invalid('{"instances":[]}', /non-empty array/, 'instances');
    await invalid(
      JSON.stringify({ instances: [good, { ...good, petal_width: undefined }] }),
      /instances\[1\]\.petal_width is missing/,
      'petal_width',
      1,
    );
    await invalid(
      JSON.stringify({ instances: [{ ...good, sepal_length: '5' }] }),
      /must be a finite number, got the string "5"/,
      'sepal_length',
      0,
    );
    await invalid(
      JSON.stringify({ instances: [{ ...good, colour: 'red' }] }),
      /instances\[0\]\.colour is not a feature/,
      'colour',
      0,
    );
    await invalid(JSON.stringify({ instances: [7] }), /instances\[0\] must be an object/, undefined, 0);
  });

  it('answers the most probable label with every class probability', () => {
    assert.deepEqual(toPredictions(['a', 'b'], [[0.2, 0.8]]), [
      { label: 'b', probabilities: { a: 0.2, b: 0.8 } },
    ]);
  });
});

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
