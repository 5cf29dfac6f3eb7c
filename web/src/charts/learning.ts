/**
 * Learning curves: loss and accuracy per epoch of a training run, and the losses of several runs overlaid.
 * Loss is drawn on a logarithmic axis (its fall spans decades); a value that is not positive cannot be, and
 * is left out of the line, which spans the gap.
 */
import type { ChartConfiguration } from 'chart.js';
import type { EpochLog } from '../api.ts';
import { COLORS, line } from './chart.ts';

/** Only positive, finite values: a log axis has no place for the others. */
export const positive = (value: number | undefined): number | null =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : null;

/** A logarithmic loss axis, or a linear one when there is nothing positive to draw. */
function lossAxis(values: readonly (number | null)[]) {
  const any = values.some((v) => v !== null);
  return {
    type: any ? ('logarithmic' as const) : ('linear' as const),
    title: { display: true, text: any ? 'loss (log scale)' : 'loss' },
    ticks: {
      callback: (v: string | number) =>
        Number(v)
          .toPrecision(2)
          .replace(/\.?0+(e|$)/, '$1'),
    },
  };
}

const epochAxis = {
  title: { display: true, text: 'epoch' },
  grid: { display: false },
  ticks: { maxRotation: 0, autoSkipPadding: 12 },
} as const;

/** Loss and validation loss per epoch. */
export function lossChart(history: readonly EpochLog[]): ChartConfiguration<'line'> {
  const has = history.some((e) => e.validationLoss !== undefined);
  const loss = history.map((e) => positive(e.loss));
  const validation = history.map((e) => positive(e.validationLoss));
  return {
    type: 'line',
    data: {
      labels: history.map((e) => e.epoch),
      datasets: [
        line('loss', loss, COLORS.indigo),
        ...(has ? [line('validation loss', validation, COLORS.amber, true)] : []),
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: { x: epochAxis, y: lossAxis([...loss, ...validation]) },
      plugins: { legend: { position: 'bottom' } },
    },
  };
}

/** Accuracy and validation accuracy per epoch (classifiers); undefined when the history has none. */
export function accuracyChart(history: readonly EpochLog[]): ChartConfiguration<'line'> | undefined {
  if (!history.some((e) => e.accuracy !== undefined)) return undefined;
  return {
    type: 'line',
    data: {
      labels: history.map((e) => e.epoch),
      datasets: [
        line(
          'accuracy',
          history.map((e) => e.accuracy ?? null),
          COLORS.emerald,
        ),
        line(
          'validation accuracy',
          history.map((e) => e.validationAccuracy ?? null),
          COLORS.sky,
          true,
        ),
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: epochAxis,
        y: {
          min: 0,
          max: 1,
          title: { display: true, text: 'accuracy' },
          ticks: { callback: (v) => `${Math.round(Number(v) * 100)}%` },
        },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  };
}

/** Several runs' losses on one chart: a colour per run, validation loss dashed in the run's colour. */
export function lossOverlayChart(
  runs: readonly { label: string; color: string; history: readonly EpochLog[] }[],
): ChartConfiguration<'line'> {
  const epochs = Math.max(0, ...runs.map((r) => r.history.length));
  const datasets = runs.flatMap((run) => {
    const at = (pick: (e: EpochLog) => number | undefined) =>
      Array.from({ length: epochs }, (_, i) => positive(run.history[i] ? pick(run.history[i]) : undefined));
    const validation = run.history.some((e) => e.validationLoss !== undefined);
    return [
      line(
        `${run.label} loss`,
        at((e) => e.loss),
        run.color,
      ),
      ...(validation
        ? [
            line(
              `${run.label} validation`,
              at((e) => e.validationLoss),
              run.color,
              true,
            ),
          ]
        : []),
    ];
  });
  return {
    type: 'line',
    data: { labels: Array.from({ length: epochs }, (_, i) => i + 1), datasets },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: { x: epochAxis, y: lossAxis(datasets.flatMap((d) => d.data)) },
      plugins: { legend: { position: 'bottom' } },
    },
  };
}
