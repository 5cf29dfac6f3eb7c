/** A version's confusion matrix, as a heatmap. */
import { Chart, type ChartConfiguration, type Plugin } from 'chart.js';
import { roundRect } from './chart.ts';

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
