/**
 * The dashboard's charts, on Chart.js (only the parts it uses are registered, so the bundle stays small).
 * Each chart marks its canvas `data-chart-ready` once it has drawn its final frame, and names what it shows in
 * `data-chart`: what tests and screen readers look for. This module registers Chart.js's parts and the
 * page's defaults, draws a chart (`mountChart`) and holds what the chart kinds share; each kind has its own
 * module next to it.
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
  LogarithmicScale,
  type Plugin,
  PointElement,
  ScatterController,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LogarithmicScale,
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

/**
 * Series colours, in order: a categorical palette of 12 hues far apart (Tableau's 10 with two more, made a
 * little deeper to read on white), so that a dozen features or runs stay told apart.
 */
export const SERIES = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#59a14f',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
  '#ff9da7',
  '#1f3b73',
  '#8cd17d',
  '#6b6b6b',
] as const;
export const seriesColor = (i: number): string => SERIES[i % SERIES.length] as string;
/** Beyond the palette the colours come round again, dashed: the n-th round its own dash. */
export const seriesDash = (i: number): number[] => {
  const round = Math.floor(i / SERIES.length);
  return round === 0 ? [] : [2 + 4 * round, 3];
};

/** The page's font (styles/base.css), for the charts' text too. */
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

/** One line series (learning curves, drift), solid or dashed. */
export const line = (label: string, data: (number | null)[], color: string, dashed = false) => ({
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

/** A rounded rectangle as the current path (alias labels, heatmap cells). */
export function roundRect(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
  r: number,
): void {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}
