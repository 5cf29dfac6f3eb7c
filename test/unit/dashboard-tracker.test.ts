/** The dashboard's runs table logic (web/src/tracker.ts): its columns, filter, sort, pages and link state. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunRecord as Run } from '../../core/api-types.ts';
import {
  columns,
  DEFAULT_STATE,
  paramText,
  readState,
  tablePage,
  writeState,
} from '../../web/src/tracker.ts';

const run = (id: string, startedAt: string, fields: Partial<Run> = {}): Run => ({
  runId: id,
  status: 'SUCCEEDED',
  dataset: 'iris',
  datasetKey: `datasets/iris/${id}.csv`,
  startedAt,
  updatedAt: startedAt,
  ...fields,
});
const RUNS = [
  run('a', '2026-01-01T00:00:00Z', {
    hyperparameters: { epochs: 40, hiddenUnits: [32, 16] },
    metrics: { accuracy: 0.9 },
  }),
  run('b', '2026-01-02T00:00:00Z', { hyperparameters: { epochs: 8 }, metrics: { accuracy: 0.95, rmse: 1 } }),
  run('c', '2026-01-03T00:00:00Z', { status: 'FAILED', dataset: 'wine' }),
];
const ids = (state: Partial<typeof DEFAULT_STATE>) =>
  tablePage(RUNS, columns(RUNS), { ...DEFAULT_STATE, ...state }, Date.parse('2026-02-01')).rows.map(
    (r) => r.runId,
  );

describe('runs table', () => {
  it('has a column per hyperparameter and per metric of any run, after the run columns', () => {
    assert.deepEqual(
      columns(RUNS).map((c) => c.id),
      [
        'dataset',
        'status',
        'started',
        'duration',
        'param:epochs',
        'param:hiddenUnits',
        'metric:accuracy',
        'metric:rmse',
      ],
    );
    assert.equal(paramText([32, 16]), '32 × 16');
    assert.equal(paramText(0.0105712), '0.01057');
  });

  it('sorts by any column either way, numbers as numbers, runs without the value last', () => {
    assert.deepEqual(ids({}), ['c', 'b', 'a'], 'newest first');
    assert.deepEqual(ids({ sort: 'param:epochs', dir: 'asc' }), ['b', 'a', 'c']);
    assert.deepEqual(ids({ sort: 'param:epochs', dir: 'desc' }), ['a', 'b', 'c']);
    assert.deepEqual(ids({ sort: 'metric:accuracy', dir: 'desc' }), ['b', 'a', 'c']);
  });

  it('filters by text and status, and cuts pages', () => {
    assert.deepEqual(ids({ q: 'WINE' }), ['c']);
    assert.deepEqual(ids({ status: 'SUCCEEDED' }), ['b', 'a']);
    const page = tablePage(RUNS, columns(RUNS), { ...DEFAULT_STATE, size: 2, page: 9 }, 0);
    assert.deepEqual(
      [page.page, page.pages, page.from, page.to, page.total],
      [2, 2, 3, 3, 3],
      'the last page',
    );
  });

  it('keeps its state in the link, leaving the defaults out', () => {
    const state = { ...DEFAULT_STATE, q: 'iris', sort: 'metric:accuracy', page: 2, size: 2 };
    assert.equal(writeState(state), '?q=iris&sort=metric%3Aaccuracy&page=2&size=2');
    assert.deepEqual(readState(new URLSearchParams(writeState(state))), state);
    assert.equal(writeState(DEFAULT_STATE), '');
    assert.deepEqual(readState(new URLSearchParams('status=NOPE&page=-1&size=5000')), DEFAULT_STATE);
  });
});
