/**
 * Models: the registered models; for one, how its versions compare (a test metric per version, with where
 * each alias points), the selected version's confusion matrix (classifiers) and the model's audit history.
 */
import type { Chart, ChartConfiguration } from 'chart.js';
import type { Alias, ModelDetail, ModelVersion, VersionMetrics } from '../api.ts';
import { mountChart, refreshChart } from '../charts/chart.ts';
import { confusionMatrixChart } from '../charts/confusion.ts';
import { metricByVersionChart, primaryMetric } from '../charts/versions.ts';
import { ago, badge, card, chartBox, empty, h, number, percent, replace, type Tone, when } from '../dom.ts';
import type { ViewScope } from '../view.ts';
import { timelineItems } from './audit.ts';
import { versionView } from './version.ts';

export const STATUS_TONE: Record<string, Tone> = {
  registered: 'neutral',
  approved: 'ok',
  rejected: 'bad',
  archived: 'neutral',
};

export async function modelsView(scope: ViewScope): Promise<void> {
  const { api, root, signal, route } = scope;
  if (route.parts[0] && route.parts[1] === 'versions') return versionView(scope);
  const { models } = await api.models(signal);
  if (scope.ended) return;
  if (models.length === 0) {
    replace(
      root,
      card(
        'Models',
        {},
        empty('No models yet', 'A model is registered when a training run of its dataset finishes.'),
      ),
    );
    return;
  }
  const name = route.parts[0] ?? models[0]?.model;
  if (!route.parts[0] && name) return scope.navigate(`#/models/${encodeURIComponent(name)}`, true);

  const sidebar = card(
    'Models',
    { class: 'model-list' },
    h(
      'nav',
      { 'aria-label': 'models' },
      ...models.map((m) =>
        h(
          'a',
          {
            class: `model-link${m.model === name ? ' selected' : ''}`,
            href: `#/models/${encodeURIComponent(m.model)}`,
            'aria-current': m.model === name ? 'page' : undefined,
          },
          h('span', { class: 'model-name' }, m.model),
          h('span', { class: 'muted small' }, `v${m.latestVersion}`),
        ),
      ),
    ),
  );
  const main = h('div', { class: 'stack' });
  replace(root, h('div', { class: 'with-sidebar' }, sidebar, main));

  const [detail, audit] = await Promise.all([api.model(name ?? '', signal), api.audit(name ?? '', signal)]);
  if (scope.ended) return;
  if (!detail || detail.versions.length === 0) {
    replace(main, card(name ?? 'Model', {}, empty(`No model "${name}"`, 'It has no registered version.')));
    return;
  }
  const versions = [...detail.versions].sort((a, b) => a.version - b.version);
  const production = detail.aliases.find((a) => a.alias === 'production');
  const requested = Number(route.query.get('version') ?? Number.NaN);
  let selected =
    versions.find((v) => v.version === requested)?.version ?? production?.version ?? versions.at(-1)?.version;

  const metricCanvas = chartBox('test metric per version', 300);
  const versionList = h('ol', { class: 'versions' });
  const matrixCard = h('div');
  const timeline = h('ol', { class: 'timeline' });
  const metric = primaryMetric(versions);

  replace(
    main,
    header(detail, versions),
    h(
      'div',
      { class: 'grid-wide' },
      card(
        `${metric.label} by version`,
        { subtitle: 'Test split. Dark bars: the versions an alias points at. Click a bar to select it.' },
        metricCanvas.box,
      ),
      card('Versions', { subtitle: `${versions.length} registered` }, versionList),
    ),
    h(
      'div',
      { class: 'grid-2' },
      matrixCard,
      card('Audit history', { subtitle: 'Every change of an alias or a status, newest first.' }, timeline),
    ),
  );

  const select = (version: number) => {
    selected = version;
    history.replaceState(null, '', `#/models/${encodeURIComponent(detail.model)}?version=${version}`);
    draw();
  };
  let metricChart: Chart<'bar' | 'line'> | undefined;
  let matrixChart: Chart<'scatter'> | undefined;
  const draw = () => {
    const config = metricByVersionChart(versions, detail.aliases, selected, select);
    // Another version selected: the same chart, with the outline moved.
    if (metricChart) refreshChart(metricChart, config);
    else metricChart = scope.chart(mountChart(metricCanvas.canvas, 'metric-by-version', config));
    replace(
      versionList,
      ...[...versions].reverse().map((v) => versionRow(v, detail.aliases, v.version === selected, select)),
    );
    replace(timeline, ...timelineItems(audit?.audit, selected));
    void drawVersion();
  };
  const drawVersion = async () => {
    const version = versions.find((v) => v.version === selected);
    if (!version) return;
    const metrics = await api.artifact<VersionMetrics>(detail.model, version.version, 'metrics', signal);
    if (scope.ended || version.version !== selected) return;
    matrixChart?.destroy();
    matrixChart = undefined;
    const { element, matrix } = versionCard(version, metrics);
    element
      .querySelector('.card-header')
      ?.append(
        h(
          'div',
          { class: 'card-actions' },
          h(
            'a',
            { class: 'button secondary', href: versionHref(detail.model, version.version) },
            `Open v${version.version}`,
          ),
        ),
      );
    replace(matrixCard, element);
    if (matrix) matrixChart = scope.chart(mountChart(matrix.canvas, 'confusion-matrix', matrix.config));
  };
  draw();
}

export const versionHref = (model: string, version: number) =>
  `#/models/${encodeURIComponent(model)}/versions/${version}`;

function header(detail: ModelDetail, versions: readonly ModelVersion[]): HTMLElement {
  const latest = versions.at(-1);
  const metric = primaryMetric(versions);
  const production = detail.aliases.find((a) => a.alias === 'production');
  const productionVersion = versions.find((v) => v.version === production?.version);
  return h(
    'section',
    { class: 'card model-header' },
    h(
      'div',
      {},
      h('h1', {}, detail.model),
      h(
        'div',
        { class: 'chips' },
        ...detail.aliases.map((a) =>
          h(
            'span',
            { class: 'chip', title: a.changedAt ? `since ${when(a.changedAt)}` : undefined },
            h('strong', {}, a.alias),
            ` → v${a.version}`,
            a.canary
              ? h(
                  'span',
                  { class: 'chip-canary' },
                  `canary v${a.canary.version} · ${Math.round(a.canary.weight * 100)}%`,
                )
              : null,
          ),
        ),
        detail.aliases.length === 0
          ? h('span', { class: 'muted' }, 'No alias points at a version: nothing serves.')
          : null,
      ),
    ),
    h(
      'div',
      { class: 'stats' },
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'stat-value' }, String(versions.length)),
        h('span', { class: 'stat-label' }, 'versions'),
      ),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'stat-value' }, production ? `v${production.version}` : '–'),
        h('span', { class: 'stat-label' }, 'in production'),
      ),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'stat-value' }, number(productionVersion?.metrics[metric.key])),
        h('span', { class: 'stat-label' }, `production ${metric.key === 'rmse' ? 'RMSE' : 'macro-F1'}`),
      ),
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'stat-value' }, latest ? ago(latest.createdAt) : '–'),
        h('span', { class: 'stat-label' }, 'last trained'),
      ),
    ),
  );
}

function versionRow(
  version: ModelVersion,
  aliases: readonly Alias[],
  selected: boolean,
  select: (version: number) => void,
): HTMLElement {
  const names = aliases.filter((a) => a.version === version.version).map((a) => a.alias);
  const canaries = aliases
    .filter((a) => a.canary?.version === version.version)
    .map((a) => `${a.alias} canary`);
  const m = version.metrics;
  return h(
    'li',
    {},
    h(
      'button',
      {
        type: 'button',
        class: `version-row${selected ? ' selected' : ''}`,
        'aria-pressed': selected ? 'true' : 'false',
        'data-version': version.version,
        onclick: () => select(version.version),
      },
      h('span', { class: 'version-number' }, `v${version.version}`),
      h(
        'span',
        { class: 'version-main' },
        h(
          'span',
          {},
          badge(version.status, STATUS_TONE[version.status] ?? 'neutral'),
          ...[...names, ...canaries].map((n) => badge(n, n.includes('canary') ? 'warn' : 'info')),
        ),
        h(
          'span',
          { class: 'muted small' },
          m.rmse !== undefined
            ? `RMSE ${number(m.rmse)} · R² ${number(m.r2)}`
            : `accuracy ${percent(m.accuracy)} · macro-F1 ${number(m.macroF1)}`,
          ` · ${ago(version.createdAt)}`,
        ),
      ),
    ),
  );
}

/** The selected version's test results: its confusion matrix (classifiers), else its error metrics. */
export function versionCard(
  version: ModelVersion,
  metrics: VersionMetrics | undefined,
): { element: HTMLElement; matrix?: { canvas: HTMLCanvasElement; config: ChartConfiguration<'scatter'> } } {
  const test = metrics?.test;
  if (!test) {
    return {
      element: card(
        `Test results · v${version.version}`,
        {},
        empty(
          'No test results to show',
          'This version has no metrics file, or this deployment does not serve it yet.',
        ),
      ),
    };
  }
  if (!test.confusionMatrix || !test.classes) {
    const tile = (label: string, value: number | undefined) =>
      h(
        'div',
        { class: 'stat' },
        h('span', { class: 'stat-value' }, number(value)),
        h('span', { class: 'stat-label' }, label),
      );
    return {
      element: card(
        `Test results · v${version.version}`,
        { subtitle: `${test.count ?? '?'} held-out rows` },
        h('div', { class: 'stats' }, tile('RMSE', test.rmse), tile('MAE', test.mae), tile('R²', test.r2)),
      ),
    };
  }
  const box = chartBox('confusion matrix', Math.min(420, 140 + 56 * test.classes.length));
  const ranked =
    test.rocAuc === undefined ? '' : ` · ROC AUC ${number(test.rocAuc)} · log loss ${number(test.logLoss)}`;
  const element = card(
    `Confusion matrix · v${version.version}`,
    {
      subtitle: `${test.count ?? '?'} held-out rows · accuracy ${percent(test.accuracy)} · macro-F1 ${number(test.macroF1)}${ranked}. Rows: the actual class; columns: the predicted one.`,
    },
    box.box,
    test.perClass ? classTable(test.perClass) : null,
  );
  element.id = 'confusion-matrix';
  return {
    element,
    matrix: { canvas: box.canvas, config: confusionMatrixChart(test.confusionMatrix, test.classes) },
  };
}

/** Each class's precision, recall, F1 and support, as a reviewer of a classifier reads them first. */
function classTable(rows: NonNullable<VersionMetrics['test']['perClass']>): HTMLElement {
  const cell = (value: string | number) => h('td', {}, value);
  return h(
    'table',
    { class: 'per-class', 'aria-label': 'per-class metrics' },
    h(
      'thead',
      {},
      h('tr', {}, ...['class', 'precision', 'recall', 'F1', 'support'].map((t) => h('th', {}, t))),
    ),
    h(
      'tbody',
      {},
      ...rows.map((r) =>
        h(
          'tr',
          {},
          cell(r.class),
          cell(number(r.precision)),
          cell(number(r.recall)),
          cell(number(r.f1)),
          cell(r.support),
        ),
      ),
    ),
  );
}
