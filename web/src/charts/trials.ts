/** A search's trials: the objective metric against one numeric parameter, a point per trial. */
import type { ChartConfiguration } from 'chart.js';
import type { Trial } from '../api.ts';
import { COLORS } from './chart.ts';

/** The parameters that every scored trial sets to a number: those a scatter can show. */
export function numericParameters(trials: readonly Trial[]): string[] {
  const scored = trials.filter((t) => t.score !== undefined);
  const names = new Set(scored.flatMap((t) => Object.keys(t.parameters)));
  return [...names]
    .filter((name) => scored.length > 0 && scored.every((t) => typeof t.parameters[name] === 'number'))
    .sort();
}

/** Score against `parameter`; the best trial (`best`) drawn larger, in the accent colour. */
export function trialScatterChart(
  trials: readonly Trial[],
  parameter: string,
  metric: string,
  best: number | undefined,
): ChartConfiguration<'scatter'> {
  const points = trials
    .filter((t) => t.score !== undefined && typeof t.parameters[parameter] === 'number')
    .map((t) => ({ x: t.parameters[parameter] as number, y: t.score as number, trial: t.trial }));
  const xs = points.map((p) => p.x);
  // A parameter searched over decades (a learning rate) reads on a log axis.
  const log = xs.length > 1 && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= 20;
  return {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: `${metric} by ${parameter}`,
          data: points,
          backgroundColor: points.map((p) => (p.trial === best ? COLORS.rose : 'rgba(79, 70, 229, 0.7)')),
          borderColor: points.map((p) => (p.trial === best ? COLORS.rose : COLORS.indigo)),
          pointRadius: points.map((p) => (p.trial === best ? 7 : 5)),
          pointHoverRadius: 8,
        },
      ],
    },
    options: {
      scales: {
        x: { type: log ? 'logarithmic' : 'linear', title: { display: true, text: parameter } },
        y: { title: { display: true, text: metric } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: (item) => {
              const p = item.raw as { x: number; y: number; trial: number };
              return `trial ${p.trial}: ${parameter} ${+p.x.toPrecision(4)}, ${metric} ${p.y.toFixed(4)}`;
            },
          },
        },
      },
    },
  };
}
