/**
 * One run (`#/runs/<runId>`): its status and steps with their times, its hyperparameters, metrics and
 * learning curve (live while it trains), its lineage, its search's trials (the objective against each numeric
 * parameter), what it cost, and the actions a run takes — stop while it runs, retry once it failed.
 */
import { Chart } from 'chart.js';
import { retryRun, stopRun } from '../actions.ts';
import type { EpochLog, ModelVersion, Run, Trial, ValidationReport } from '../api.ts';
import { mountChart, refreshChart } from '../charts/chart.ts';
import { accuracyChart, lossChart } from '../charts/learning.ts';
import { numericParameters, trialScatterChart } from '../charts/trials.ts';
import { actionButton } from '../components/action-dialog.ts';
import { ago, card, chartBox, duration, empty, h, number, percent, replace, when } from '../dom.ts';
import { endOf } from '../tracker.ts';
import type { ViewScope } from '../view.ts';
import { costCard, hyperparametersCard, lineageCard, stepsTable, trialsTable } from './run-sections.ts';
import { learningHistory, stat, statusBadge, stepper } from './steps.ts';

interface RunData {
  readonly run: Run;
  readonly trials: readonly Trial[];
  readonly version: ModelVersion | undefined;
  readonly report: ValidationReport | undefined;
}

async function load(scope: ViewScope, runId: string): Promise<RunData | undefined> {
  const { api, signal } = scope;
  const run = await api.run(runId, signal);
  if (!run) return undefined;
  const datasetVersion = run.datasetVersion;
  const [trials, version, report] = await Promise.all([
    run.search || run.steps?.some((s) => s.name === 'Search') ? api.trials(runId, signal) : undefined,
    run.modelVersion === undefined ? undefined : api.version(run.dataset, run.modelVersion, signal),
    datasetVersion ? api.datasetReport(run.dataset, datasetVersion, signal) : undefined,
  ]);
  return { run, trials: trials?.trials ?? [], version, report };
}

/** What, when it changes, redraws the page (the learning curve alone updates in place). */
const shape = ({ run, trials, version }: RunData) =>
  JSON.stringify([
    run.status,
    run.steps?.length,
    run.retriedBy,
    trials.length,
    version?.status,
    run.modelVersion,
  ]);

export async function runView(scope: ViewScope): Promise<void> {
  const { root } = scope;
  const runId = scope.route.parts[0] as string;
  let data = await load(scope, runId);
  if (scope.ended) return;
  if (!data) {
    replace(
      root,
      card(
        'Run not found',
        { class: 'error-state' },
        empty(
          `No run ${runId}`,
          'It may have just been started (its record appears with its first step), or the link is wrong.',
        ),
        h('div', { class: 'empty-actions' }, h('a', { class: 'button', href: '#/runs' }, 'All runs')),
      ),
    );
    return;
  }
  let drawn = shape(data);
  let charts: { loss?: Chart<'line'>; accuracy?: Chart<'line'>; epochs: number } = { epochs: 0 };
  const curve = h('div', { class: 'curve-body' });

  const draw = (d: RunData) => {
    // The trials' charts go with the page drawn before; the curve's element (and its charts) is kept.
    for (const canvas of root.querySelectorAll<HTMLCanvasElement>('#trials canvas'))
      Chart.getChart(canvas)?.destroy();
    replace(root, page(scope, d, curve));
    for (const mount of trialMounts(d)) mount(scope);
  };
  const drawCurve = async (run: Run) => {
    const found = await learningHistory(scope.api, run, scope.signal);
    if (scope.ended) return;
    const history = found?.history ?? [];
    if (history.length === 0) {
      replace(
        curve,
        metricTiles(run, undefined),
        empty(
          run.status === 'RUNNING' ? 'No epochs yet' : 'No learning curve for this run',
          run.status === 'RUNNING'
            ? 'The curve appears as the training job reports its epochs.'
            : 'This run recorded no training history.',
        ),
      );
      charts = { epochs: 0 };
      return;
    }
    const loss = lossChart(history);
    const accuracy = accuracyChart(history);
    if (charts.loss && Boolean(charts.accuracy) === Boolean(accuracy) && curve.isConnected) {
      if (charts.epochs !== history.length) {
        refreshChart(charts.loss, loss);
        if (charts.accuracy && accuracy) refreshChart(charts.accuracy, accuracy);
        charts.epochs = history.length;
      }
      curve.querySelector('.stats')?.replaceWith(metricTiles(run, history));
      return;
    }
    const lossBox = chartBox('loss per epoch, log scale', 260);
    const accuracyBox = accuracy ? chartBox('accuracy per epoch', 260) : undefined;
    replace(
      curve,
      metricTiles(run, history),
      h(
        'div',
        { class: accuracyBox ? 'grid-2' : '' },
        h('figure', {}, h('figcaption', {}, 'Loss (log scale)'), lossBox.box),
        accuracyBox ? h('figure', {}, h('figcaption', {}, 'Accuracy'), accuracyBox.box) : null,
      ),
    );
    charts = {
      epochs: history.length,
      loss: scope.chart(mountChart(lossBox.canvas, 'learning-loss', loss)),
      ...(accuracyBox && accuracy
        ? { accuracy: scope.chart(mountChart(accuracyBox.canvas, 'learning-accuracy', accuracy)) }
        : {}),
    };
  };

  draw(data);
  await drawCurve(data.run);
  scope.status(`updated ${new Date().toLocaleTimeString()}`);
  scope.repeat(
    async () => {
      const next = await load(scope, runId);
      if (scope.ended || !next) return 15_000;
      data = next;
      if (shape(next) !== drawn) {
        drawn = shape(next);
        draw(next);
      } else {
        root.querySelector('.run-duration')?.replaceChildren(runDuration(next.run));
      }
      await drawCurve(next.run);
      scope.status(`updated ${new Date().toLocaleTimeString()}`);
      return next.run.status === 'RUNNING' ? 2000 : 30_000;
    },
    data.run.status === 'RUNNING' ? 2000 : 30_000,
  );
}

const runDuration = (run: Run) => duration(run.startedAt, new Date(endOf(run, Date.now())).toISOString());

function page(scope: ViewScope, d: RunData, curve: HTMLElement): HTMLElement {
  const { run, trials, version, report } = d;
  const link = (id: string, text: string) =>
    h('a', { class: 'mono', href: `#/runs/${encodeURIComponent(id)}` }, text);
  const actions = [
    run.status === 'RUNNING' ? actionButton(scope, 'Stop run', stopRun(run.runId)) : null,
    run.status === 'FAILED' && !run.retriedBy ? actionButton(scope, 'Retry run', retryRun(run.runId)) : null,
  ].filter((a): a is HTMLElement => a !== null);
  const header = h(
    'section',
    { class: 'card run-header', 'data-run': run.runId, 'data-status': run.status },
    h(
      'div',
      { class: 'card-header' },
      h(
        'div',
        {},
        h('p', { class: 'muted small' }, h('a', { href: '#/runs' }, 'Runs'), ' / ', run.dataset),
        h('h1', {}, `Run ${run.runId.slice(0, 8)} `, statusBadge(run)),
        h(
          'p',
          { class: 'muted' },
          h('span', { class: 'mono' }, run.runId),
          ` · started ${ago(run.startedAt)} (${when(run.startedAt)}) · `,
          h('span', { class: 'run-duration' }, runDuration(run)),
          run.retryOf ? h('span', {}, ' · retries ', link(run.retryOf, run.retryOf.slice(0, 8))) : null,
          run.retriedBy
            ? h(
                'span',
                { class: 'retried-by' },
                ' · retried by ',
                link(run.retriedBy, run.retriedBy.slice(0, 12)),
              )
            : null,
        ),
        run.reason ? h('p', { class: run.status === 'FAILED' ? 'error-text' : 'muted' }, run.reason) : null,
      ),
      actions.length ? h('div', { class: 'card-actions' }, ...actions) : null,
    ),
    stepper(run),
  );
  const curveCard = card(
    'Metrics and learning curve',
    { subtitle: 'Test metrics of the model; loss and accuracy per epoch' },
    curve,
  );
  curveCard.id = 'learning-curve';
  return h(
    'div',
    { class: 'stack' },
    header,
    curveCard,
    h(
      'div',
      { class: 'grid-2' },
      hyperparametersCard(run),
      card('Steps', { subtitle: 'When each began, and how long it took' }, stepsTable(run)),
    ),
    trials.length ? trialsCard(run, trials) : null,
    h('div', { class: 'grid-2' }, lineageCard(run, version, report), costCard(run.cost)),
  );
}

function metricTiles(run: Run, history: readonly EpochLog[] | undefined): HTMLElement {
  const final = history?.at(-1);
  const m = run.metrics ?? {};
  const named: [string, string, (v: number) => string][] = [
    ['accuracy', 'test accuracy', percent],
    ['macroF1', 'test macro-F1', (v) => number(v)],
    ['rocAuc', 'test ROC AUC', (v) => number(v)],
    ['logLoss', 'test log loss', (v) => number(v)],
    ['rmse', 'test RMSE', (v) => number(v)],
    ['r2', 'test R²', (v) => number(v)],
  ];
  return h(
    'div',
    { class: 'stats' },
    stat(
      'epochs',
      history?.length ? String(history.length) : run.training ? String(run.training.epochs) : '–',
    ),
    stat('final loss', number(final?.validationLoss ?? final?.loss)),
    ...named
      .filter(([key]) => m[key] !== undefined)
      .map(([key, label, format]) => stat(label, format(m[key] as number))),
    run.training ? stat('training time', `${run.training.seconds.toFixed(1)} s`) : null,
  );
}

function trialsCard(run: Run, trials: readonly Trial[]): HTMLElement {
  const best = run.search?.bestTrial;
  const params = numericParameters(trials);
  const metric = trials[0]?.metric ?? run.search?.metric ?? 'score';
  const element = card(
    `Search · ${trials.length} trials`,
    {
      subtitle: `${run.search ? `${run.search.strategy} search, best trial ${run.search.bestTrial} (${metric} ${number(run.search.bestScore, 4)})` : 'Searching…'}. Each point is a trial; the best in red.`,
    },
    params.length
      ? h(
          'div',
          { class: 'grid-3' },
          ...params.map((p) => {
            const box = chartBox(`${metric} by ${p}`, 220);
            box.canvas.dataset.parameter = p;
            return h('figure', {}, h('figcaption', {}, `${metric} by ${p}`), box.box);
          }),
        )
      : empty('No numeric parameter to plot', 'The trials differ only in choices.'),
    trialsTable(trials, best),
  );
  element.id = 'trials';
  return element;
}

/** The trial scatters, drawn once their canvases are in the page. */
function trialMounts(d: RunData): ((scope: ViewScope) => void)[] {
  if (!d.trials.length) return [];
  const metric = d.trials[0]?.metric ?? 'score';
  return [
    (scope) => {
      for (const canvas of document.querySelectorAll<HTMLCanvasElement>('#trials canvas[data-parameter]')) {
        const p = canvas.dataset.parameter as string;
        scope.chart(
          mountChart(canvas, `trials-${p}`, trialScatterChart(d.trials, p, metric, d.run.search?.bestTrial)),
        );
      }
    },
  ];
}
