/** Drift: each feature's PSI per monitoring window. */
import type { ChartConfiguration } from 'chart.js';
import type { DriftHistory } from '../api.ts';
import { COLORS, line, seriesColor, seriesDash } from './chart.ts';

/** Each feature's PSI per monitoring window (and the predictions'), with the alarm threshold as a line. */
export function driftChart(
  history: DriftHistory,
  axisLabels: (isos: readonly string[]) => string[],
): ChartConfiguration<'line'> {
  const { reports, threshold } = history;
  const features = [...new Set(reports.flatMap((r) => Object.keys(r.features)))].sort();
  const series = (label: string, values: (number | null)[], color: string, dashed = false) => ({
    ...line(label, values, color, dashed),
    pointRadius: reports.length > 30 ? 0 : 3,
    tension: 0.15,
  });
  const highest = Math.max(threshold, ...reports.map((r) => r.score));
  return {
    type: 'line',
    data: {
      labels: axisLabels(reports.map((r) => r.windowEnd)),
      datasets: [
        ...features.map((f, i) => ({
          ...series(
            f,
            reports.map((r) => r.features[f]?.psi ?? null),
            seriesColor(i),
          ),
          borderDash: seriesDash(i),
        })),
        ...(reports.some((r) => r.predictions)
          ? [
              series(
                'predictions',
                reports.map((r) => r.predictions?.psi ?? null),
                '#0f172a',
                true,
              ),
            ]
          : []),
        {
          // The line, and the drifted zone above it lightly shaded.
          label: `alarm threshold (${threshold})`,
          data: reports.map(() => threshold),
          borderColor: COLORS.rose,
          backgroundColor: 'rgba(225, 29, 72, 0.05)',
          borderDash: [4, 4],
          borderWidth: 1.5,
          pointRadius: 0,
          pointHoverRadius: 0,
          fill: 'end',
        },
      ],
    },
    options: {
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 16 } },
        y: { min: 0, suggestedMax: highest * 1.15, title: { display: true, text: 'PSI' } },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${Number(item.raw).toFixed(3)}` } },
      },
    },
  };
}
