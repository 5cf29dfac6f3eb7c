/**
 * Runs side by side (`#/compare?runs=<a>,<b>…`, 2 to 5): their hyperparameters (those that differ marked),
 * their test metrics (the best of each marked) and their losses overlaid, a colour per run.
 */
import type { EpochLog, Run } from '../api.ts';
import { mountChart, seriesColor } from '../charts/chart.ts';
import { lossOverlayChart } from '../charts/learning.ts';
import { card, chartBox, duration, empty, h, number, replace } from '../dom.ts';
import { endOf, lowerIsBetter, paramText } from '../tracker.ts';
import type { ViewScope } from '../view.ts';
import { COMPARE } from './runs.ts';
import { learningHistory, statusBadge } from './steps.ts';

interface Compared {
  readonly run: Run;
  readonly color: string;
  readonly history: readonly EpochLog[];
}

export async function compareView(scope: ViewScope): Promise<void> {
  const { api, root, signal } = scope;
  const ids = [...new Set((scope.route.query.get('runs') ?? '').split(',').filter((id) => id !== ''))];
  if (ids.length < COMPARE.min || ids.length > COMPARE.max) {
    replace(
      root,
      card(
        'Compare runs',
        {},
        empty(
          `Pick ${COMPARE.min} to ${COMPARE.max} runs`,
          'Tick them in the runs table, then press Compare.',
        ),
        h('div', { class: 'empty-actions' }, h('a', { class: 'button', href: '#/runs' }, 'Runs')),
      ),
    );
    return;
  }
  const found = await Promise.all(ids.map((id) => api.run(id, signal)));
  if (scope.ended) return;
  const runs = found.filter((r): r is Run => r !== undefined);
  const missing = ids.filter((_, i) => found[i] === undefined);
  const histories = await Promise.all(runs.map((run) => learningHistory(api, run, signal)));
  if (scope.ended) return;
  const compared: Compared[] = runs.map((run, i) => ({
    run,
    color: seriesColor(i),
    history: histories[i]?.history ?? [],
  }));

  const curve = chartBox('loss per epoch of each run, log scale', 320);
  const hasCurves = compared.some((c) => c.history.length > 0);
  replace(
    root,
    h(
      'div',
      { class: 'stack' },
      card(
        `Compare ${runs.length} runs`,
        {
          subtitle: missing.length
            ? `Not found: ${missing.join(', ')}`
            : 'Each run in its own colour, here and on the chart.',
          actions: [h('a', { class: 'button secondary', href: '#/runs' }, 'Runs')],
        },
        h('div', { class: 'chips compare-runs' }, ...compared.map(runChip)),
      ),
      runs.length < COMPARE.min
        ? empty('Not enough runs to compare', 'Some of these runs are not there any more.')
        : h(
            'div',
            { class: 'grid-2' },
            card(
              'Hyperparameters',
              { subtitle: 'Rows that differ between the runs are marked.' },
              paramsTable(compared),
            ),
            card(
              'Test metrics',
              { subtitle: 'The best run of each metric is marked.' },
              metricsTable(compared),
            ),
          ),
      card(
        'Learning curves',
        { subtitle: 'Loss per epoch (log scale); validation loss dashed, in the run’s colour.' },
        hasCurves ? curve.box : empty('No learning curves', 'None of these runs recorded its epochs.'),
      ),
    ),
  );
  if (hasCurves) {
    scope.chart(
      mountChart(
        curve.canvas,
        'compare-loss',
        lossOverlayChart(
          compared.map((c) => ({ label: c.run.runId.slice(0, 8), color: c.color, history: c.history })),
        ),
      ),
    );
  }
}

function runChip(c: Compared): HTMLElement {
  const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
  swatch.style.background = c.color; // CSSOM, which the CSP allows
  return h(
    'a',
    { class: 'chip', href: `#/runs/${encodeURIComponent(c.run.runId)}`, 'data-run': c.run.runId },
    swatch,
    h('strong', {}, c.run.dataset),
    h('span', { class: 'mono' }, c.run.runId.slice(0, 8)),
    statusBadge(c.run),
  );
}

function headRow(compared: readonly Compared[], first: string): HTMLElement {
  return h(
    'thead',
    {},
    h(
      'tr',
      {},
      h('th', {}, first),
      ...compared.map((c) => {
        const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
        swatch.style.background = c.color;
        return h(
          'th',
          { 'data-run': c.run.runId },
          swatch,
          h('span', { class: 'mono' }, c.run.runId.slice(0, 8)),
        );
      }),
    ),
  );
}

function paramsTable(compared: readonly Compared[]): HTMLElement {
  const names = [...new Set(compared.flatMap((c) => Object.keys(c.run.hyperparameters ?? {})))].sort();
  const now = Date.now();
  const fixed: [string, (r: Run) => string][] = [
    ['dataset', (r) => r.dataset],
    ['dataset version', (r) => r.datasetVersion?.slice(0, 12) ?? ''],
    ['duration', (r) => duration(r.startedAt, new Date(endOf(r, now)).toISOString())],
  ];
  const rows = [
    ...fixed.map(([name, read]) => ({ name, values: compared.map((c) => read(c.run)), param: false })),
    ...names.map((name) => ({
      name,
      values: compared.map((c) => paramText(c.run.hyperparameters?.[name])),
      param: true,
    })),
  ];
  return h(
    'table',
    { class: 'data-table compare-table', 'aria-label': 'hyperparameters compared' },
    headRow(compared, 'parameter'),
    h(
      'tbody',
      {},
      ...rows.map((row) => {
        const differs = row.param && new Set(row.values).size > 1;
        return h(
          'tr',
          {
            class: differs ? 'differs' : '',
            'data-param': row.name,
            'data-differs': differs ? 'true' : undefined,
          },
          h(
            'th',
            { scope: 'row' },
            row.name,
            differs ? h('span', { class: 'differs-mark', title: 'differs' }, ' ≠') : null,
          ),
          ...row.values.map((v) => h('td', {}, v || '–')),
        );
      }),
    ),
  );
}

function metricsTable(compared: readonly Compared[]): HTMLElement {
  const names = [
    ...new Set(
      compared.flatMap((c) =>
        Object.entries(c.run.metrics ?? {})
          .filter(([, v]) => typeof v === 'number')
          .map(([k]) => k),
      ),
    ),
  ].sort();
  if (names.length === 0) return empty('No test metrics', 'None of these runs has evaluated a model.');
  return h(
    'table',
    { class: 'data-table compare-table', 'aria-label': 'metrics compared' },
    headRow(compared, 'metric'),
    h(
      'tbody',
      {},
      ...names.map((name) => {
        const values = compared.map((c) => c.run.metrics?.[name]);
        const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
        const best =
          present.length > 1
            ? lowerIsBetter(name)
              ? Math.min(...present)
              : Math.max(...present)
            : undefined;
        return h(
          'tr',
          { 'data-metric': name },
          h(
            'th',
            { scope: 'row' },
            name,
            h('span', { class: 'muted small' }, lowerIsBetter(name) ? ' ↓' : ' ↑'),
          ),
          ...values.map((v) =>
            h(
              'td',
              { class: `numeric${v === best ? ' best' : ''}`, 'data-best': v === best ? 'true' : undefined },
              number(v, 4),
              v === best ? h('span', { class: 'best-mark', title: 'best' }, ' ★') : null,
            ),
          ),
        );
      }),
    ),
  );
}
