/**
 * Runs: the pipeline runs as a table, as an experiment tracker shows them — dataset, status, start, duration,
 * then every hyperparameter and every metric of the runs (a column each) — filtered by text and status,
 * sorted by any column, a page at a time, all of it in the fragment's query (tracker.ts). Ticking 2 to 5 runs
 * compares them (`#/compare`); a run's id opens its page. Live while a run is RUNNING.
 */
import type { Run } from '../api.ts';
import { ago, card, duration, empty, h, number, replace, when } from '../dom.ts';
import {
  type Column,
  columns,
  DEFAULT_STATE,
  endOf,
  PAGE_SIZES,
  paramText,
  readState,
  type TableState,
  tablePage,
  writeState,
} from '../tracker.ts';
import type { ViewScope } from '../view.ts';
import { statusBadge } from './steps.ts';

/** How many runs the table reads: it filters, sorts and pages them in the page. */
const RUNS_READ = 1000;
/** How many runs a comparison takes. */
export const COMPARE = { min: 2, max: 5 } as const;

export async function runsView(scope: ViewScope): Promise<void> {
  const { api, root, signal } = scope;
  let state = readState(scope.route.query);
  let runs: readonly Run[] = (await api.runs(RUNS_READ, signal)).runs;
  if (scope.ended) return;
  const selected = new Set<string>();

  const filter = h('input', {
    id: 'runs-filter',
    type: 'search',
    placeholder: 'Filter by dataset, status or run id',
    'aria-label': 'filter runs',
    value: state.q,
  });
  const status = h(
    'select',
    { id: 'runs-status', 'aria-label': 'status' },
    ...['', 'RUNNING', 'SUCCEEDED', 'FAILED'].map((s) =>
      h('option', { value: s, selected: s === state.status }, s === '' ? 'any status' : s.toLowerCase()),
    ),
  );
  const size = h(
    'select',
    { id: 'runs-size', 'aria-label': 'runs per page' },
    ...[...new Set([...PAGE_SIZES, state.size])]
      .sort((a, b) => a - b)
      .map((n) => h('option', { value: n, selected: n === state.size }, `${n} per page`)),
  );
  const compare = h('button', { type: 'button', class: 'button', id: 'compare', disabled: true }, 'Compare');
  const table = h('table', { class: 'runs-table', 'aria-label': 'runs' });
  const range = h('span', { class: 'muted', id: 'runs-range', 'aria-live': 'polite' });
  const previous = h(
    'button',
    { type: 'button', class: 'button secondary', id: 'runs-previous' },
    '‹ Previous',
  );
  const next = h('button', { type: 'button', class: 'button secondary', id: 'runs-next' }, 'Next ›');
  const body = h('div', { class: 'table-scroll' }, table);

  const change = (patch: Partial<TableState>) => {
    state = { ...state, ...patch };
    // The link reproduces the view; replaceState fires no hashchange, so the view is not drawn anew.
    history.replaceState(null, '', `#/runs${writeState(state)}`);
    draw();
  };
  filter.addEventListener('input', () => change({ q: filter.value, page: 1 }));
  status.addEventListener('change', () => change({ status: status.value as TableState['status'], page: 1 }));
  size.addEventListener('change', () => change({ size: Number(size.value), page: 1 }));
  previous.addEventListener('click', () => change({ page: Math.max(1, state.page - 1) }));
  next.addEventListener('click', () => change({ page: state.page + 1 }));
  compare.addEventListener('click', () =>
    scope.navigate(`#/compare?runs=${[...selected].map(encodeURIComponent).join(',')}`),
  );

  const draw = () => {
    if (runs.length === 0) {
      replace(
        body,
        empty(
          'No runs yet',
          'Upload a CSV under datasets/<name>/ to the datasets bucket (or `nimbus datasets upload`): a run starts.',
        ),
      );
      return;
    }
    if (!body.contains(table)) replace(body, table);
    const now = Date.now();
    const cols = columns(runs);
    const page = tablePage(runs, cols, state, now);
    if (page.page !== state.page) state = { ...state, page: page.page };
    for (const id of selected) if (!runs.some((r) => r.runId === id)) selected.delete(id);
    replace(
      table,
      head(cols, state, (sort) => change(sortBy(state, sort))),
      rows(page.rows, cols, now),
    );
    range.textContent = page.total === 0 ? '0 runs' : `${page.from}–${page.to} of ${page.total}`;
    previous.disabled = page.page <= 1;
    next.disabled = page.page >= page.pages;
    updateCompare();
  };

  const updateCompare = () => {
    compare.disabled = selected.size < COMPARE.min || selected.size > COMPARE.max;
    compare.textContent = selected.size ? `Compare ${selected.size}` : 'Compare';
    for (const box of table.querySelectorAll<HTMLInputElement>('input[data-select]')) {
      box.checked = selected.has(box.value);
      box.disabled = !box.checked && selected.size >= COMPARE.max;
    }
  };
  table.addEventListener('change', (event) => {
    const box = event.target as HTMLInputElement;
    if (!box.matches('input[data-select]')) return;
    if (box.checked) selected.add(box.value);
    else selected.delete(box.value);
    updateCompare();
  });

  replace(
    root,
    card(
      'Runs',
      {
        subtitle: `Every pipeline run, its hyperparameters and its test metrics. Tick ${COMPARE.min} to ${COMPARE.max} runs to compare them.`,
        actions: [compare],
      },
      h('div', { class: 'toolbar' }, filter, status, size),
      body,
      h('div', { class: 'pager' }, range, h('div', { class: 'pager-buttons' }, previous, next)),
    ),
  );
  draw();

  const refresh = async (): Promise<number> => {
    runs = (await api.runs(RUNS_READ, signal)).runs;
    if (scope.ended) return 0;
    draw();
    scope.status(`updated ${new Date().toLocaleTimeString()}`);
    return runs.some((r) => r.status === 'RUNNING') ? 2000 : 15_000;
  };
  scope.status(`updated ${new Date().toLocaleTimeString()}`);
  scope.repeat(refresh, runs.some((r) => r.status === 'RUNNING') ? 2000 : 15_000);
}

/** A click on a column's header: by it, descending first for numbers and times; again, the other way. */
function sortBy(state: TableState, column: Column): Partial<TableState> {
  if (state.sort === column.id) return { dir: state.dir === 'asc' ? 'desc' : 'asc', page: 1 };
  return { sort: column.id, dir: column.kind === 'text' ? 'asc' : DEFAULT_STATE.dir, page: 1 };
}

function head(cols: readonly Column[], state: TableState, sort: (column: Column) => void): HTMLElement {
  const groups = [
    h('th', { colspan: 2, class: 'group' }),
    h('th', { colspan: cols.filter((c) => c.group === 'run').length, class: 'group' }, 'run'),
    ...(['param', 'metric'] as const).map((group) => {
      const count = cols.filter((c) => c.group === group).length;
      return count
        ? h(
            'th',
            { colspan: count, class: `group group-${group}` },
            group === 'param' ? 'hyperparameters' : 'test metrics',
          )
        : null;
    }),
  ];
  return h(
    'thead',
    {},
    h('tr', { class: 'groups' }, ...groups),
    h(
      'tr',
      {},
      h('th', { scope: 'col', class: 'select' }, h('span', { class: 'visually-hidden' }, 'select')),
      h('th', { scope: 'col' }, 'run'),
      ...cols.map((column) => {
        const sorted = state.sort === column.id;
        return h(
          'th',
          {
            scope: 'col',
            class: `col-${column.group}${column.kind === 'text' ? '' : ' numeric'}`,
            'aria-sort': sorted ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none',
            'data-column': column.id,
          },
          h(
            'button',
            { type: 'button', class: 'sort', onclick: () => sort(column) },
            column.label,
            h(
              'span',
              { class: 'sort-mark', 'aria-hidden': 'true' },
              sorted ? (state.dir === 'asc' ? '▲' : '▼') : '',
            ),
          ),
        );
      }),
    ),
  );
}

function rows(runs: readonly Run[], cols: readonly Column[], now: number): HTMLElement {
  if (runs.length === 0) {
    return h(
      'tbody',
      {},
      h(
        'tr',
        {},
        h('td', { colspan: cols.length + 2 }, empty('No run matches', 'Change the filter or the status.')),
      ),
    );
  }
  return h(
    'tbody',
    {},
    ...runs.map((run) =>
      h(
        'tr',
        { 'data-run': run.runId },
        h(
          'td',
          { class: 'select' },
          h('input', {
            type: 'checkbox',
            value: run.runId,
            'data-select': true,
            'aria-label': `select ${run.runId}`,
          }),
        ),
        h(
          'td',
          {},
          h(
            'a',
            { class: 'mono', href: `#/runs/${encodeURIComponent(run.runId)}`, title: run.runId },
            run.runId.slice(0, 8),
          ),
        ),
        ...cols.map((column) => cell(run, column, now)),
      ),
    ),
  );
}

function cell(run: Run, column: Column, now: number): HTMLElement {
  const numeric = column.kind === 'text' ? '' : 'numeric';
  switch (column.id) {
    case 'dataset':
      return h('td', {}, h('strong', {}, run.dataset));
    case 'status':
      return h(
        'td',
        {},
        statusBadge(run),
        run.status === 'RUNNING' && run.step ? h('span', { class: 'muted small' }, run.step) : null,
      );
    case 'started':
      return h('td', { class: numeric, title: when(run.startedAt) }, ago(run.startedAt, now));
    case 'duration':
      return h('td', { class: numeric }, duration(run.startedAt, new Date(endOf(run, now)).toISOString()));
  }
  if (column.group === 'param') {
    return h(
      'td',
      { class: typeof run.hyperparameters?.[column.label] === 'number' ? 'numeric' : '' },
      paramText(run.hyperparameters?.[column.label]),
    );
  }
  const value = column.value(run, now);
  return h('td', { class: numeric }, typeof value === 'number' ? number(value, 4) : '');
}
