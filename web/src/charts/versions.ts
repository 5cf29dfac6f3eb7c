/** A metric across a model's versions, with the aliases that point at them. */
import { Chart, type ChartConfiguration, type Plugin } from 'chart.js';
import type { Alias, ModelVersion } from '../api.ts';
import { COLORS, roundRect } from './chart.ts';

/** The metric that ranks a model's versions, as the gate does: macro-F1 for classifiers, else RMSE. */
export function primaryMetric(versions: readonly ModelVersion[]): {
  key: 'macroF1' | 'rmse';
  label: string;
  secondary?: { key: 'accuracy' | 'mae'; label: string };
} {
  if (versions.some((v) => v.metrics.rmse !== undefined)) {
    return { key: 'rmse', label: 'RMSE (lower is better)', secondary: { key: 'mae', label: 'MAE' } };
  }
  return { key: 'macroF1', label: 'macro-F1', secondary: { key: 'accuracy', label: 'accuracy' } };
}

/**
 * The primary test metric of every version (bars) and a second one (a line); the bars of versions an alias
 * points at are coloured, with the aliases' names above them, and the selected version is outlined.
 */
export function metricByVersionChart(
  versions: readonly ModelVersion[],
  aliases: readonly Alias[],
  selected: number | undefined,
  onSelect: (version: number) => void,
): ChartConfiguration<'bar' | 'line'> {
  const metric = primaryMetric(versions);
  const labelsOf = new Map<number, string[]>();
  for (const alias of aliases) {
    labelsOf.set(alias.version, [...(labelsOf.get(alias.version) ?? []), alias.alias]);
    if (alias.canary) {
      const name = `${alias.alias} canary ${Math.round(alias.canary.weight * 100)}%`;
      labelsOf.set(alias.canary.version, [...(labelsOf.get(alias.canary.version) ?? []), name]);
    }
  }
  const colors = versions.map((v) =>
    labelsOf.has(v.version) ? COLORS.indigo : v.status === 'rejected' ? '#fecdd3' : COLORS.indigoLight,
  );
  const bounded = metric.key === 'macroF1';
  return {
    type: 'bar',
    data: {
      labels: versions.map((v) => `v${v.version}`),
      datasets: [
        {
          type: 'bar',
          label: metric.label,
          data: versions.map((v) => v.metrics[metric.key] ?? null) as number[],
          backgroundColor: colors,
          borderColor: versions.map((v) => (v.version === selected ? '#1e1b4b' : 'transparent')),
          borderWidth: 2,
          borderRadius: 6,
          maxBarThickness: 56,
          order: 2,
        },
        ...(metric.secondary
          ? [
              {
                type: 'line' as const,
                label: metric.secondary.label,
                data: versions.map((v) => v.metrics[metric.secondary?.key ?? 'accuracy'] ?? null) as number[],
                borderColor: COLORS.amber,
                backgroundColor: COLORS.amber,
                borderWidth: 2,
                pointRadius: 3,
                tension: 0.2,
                order: 1,
              },
            ]
          : []),
      ],
    },
    options: {
      layout: { padding: { top: 8 + 20 * Math.max(1, ...[...labelsOf.values()].map((l) => l.length)) } },
      interaction: { mode: 'index', intersect: false },
      onClick: (_event, elements) => {
        const index = elements[0]?.index;
        const version = index === undefined ? undefined : versions[index];
        if (version) onSelect(version.version);
      },
      scales: {
        x: { grid: { display: false } },
        y: bounded
          ? { min: 0, max: 1, ticks: { callback: (v) => Number(v).toFixed(1) } }
          : { beginAtZero: true },
      },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            afterTitle: (items) => {
              const version = versions[items[0]?.dataIndex ?? -1];
              const names = version ? labelsOf.get(version.version) : undefined;
              return [version?.status ?? '', ...(names ? [`→ ${names.join(', ')}`] : [])];
            },
          },
        },
      },
    },
    plugins: [aliasLabels(versions.map((v) => labelsOf.get(v.version) ?? []))],
  };
}

/** The names of the aliases above their versions' bars. */
function aliasLabels(labels: readonly (readonly string[])[]): Plugin<'bar' | 'line'> {
  return {
    id: 'nimbusAliasLabels',
    afterDatasetsDraw(chart) {
      const bars = chart.getDatasetMeta(0).data;
      const { ctx } = chart;
      ctx.save();
      ctx.font = `600 11px ${Chart.defaults.font.family}`;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      bars.forEach((bar, i) => {
        const names = labels[i] ?? [];
        names.forEach((name, k) => {
          const width = ctx.measureText(name).width + 12;
          const x = bar.x;
          // Above the plot, so that no bar or line runs through the names.
          const y = chart.chartArea.top - 6 - k * 20;
          ctx.fillStyle = name.includes('canary') ? COLORS.amber : '#1e1b4b';
          roundRect(ctx, x - width / 2, y - 16, width, 16, 8);
          ctx.fill();
          ctx.fillStyle = '#ffffff';
          ctx.fillText(name, x, y - 2);
        });
      });
      ctx.restore();
    },
  };
}
