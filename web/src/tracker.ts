/**
 * The runs table's logic, apart from the page (no DOM): its columns (the run's fields, then every
 * hyperparameter and every metric of the runs shown), and the filter, sort and page that the fragment's query
 * holds — `#/runs?q=iris&status=FAILED&sort=metric:accuracy&dir=desc&page=2`.
 */
import type { RunRecord as Run, RunStatus } from '../../core/api-types.ts';

export type ColumnKind = 'text' | 'number' | 'time';

export interface Column {
  /** `dataset`, `status`, `started`, `duration`, `param:<name>` or `metric:<name>`. */
  readonly id: string;
  readonly label: string;
  readonly group: 'run' | 'param' | 'metric';
  readonly kind: ColumnKind;
  /** What the column sorts by (undefined sorts last either way). */
  readonly value: (run: Run, now: number) => string | number | undefined;
}

export interface TableState {
  /** Text searched for in the dataset, status, run id and step. */
  readonly q: string;
  readonly status: RunStatus | '';
  /** A column's id. */
  readonly sort: string;
  readonly dir: 'asc' | 'desc';
  /** 1-based. */
  readonly page: number;
  readonly size: number;
}

export const PAGE_SIZES = [10, 25, 50, 100] as const;
export const DEFAULT_STATE: TableState = {
  q: '',
  status: '',
  sort: 'started',
  dir: 'desc',
  page: 1,
  size: 25,
};
const STATUSES: readonly RunStatus[] = ['RUNNING', 'SUCCEEDED', 'FAILED'];

export function readState(query: URLSearchParams): TableState {
  const status = query.get('status') ?? '';
  const page = Number(query.get('page'));
  const size = Number(query.get('size'));
  return {
    q: query.get('q') ?? '',
    status: (STATUSES as readonly string[]).includes(status) ? (status as RunStatus) : '',
    sort: query.get('sort') || DEFAULT_STATE.sort,
    dir: query.get('dir') === 'asc' ? 'asc' : query.get('dir') === 'desc' ? 'desc' : DEFAULT_STATE.dir,
    page: Number.isInteger(page) && page > 0 ? page : 1,
    // Any size a link names (1–100); the page's menu offers PAGE_SIZES.
    size: Number.isInteger(size) && size >= 1 && size <= 100 ? size : DEFAULT_STATE.size,
  };
}

/** The state as a fragment query, leaving out what is the default: `?sort=…` or ''. */
export function writeState(state: TableState): string {
  const query = new URLSearchParams();
  for (const key of Object.keys(DEFAULT_STATE) as (keyof TableState)[]) {
    if (state[key] !== DEFAULT_STATE[key]) query.set(key, String(state[key]));
  }
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** When a run ended (or now, while it runs). */
export function endOf(run: Run, now: number): number {
  const end = run.finishedAt ?? (run.status === 'RUNNING' ? undefined : run.updatedAt);
  return end ? new Date(end).getTime() : now;
}

/** Metrics where lower is better; every other metric is better higher. */
const LOWER_IS_BETTER = /^(rmse|mae|mape|mse|logLoss|loss|validationLoss|brier)$/i;
export const lowerIsBetter = (metric: string): boolean => LOWER_IS_BETTER.test(metric);

/** A hyperparameter's value as the table shows it: `[32, 16]` → `32 × 16`. */
export function paramText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map(paramText).join(' × ');
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(+value.toPrecision(4));
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The run's columns, then each hyperparameter and each metric that any of the runs has, by name. */
export function columns(runs: readonly Run[]): Column[] {
  const params = new Set<string>();
  const metrics = new Set<string>();
  for (const run of runs) {
    for (const name of Object.keys(run.hyperparameters ?? {})) params.add(name);
    for (const [name, value] of Object.entries(run.metrics ?? {})) {
      if (typeof value === 'number') metrics.add(name);
    }
  }
  return [
    { id: 'dataset', label: 'dataset', group: 'run', kind: 'text', value: (r) => r.dataset },
    { id: 'status', label: 'status', group: 'run', kind: 'text', value: (r) => r.status },
    {
      id: 'started',
      label: 'started',
      group: 'run',
      kind: 'time',
      value: (r) => new Date(r.startedAt).getTime(),
    },
    {
      id: 'duration',
      label: 'duration',
      group: 'run',
      kind: 'number',
      value: (r, now) => endOf(r, now) - new Date(r.startedAt).getTime(),
    },
    ...[...params].sort().map(
      (name): Column => ({
        id: `param:${name}`,
        label: name,
        group: 'param',
        kind: 'text',
        value: (r) => {
          const v = r.hyperparameters?.[name];
          return typeof v === 'number' ? v : v === undefined ? undefined : paramText(v);
        },
      }),
    ),
    ...[...metrics].sort().map(
      (name): Column => ({
        id: `metric:${name}`,
        label: name,
        group: 'metric',
        kind: 'number',
        value: (r) => r.metrics?.[name],
      }),
    ),
  ];
}

export interface TablePage {
  readonly rows: readonly Run[];
  /** Runs that pass the filter. */
  readonly total: number;
  /** The page shown (the state's, or the last one when the filter left fewer). */
  readonly page: number;
  readonly pages: number;
  /** 1-based positions of the first and last row shown (0 and 0 when none). */
  readonly from: number;
  readonly to: number;
}

/** The runs that pass the filter, sorted by the state's column, cut to its page. */
export function tablePage(
  runs: readonly Run[],
  cols: readonly Column[],
  state: TableState,
  now: number,
): TablePage {
  const q = state.q.trim().toLowerCase();
  const kept = runs.filter(
    (run) =>
      (state.status === '' || run.status === state.status) &&
      (q === '' ||
        [run.dataset, run.status, run.runId, run.step ?? ''].some((text) => text.toLowerCase().includes(q))),
  );
  const column = cols.find((c) => c.id === state.sort) ?? cols.find((c) => c.id === DEFAULT_STATE.sort);
  const sign = state.dir === 'asc' ? 1 : -1;
  const sorted = column
    ? kept
        .map((run) => ({ run, key: column.value(run, now) }))
        .sort((a, b) => {
          if (a.key === undefined || b.key === undefined) {
            return a.key === b.key ? 0 : a.key === undefined ? 1 : -1; // blanks last, either way
          }
          const order =
            typeof a.key === 'number' && typeof b.key === 'number'
              ? a.key - b.key
              : String(a.key).localeCompare(String(b.key), undefined, { numeric: true });
          return sign * order || a.run.runId.localeCompare(b.run.runId);
        })
        .map((entry) => entry.run)
    : kept;
  const pages = Math.max(1, Math.ceil(sorted.length / state.size));
  const page = Math.min(state.page, pages);
  const rows = sorted.slice((page - 1) * state.size, page * state.size);
  const from = rows.length === 0 ? 0 : (page - 1) * state.size + 1;
  return { rows, total: sorted.length, page, pages, from, to: from === 0 ? 0 : from + rows.length - 1 };
}
