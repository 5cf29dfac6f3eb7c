/** What the run views share: a run's status badge, its pipeline steps as a stepper, and its learning curve's data. */
import type { Api, EpochLog, Run, VersionCard } from '../api.ts';
import { badge, h, type Tone } from '../dom.ts';

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

export function stepper(run: Run): HTMLElement {
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

export const STATUS: Record<Run['status'], [string, Tone]> = {
  RUNNING: ['running', 'info'],
  SUCCEEDED: ['succeeded', 'ok'],
  FAILED: ['failed', 'bad'],
};

/** A run's status as a badge (its reason as the badge's title). */
export function statusBadge(run: Run): HTMLElement {
  const [text, tone] = STATUS[run.status] ?? [run.status, 'neutral'];
  return badge(text, tone, run.reason);
}

/** The epochs of a run: its progress while (and after) it trains, else its model version's card. */
export async function learningHistory(
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

export function stat(label: string, value: string): HTMLElement {
  return h(
    'div',
    { class: 'stat' },
    h('span', { class: 'stat-value' }, value),
    h('span', { class: 'stat-label' }, label),
  );
}
