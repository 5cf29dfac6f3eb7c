/** Drift statistics and alarm evaluation (CloudWatch's rules). Reading EMF lines: local/monitoring.test.ts. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { alarmDefinitions, alarmName, evaluateAlarm, parseAlarmName, statistic } from '../../core/alarms.ts';
import { baselineStatistics } from '../../core/baseline.ts';
import {
  binCounts,
  categoricalDrift,
  chiSquareTest,
  DRIFT_THRESHOLD,
  driftReport,
  MIN_DRIFT_SAMPLES,
  numericDrift,
  populationStabilityIndex,
  settledCapture,
  upperGammaRegularized,
} from '../../core/drift.ts';
import { KEYS } from '../../core/keys.ts';
import { createRandom } from '../../core/random.ts';
import { REPO_ROOT } from '../../core/repo.ts';

const range = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

describe('drift statistics', () => {
  const schema = {
    task: 'classification' as const,
    label: 'y',
    features: [
      { name: 'x', type: 'numeric' as const },
      { name: 'colour', type: 'categorical' as const },
    ],
  };
  const rows = range(1000, (i) => i).map((i) => ({
    x: (i % 100) / 10,
    colour: ['red', 'green', 'blue'][i % 3] as string,
    y: i % 2 ? 'a' : 'b',
  }));
  const baseline = baselineStatistics(schema as never, rows);

  it('gives a PSI near 0 for the training distribution and a large one for a shifted one', () => {
    const same = numericDrift(
      baseline.numeric.x as never,
      range(500, (i) => (i % 100) / 10),
    );
    const shifted = numericDrift(
      baseline.numeric.x as never,
      range(500, (i) => (i % 100) / 10 + 5),
    );
    assert.ok(same.psi < 0.01, `same: ${same.psi}`);
    assert.ok(shifted.psi > 1, `shifted: ${shifted.psi}`);
    assert.equal(shifted.samples, 500);
  });

  it('puts values beyond the training range in the outer bins', () => {
    const histogram = { edges: [0, 1, 2, 3], counts: [1, 1, 1] };
    assert.deepEqual(binCounts(histogram, [-5, 0.5, 1, 2.5, 99]), [2, 1, 2]);
  });

  it('is symmetric in its bins and 0 for equal proportions', () => {
    assert.equal(populationStabilityIndex([10, 20, 70], [1, 2, 7]), 0);
    const psi = populationStabilityIndex([50, 50], [90, 10]);
    assert.ok(Math.abs(psi - (0.4 * Math.log(0.9 / 0.5) - 0.4 * Math.log(0.1 / 0.5))) < 1e-12);
  });

  it('counts categories never seen in training, with a chi-square test', () => {
    const usual = categoricalDrift(
      baseline.categorical.colour as never,
      range(300, (i) => ['red', 'green', 'blue'][i % 3] as string),
    );
    const novel = categoricalDrift(
      baseline.categorical.colour as never,
      range(300, (i) => (i % 2 ? 'purple' : 'red')),
    );
    assert.ok(usual.psi < 0.01 && (usual.pValue ?? 0) > 0.5, JSON.stringify(usual));
    assert.ok(novel.psi > 1 && (novel.pValue ?? 1) < 1e-6, JSON.stringify(novel));
  });

  it('computes the chi-square survival function', () => {
    // χ² = 3.841 with 1 degree of freedom is the 5% critical value; 11.07 with 5 is too.
    assert.ok(Math.abs(upperGammaRegularized(0.5, 3.841 / 2) - 0.05) < 1e-3);
    assert.ok(Math.abs(upperGammaRegularized(2.5, 11.07 / 2) - 0.05) < 1e-3);
    assert.equal(chiSquareTest([1, 1], [50, 50]).pValue, 1);
  });

  it('reports the largest feature PSI as the score, and prediction drift against the labels', () => {
    const instances = range(200, (i) => ({ x: (i % 100) / 10 + 8, colour: 'red' }));
    const report = driftReport({
      model: 'm',
      version: 1,
      baseline,
      windowStart: 'a',
      windowEnd: 'b',
      instances,
      predictions: range(200, () => 'a'),
    });
    assert.equal(report.score, Math.max(report.features.x?.psi ?? 0, report.features.colour?.psi ?? 0));
    assert.ok((report.predictions?.psi ?? 0) > 0.25);
    assert.equal(report.samples, 200);
  });
});

describe('drift of iris traffic: no false alarms on windows like the training data', () => {
  const [head = '', ...body] = readFileSync(join(REPO_ROOT, 'examples', 'iris.csv'), 'utf8')
    .trim()
    .split('\n');
  const names = head.split(',');
  const features = names.slice(0, 4);
  const rows = body.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(names.map((name, i) => [name, i < 4 ? Number(cells[i]) : cells[i]]));
  });
  const baseline = baselineStatistics(
    {
      task: 'classification',
      label: 'species',
      features: features.map((name) => ({ name, type: 'numeric' })),
    } as never,
    rows as never,
  );
  const random = createRandom(11);
  /** `n` flowers drawn at random from the training data, as traffic would send them. */
  const window = (n: number) =>
    range(n, () => rows[Math.floor(random() * rows.length)] as Record<string, unknown>);
  const score = (instances: Record<string, unknown>[]) =>
    driftReport({
      model: 'iris',
      version: 1,
      baseline,
      windowStart: 'a',
      windowEnd: 'b',
      instances,
      predictions: instances.map((row) => String(row.species)),
    }).score;

  it(`keeps windows of ${MIN_DRIFT_SAMPLES} ordinary flowers under the threshold`, () => {
    const scores = range(500, () => score(window(MIN_DRIFT_SAMPLES)));
    assert.ok(Math.max(...scores) < DRIFT_THRESHOLD, `largest of 500: ${Math.max(...scores)}`);
  });

  it('still sees petals 1 cm longer in a window of 30', () => {
    const shifted = range(200, () =>
      score(window(30).map((row) => ({ ...row, petal_length: (row.petal_length as number) + 1 }))),
    );
    assert.ok(Math.min(...shifted) > DRIFT_THRESHOLD, `smallest of 200: ${Math.min(...shifted)}`);
  });
});

describe('capture objects for the drift monitor', () => {
  it('names each object by the time it was written, and reads that time back', () => {
    const at = new Date('2026-11-27T07:59:58.123Z');
    const key = KEYS.capture('iris', at, 'e0b1');
    assert.equal(key, 'capture/iris/date=2026-11-27/hour=07/20261127T075958123Z-e0b1.jsonl');
    assert.equal(KEYS.captureTime(key)?.toISOString(), at.toISOString());
    assert.equal(KEYS.captureTime('capture/iris/state.json'), undefined);
  });

  it('reads only objects old enough, stopping at the first newer one', () => {
    const keys = [0, 10, 20, 40, 25].map((s) => ({
      key: KEYS.capture('m', new Date(Date.UTC(2026, 0, 1, 0, 0, s)), `k${s}`),
    }));
    const cutoff = Date.UTC(2026, 0, 1, 0, 0, 30);
    assert.deepEqual(
      settledCapture(keys, cutoff, KEYS.captureTime).map((o) => /-(k\d+)\.jsonl$/.exec(o.key)?.[1]),
      ['k0', 'k10', 'k20'],
      'the 25 s object after a 40 s one waits with it',
    );
    assert.equal(settledCapture(keys, Date.UTC(2025, 0, 1), KEYS.captureTime).length, 0);
  });
});

describe('alarms', () => {
  const [drift, latency, errors] = alarmDefinitions('iris', { monitorIntervalSeconds: 60 });
  const at = (seconds: number) => seconds * 1000;

  it('names alarms by model and kind, and reads the names back', () => {
    assert.equal(alarmName('stack', 'iris', 'drift'), 'stack/iris/drift');
    assert.deepEqual(parseAlarmName('stack/iris/drift'), { model: 'iris', kind: 'drift' });
    assert.deepEqual(parseAlarmName('stack/_all/latency'), { kind: 'latency' });
    assert.equal(parseAlarmName('someone-elses-alarm'), undefined);
    assert.equal(
      alarmDefinitions(undefined).some((a) => a.kind === 'canary'),
      false,
    );
  });

  it('computes statistics as CloudWatch does, percentiles by nearest rank', () => {
    const values = range(100, (i) => i + 1);
    assert.equal(statistic(values, 'p99'), 99);
    assert.equal(statistic(values, 'p50'), 50);
    assert.equal(statistic(values, 'Average'), 50.5);
    assert.equal(statistic([], 'Sum'), undefined);
  });

  it('goes to ALARM when M of N periods breach, and to OK when fewer do', () => {
    const alarm = latency as NonNullable<typeof latency>; // p99 > 1000 ms, 3 of 5 one-minute periods
    const slow = [at(0), at(60), at(120)].map((t) => ({ at: t, value: 1500 }));
    assert.equal(evaluateAlarm(alarm, slow, at(299)).state, 'ALARM');
    assert.equal(evaluateAlarm(alarm, slow.slice(0, 2), at(299)).state, 'OK');
    // Missing periods are not breaching: no traffic is OK.
    assert.equal(evaluateAlarm(alarm, [], at(299)).state, 'OK');
  });

  it('keeps the drift alarm as it was while no drift is measured, and clears it on a low score', () => {
    const alarm = drift as NonNullable<typeof drift>;
    assert.equal(evaluateAlarm(alarm, [{ at: at(10), value: 0.9 }], at(20)).state, 'ALARM');
    assert.equal(evaluateAlarm(alarm, [{ at: at(10), value: 0.9 }], at(70), 'ALARM').state, 'ALARM');
    assert.equal(evaluateAlarm(alarm, [{ at: at(70), value: 0.05 }], at(80), 'ALARM').state, 'OK');
    assert.equal(evaluateAlarm(alarm, [], at(80)).state, 'INSUFFICIENT_DATA');
  });

  it('watches the 5xx rate as the average of a 0/1 metric', () => {
    const alarm = errors as NonNullable<typeof errors>; // > 5%, 2 of 3 minutes
    const requests = (minute: number, faults: number) =>
      range(100, (i) => ({ at: at(minute * 60 + 1), value: i < faults ? 1 : 0 }));
    assert.equal(evaluateAlarm(alarm, [...requests(0, 10), ...requests(1, 10)], at(179)).state, 'ALARM');
    assert.equal(evaluateAlarm(alarm, [...requests(0, 10), ...requests(1, 1)], at(179)).state, 'OK');
  });
});
