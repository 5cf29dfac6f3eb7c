/**
 * Runs: the pipeline runs, newest first, each with its steps (done, current, failed, skipped), and the
 * learning curve of the selected run — live while it trains.
 */
import type { Chart } from 'chart.js';
import type { Api, EpochLog, Run, VersionCard } from '../api.ts';
import { mountChart, refreshChart } from '../charts/chart.ts';
import { accuracyChart, lossChart } from '../charts/learning.ts';
import {
  ago,
  badge,
  card,
  chartBox,
  duration,
  empty,
  h,
  number,
  percent,
  replace,
  type Tone,
} from '../dom.ts';
import type { ViewScope } from '../view.ts';

/** The pipeline's steps in order, as a run records them (`Search` or `Train`: the same place). */
const PIPELINE = [
  { label: 'Register dataset', names: ['RegisterDataset'] },
  { label: 'Preprocess', names: ['Preprocess'] },
  { label: 'Search / Train', names: ['Search', 'Train'] },
  { label: 'Evaluate', names: ['Evaluate'] },
  { label: 'Register model', names: ['RegisterModel'] },
  { label: 'Gate', names: ['Gate'] },
  { label: 'Approval', names: ['WaitForApproval'] },
  { label: 'Deploy', names: ['Deploy'] },
] as const;

export type StepState = 'done' | 'current' | 'waiting' | 'failed' | 'skipped' | 'pending';

/** Where a run is on each of the pipeline's steps. */
export function stepStates(run: Run): { label: string; state: StepState; at?: string }[] {
  const entered = new Map<string, string>();
  for (const step of run.steps ?? []) entered.set(step.name, step.at);
  if (run.step && !entered.has(run.step)) entered.set(run.step, run.updatedAt);
  const index = (name: string | undefined) =>
    PIPELINE.findIndex((s) => (s.names as readonly string[]).includes(name ?? ''));
  const last = Math.max(-1, ...[...entered.keys()].map(index));
  return PIPELINE.map((step, i) => {
    const name = step.names.find((n) => entered.has(n));
    const at = name ? entered.get(name) : undefined;
    const label = step.names.length > 1 && name ? name : step.label;
    let state: StepState;
    if (i < last) state = name ? 'done' : 'skipped';
    else if (i > last) state = run.status === 'SUCCEEDED' ? 'skipped' : 'pending';
    else if (run.status === 'FAILED') state = 'failed';
    else if (run.status === 'SUCCEEDED') state = 'done';
    else state = name === 'WaitForApproval' ? 'waiting' : 'current';
    return { label, state, ...(at ? { at } : {}) };
  });
}

const STATE_TEXT: Record<StepState, string> = {
  done: 'done',
  current: 'in progress',
  waiting: 'waiting for a person',
  failed: 'failed',
  skipped: 'not needed',
  pending: 'not yet',
};

function stepper(run: Run): HTMLElement {
  return h(
    'ol',
    { class: 'stepper', 'aria-label': 'pipeline steps' },
    ...stepStates(run).map((step) =>
      h(
        'li',
        {
          class: `step ${step.state}`,
          title: `${step.label}: ${STATE_TEXT[step.state]}${step.at ? ` (${new Date(step.at).toLocaleTimeString()})` : ''}`,
          'data-state': step.state,
        },
        h('span', { class: 'dot', 'aria-hidden': 'true' }),
        h('span', { class: 'step-label' }, step.label),
      ),
    ),
  );
}

const STATUS: Record<Run['status'], [string, Tone]> = {
  RUNNING: ['running', 'info'],
  SUCCEEDED: ['succeeded', 'ok'],
  FAILED: ['failed', 'bad'],
};

function runRow(run: Run, selected: boolean): HTMLElement {
  const [text, tone] = STATUS[run.status] ?? [run.status, 'neutral'];
  const outcome =
    run.modelVersion === undefined
      ? null
      : h(
          'a',
          {
            class: 'muted small',
            href: `#/models/${encodeURIComponent(run.dataset)}/versions/${run.modelVersion}`,
          },
          `model v${run.modelVersion}${run.promoted === undefined ? '' : run.promoted ? ' · promoted' : ' · not promoted'}`,
        );
  return h(
    'li',
    { class: `run-row${selected ? ' selected' : ''}`, 'data-run': run.runId },
    h(
      'a',
      {
        class: 'run-link',
        href: `#/runs/${encodeURIComponent(run.runId)}`,
        'aria-current': selected ? 'true' : undefined,
      },
      h(
        'div',
        { class: 'run-title' },
        h('strong', {}, run.dataset),
        h('span', { class: 'mono muted small' }, run.runId.slice(0, 8)),
        h(
          'span',
          { class: 'muted small', title: new Date(run.startedAt).toLocaleString() },
          `${ago(run.startedAt)} · ${duration(run.startedAt, run.finishedAt ?? (run.status === 'RUNNING' ? undefined : run.updatedAt))}`,
        ),
      ),
      stepper(run),
      h('div', { class: 'run-end' }, badge(text, tone, run.reason)),
    ),
    outcome || run.reason
      ? h(
          'div',
          { class: 'run-foot' },
          outcome,
          run.status === 'FAILED' && run.reason ? h('span', { class: 'error-text small' }, run.reason) : null,
        )
      : null,
  );
}

/** The epochs of a run: its progress while (and after) it trains, else its model version's card. */
async function learningHistory(
  api: Api,
  run: Run,
  signal: AbortSignal,
): Promise<{ history: readonly EpochLog[]; epochs?: number } | undefined> {
  const progress = await api.progress(run.runId, signal);
  if (progress?.training?.history.length) {
    return { history: progress.training.history, epochs: progress.training.epochs };
  }
  if (run.modelVersion === undefined) return undefined;
  const model = await api.artifact<VersionCard>(run.dataset, run.modelVersion, 'card', signal);
  return model?.history?.length ? { history: model.history } : undefined;
}

function stat(label: string, value: string): HTMLElement {
  return h(
    'div',
    { class: 'stat' },
    h('span', { class: 'stat-value' }, value),
    h('span', { class: 'stat-label' }, label),
  );
}

function runStats(run: Run, history: readonly EpochLog[] | undefined): HTMLElement {
  const final = history?.at(-1);
  const m = run.metrics ?? {};
  return h(
    'div',
    { class: 'stats' },
    stat('epochs', history ? String(history.length) : run.training ? String(run.training.epochs) : '–'),
    stat('final loss', number(final?.validationLoss ?? final?.loss)),
    m.accuracy !== undefined ? stat('test accuracy', percent(m.accuracy)) : null,
    m.macroF1 !== undefined ? stat('test macro-F1', number(m.macroF1)) : null,
    m.rocAuc !== undefined ? stat('test ROC AUC', number(m.rocAuc)) : null,
    m.logLoss !== undefined ? stat('test log loss', number(m.logLoss)) : null,
    m.rmse !== undefined ? stat('test RMSE', number(m.rmse)) : null,
    m.r2 !== undefined ? stat('test R²', number(m.r2)) : null,
    m.mape !== undefined ? stat('test MAPE', percent(m.mape)) : null,
    run.training ? stat('training time', `${run.training.seconds.toFixed(1)} s`) : null,
  );
}

export async function runsView(scope: ViewScope): Promise<void> {
  const { api, root, signal } = scope;
  const list = h('ol', { class: 'runs' });
  const listCard = card(
    'Pipeline runs',
    { subtitle: 'Newest first. Each dot is a step of the training pipeline.', actions: [legend()] },
    list,
  );
  const curveTitle = h('h2', {}, 'Learning curve');
  const curveSubtitle = h('p', { class: 'muted' });
  const curveBody = h('div', { class: 'curve-body' });
  const curveCard = h(
    'section',
    { class: 'card', id: 'learning-curve' },
    h('header', { class: 'card-header' }, h('div', {}, curveTitle, curveSubtitle)),
    curveBody,
  );
  replace(root, h('div', { class: 'stack' }, listCard, curveCard));

  let charts: { loss?: Chart<'line'>; accuracy?: Chart<'line'>; runId?: string; epochs?: number } = {};

  const refresh = async (): Promise<number> => {
    const { runs } = await api.runs(30, signal);
    if (scope.ended) return 0;
    const selectedId = scope.route.parts[0] ?? runs[0]?.runId;
    const selected = runs.find((r) => r.runId === selectedId);
    if (runs.length === 0) {
      replace(
        list,
        h(
          'li',
          {},
          empty('No runs yet', 'Upload a CSV under datasets/<name>/ to the datasets bucket: a run starts.'),
        ),
      );
    } else {
      replace(list, ...runs.map((run) => runRow(run, run.runId === selected?.runId)));
    }
    await drawCurve(selected);
    scope.status(`updated ${new Date().toLocaleTimeString()}`);
    return runs.some((r) => r.status === 'RUNNING') ? 2000 : 15_000;
  };

  const drawCurve = async (run: Run | undefined) => {
    if (!run) {
      curveSubtitle.textContent = '';
      charts = {};
      replace(curveBody, empty('No run selected'));
      return;
    }
    curveSubtitle.textContent = `${run.dataset} · run ${run.runId.slice(0, 8)} · ${run.status.toLowerCase()}`;
    const found = await learningHistory(api, run, signal);
    if (scope.ended) return;
    if (!found) {
      charts = {};
      replace(
        curveBody,
        runStats(run, undefined),
        empty(
          run.status === 'RUNNING' ? 'No epochs yet' : 'No learning curve for this run',
          run.status === 'RUNNING'
            ? 'The curve appears as the training job reports its epochs.'
            : 'This run recorded no training history (or this deployment does not serve it yet).',
        ),
      );
      return;
    }
    const { history, epochs } = found;
    if (epochs && history.length < epochs)
      curveSubtitle.textContent += ` · epoch ${history.length} of ${epochs}`;
    const loss = lossChart(history);
    const accuracy = accuracyChart(history);
    // The same run again (a refresh): new points on the charts already drawn.
    if (charts.runId === run.runId && charts.loss && Boolean(charts.accuracy) === Boolean(accuracy)) {
      if (charts.epochs !== history.length) {
        refreshChart(charts.loss, loss);
        if (charts.accuracy && accuracy) refreshChart(charts.accuracy, accuracy);
        charts.epochs = history.length;
      }
      curveBody.querySelector('.stats')?.replaceWith(runStats(run, history));
      return;
    }
    const lossBox = chartBox('loss per epoch', 280);
    const accuracyBox = accuracy ? chartBox('accuracy per epoch', 280) : undefined;
    replace(
      curveBody,
      runStats(run, history),
      h(
        'div',
        { class: accuracyBox ? 'grid-2' : '' },
        h('figure', {}, h('figcaption', {}, 'Loss'), lossBox.box),
        accuracyBox ? h('figure', {}, h('figcaption', {}, 'Accuracy'), accuracyBox.box) : null,
      ),
    );
    charts = {
      runId: run.runId,
      epochs: history.length,
      loss: scope.chart(mountChart(lossBox.canvas, 'learning-loss', loss)),
      ...(accuracyBox && accuracy
        ? { accuracy: scope.chart(mountChart(accuracyBox.canvas, 'learning-accuracy', accuracy)) }
        : {}),
    };
  };

  scope.repeat(refresh, await refresh());
}

function legend(): HTMLElement {
  const item = (state: StepState, text: string) =>
    h(
      'span',
      { class: `legend-item step ${state}` },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      text,
    );
  return h(
    'div',
    { class: 'legend' },
    item('done', 'done'),
    item('current', 'running'),
    item('waiting', 'waiting'),
    item('failed', 'failed'),
    item('skipped', 'skipped'),
  );
}
