/** Learning curves: loss and accuracy per epoch of a training run. */
import type { ChartConfiguration } from 'chart.js';
import type { EpochLog } from '../api.ts';
import { COLORS, line } from './chart.ts';

const epochAxis = {
  title: { display: true, text: 'epoch' },
  grid: { display: false },
  ticks: { maxRotation: 0, autoSkipPadding: 12 },
} as const;

/** Loss and validation loss per epoch. */
export function lossChart(history: readonly EpochLog[]): ChartConfiguration<'line'> {
  const has = history.some((e) => e.validationLoss !== undefined);
  return {
    type: 'line',
    data: {
      labels: history.map((e) => e.epoch),
      datasets: [
        line(
          'loss',
          history.map((e) => e.loss),
          COLORS.indigo,
        ),
        ...(has
          ? [
              line(
                'validation loss',
                history.map((e) => e.validationLoss ?? null),
                COLORS.amber,
                true,
              ),
            ]
          : []),
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: { x: epochAxis, y: { beginAtZero: true, title: { display: true, text: 'loss' } } },
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

// ---- a metric across a model's versions -------------------------------------------------------------------
