/** What a view gets from the app: the API, where to draw, and a lifetime that ends when the user navigates. */
import type { Chart, ChartType } from 'chart.js';
import type { Api } from './api.ts';

export interface Route {
  readonly view: 'runs' | 'compare' | 'models' | 'drift';
  /** The path after the view's name: `#/models/iris/versions/2` → ['iris', 'versions', '2']. */
  readonly parts: readonly string[];
  /** The fragment's query (`#/runs?sort=metric:accuracy&dir=desc`): what a link to the view reproduces. */
  readonly query: URLSearchParams;
}

/** A message over the views (the outcome of an action), which outlives the view that caused it. */
export type Notify = (text: string, tone: 'ok' | 'bad') => void;

/**
 * One view's lifetime: its requests are aborted, its timers cleared and its charts destroyed when it ends.
 */
export class ViewScope {
  private readonly controller = new AbortController();
  private readonly charts = new Set<Chart>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    readonly api: Api,
    readonly root: HTMLElement,
    readonly route: Route,
    /** Goes to another place of the dashboard (`#/models/iris`); `replace` keeps it out of the history. */
    readonly navigate: (hash: string, replace?: boolean) => void,
    /** Says in the header how fresh the data is. */
    readonly status: (text: string) => void,
    readonly notify: Notify,
  ) {}

  /** Draws the view again from the API (after an action changed what it shows). */
  reload(): void {
    this.navigate(location.hash, true);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get ended(): boolean {
    return this.controller.signal.aborted;
  }

  chart<T extends ChartType>(chart: Chart<T>): Chart<T> {
    this.charts.add(chart as unknown as Chart);
    return chart;
  }

  /** Runs `fn` again `ms` after each run ends (`ms` may change with what it found), until the view ends. */
  repeat(fn: () => Promise<number>, firstDelayMs: number): void {
    const schedule = (ms: number) => {
      if (this.ended) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        // A hidden tab asks nothing (a run waiting for approval may wait for days): it refreshes when shown.
        if (document.hidden) {
          document.addEventListener('visibilitychange', () => schedule(0), {
            once: true,
            signal: this.signal,
          });
          return;
        }
        fn().then(schedule, (error: unknown) => {
          if (!this.ended) console.warn('refresh failed', error);
          schedule(Math.max(ms, 10_000));
        });
      }, ms);
      this.timers.add(timer);
    };
    schedule(firstDelayMs);
  }

  end(): void {
    this.controller.abort();
    for (const timer of this.timers) clearTimeout(timer);
    for (const chart of this.charts) chart.destroy();
    this.timers.clear();
    this.charts.clear();
  }
}

export type View = (scope: ViewScope) => Promise<void>;
