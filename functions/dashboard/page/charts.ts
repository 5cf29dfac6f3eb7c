/**
 * The dashboard's charts, on Chart.js (only the parts it uses are registered, so the bundle stays small).
 * Each chart marks its canvas `data-chart-ready` once it has drawn its final frame, and names what it shows in
 * `data-chart`: what tests and screen readers look for.
 */
import {
  animator,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  type ChartType,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  type Plugin,
  PointElement,
  ScatterController,
  Tooltip,
} from 'chart.js';
import type { Alias, DriftHistory, EpochLog, ModelVersion } from './api.ts';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  ScatterController,
  Tooltip,
);

export const COLORS = {
  indigo: '#4f46e5',
  indigoLight: '#c7d2fe',
  sky: '#0ea5e9',
  amber: '#f59e0b',
  emerald: '#10b981',
  rose: '#e11d48',
  slate: '#94a3b8',
  slateLight: '#e2e8f0',
  text: '#475569',
  grid: '#eef2f7',
} as const;

/** Series colours, in order: distinct, and readable on white. */
const SERIES = [
  '#4f46e5',
  '#0ea5e9',
  '#10b981',
  '#f59e0b',
  '#e11d48',
  '#8b5cf6',
  '#14b8a6',
  '#f97316',
  '#64748b',
];
export const seriesColor = (i: number): string => SERIES[i % SERIES.length] as string;

/** The page's font (styles.css), for the charts' text too. */
const FONT =
  'Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

Chart.defaults.font.family = FONT;
Chart.defaults.font.size = 12;
Chart.defaults.color = COLORS.text;
Chart.defaults.borderColor = COLORS.grid;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.set('animation', { duration: 450 });
// A chart animates when it is drawn or its data change, never when its box is resized or shown again.
Chart.defaults.set('transitions.attach', { animation: { duration: 0 } });
Chart.defaults.plugins.legend.labels.usePointStyle = true;
Chart.defaults.plugins.legend.labels.boxWidth = 8;
Chart.defaults.plugins.legend.labels.boxHeight = 8;
Chart.defaults.plugins.tooltip.backgroundColor = '#0f172a';
Chart.defaults.plugins.tooltip.padding = 10;
Chart.defaults.plugins.tooltip.cornerRadius = 8;

/** Sets `data-chart-ready` when a chart has drawn with no animation left to run (else its animations' end does). */
const readyMarker: Plugin = {
  id: 'nimbusReady',
  afterRender(chart) {
    if (!animator.running(chart)) chart.canvas.dataset.chartReady = 'true';
  },
};

/** Draws the chart on the canvas (replacing one already there). */
export function mountChart<T extends ChartType>(
  canvas: HTMLCanvasElement,
  name: string,
  config: ChartConfiguration<T>,
): Chart<T> {
  Chart.getChart(canvas)?.destroy();
  canvas.dataset.chart = name;
  delete canvas.dataset.chartReady;
  const chart = new Chart(canvas, {
    ...config,
    plugins: [...(config.plugins ?? []), readyMarker as Plugin<T>],
  });
  animator.listen(chart as never, 'complete', () => {
    canvas.dataset.chartReady = 'true';
  });
  return chart;
}

/** New data for a chart already drawn (a live view's refresh), without animating from zero. */
export function refreshChart<T extends ChartType>(chart: Chart<T>, config: ChartConfiguration<T>): void {
  chart.data = config.data;
  chart.update('none');
}

// ---- learning curves --------------------------------------------------------------------------------------

const line = (label: string, data: (number | null)[], color: string, dashed = false) => ({
  label,
  data,
  borderColor: color,
  backgroundColor: color,
  borderWidth: 2,
  borderDash: dashed ? [6, 4] : [],
  pointRadius: data.length > 40 ? 0 : 2,
  pointHoverRadius: 4,
  tension: 0.25,
  spanGaps: true,
});

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

function roundRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

// ---- confusion matrix -------------------------------------------------------------------------------------

interface Cell {
  /** Predicted class index. */
  readonly x: number;
  /** Actual class index. */
  readonly y: number;
  readonly count: number;
  /** Of the actual class's rows. */
  readonly share: number;
}

/**
 * `matrix[actual][predicted]` as a heatmap: one cell per pair, coloured by the share of the actual class's
 * rows (indigo on the diagonal, where predictions are right; rose off it), with the count written in it.
 */
export function confusionMatrixChart(
  matrix: readonly (readonly number[])[],
  classes: readonly string[],
): ChartConfiguration<'scatter'> {
  const cells: Cell[] = [];
  matrix.forEach((row, actual) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, predicted) => {
      cells.push({ x: predicted, y: actual, count, share: total === 0 ? 0 : count / total });
    });
  });
  const axis = (title: string) => ({
    type: 'category' as const,
    labels: [...classes],
    offset: true,
    grid: { display: false },
    border: { display: false },
    title: { display: true, text: title, font: { weight: 600 } },
  });
  return {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: 'rows',
          data: cells,
          pointRadius: 0,
          pointHoverRadius: 0,
          pointHitRadius: (context) => {
            const area = context.chart.chartArea;
            return area ? Math.min(area.width, area.height) / (2 * Math.max(1, classes.length)) : 10;
          },
        },
      ],
    },
    options: {
      scales: { x: axis('predicted'), y: axis('actual') },
      plugins: {
        legend: { display: false },
        tooltip: {
          displayColors: false,
          callbacks: {
            title: (items) => {
              const cell = items[0]?.raw as Cell | undefined;
              return cell ? `actual ${classes[cell.y]} → predicted ${classes[cell.x]}` : '';
            },
            label: (item) => {
              const cell = item.raw as Cell;
              return `${cell.count} rows (${(cell.share * 100).toFixed(1)}% of ${classes[cell.y]})`;
            },
          },
        },
      },
    },
    plugins: [heatmapCells(classes.length)],
  };
}

function heatmapCells(size: number): Plugin<'scatter'> {
  return {
    id: 'nimbusHeatmap',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea, scales } = chart;
      const x = scales.x;
      const y = scales.y;
      if (!x || !y || size === 0) return;
      const width = chartArea.width / size;
      const height = chartArea.height / size;
      const cells = (chart.data.datasets[0]?.data ?? []) as unknown as Cell[];
      ctx.save();
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.font = `600 ${Math.max(11, Math.min(18, height / 4))}px ${Chart.defaults.font.family}`;
      for (const cell of cells) {
        const cx = x.getPixelForValue(cell.x);
        const cy = y.getPixelForValue(cell.y);
        const diagonal = cell.x === cell.y;
        ctx.fillStyle = cellColor(cell.share, diagonal);
        roundRect(ctx, cx - width / 2 + 2, cy - height / 2 + 2, width - 4, height - 4, 6);
        ctx.fill();
        ctx.fillStyle = cell.share > 0.5 ? '#ffffff' : '#1e293b';
        ctx.fillText(String(cell.count), cx, cy);
      }
      ctx.restore();
    },
  };
}

/** White to indigo (right) or rose (wrong) by the share. */
function cellColor(share: number, diagonal: boolean): string {
  if (share === 0) return '#f8fafc';
  const [r, g, b] = diagonal ? [67, 56, 202] : [225, 29, 72];
  const t = 0.12 + 0.88 * Math.min(1, share);
  const mix = (c: number) => Math.round(255 + (c - 255) * t);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

// ---- drift ------------------------------------------------------------------------------------------------

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
        ...features.map((f, i) =>
          series(
            f,
            reports.map((r) => r.features[f]?.psi ?? null),
            seriesColor(i),
          ),
        ),
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
