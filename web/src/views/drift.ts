/**
 * Drift: the alarms' states, and per model how far live traffic has moved from the training data — each
 * feature's PSI per monitoring window, against the threshold where the drift alarm fires.
 */
import type { Alarm, AlarmState, DriftHistory } from '../api.ts';
import { mountChart } from '../charts/chart.ts';
import { driftChart } from '../charts/drift.ts';
import { ago, axisTimes, badge, card, chartBox, empty, h, replace, type Tone, when } from '../dom.ts';
import type { ViewScope } from '../view.ts';

const STATE: Record<AlarmState, [string, Tone]> = {
  OK: ['OK', 'ok'],
  ALARM: ['ALARM', 'bad'],
  INSUFFICIENT_DATA: ['NO DATA', 'neutral'],
};

const stateBadge = (alarm: Alarm) => {
  const [text, tone] = STATE[alarm.state] ?? [alarm.state, 'neutral'];
  return badge(text, tone, alarm.reason);
};

function alarmTiles(alarms: readonly Alarm[] | undefined): HTMLElement {
  if (!alarms) return empty('No alarm states', 'This deployment does not serve the monitoring API yet.');
  if (alarms.length === 0)
    return empty('No alarms yet', 'Alarms appear once the platform has evaluated them.');
  const order: Record<string, number> = { ALARM: 0, INSUFFICIENT_DATA: 1, OK: 2 };
  return h(
    'ul',
    { class: 'alarms' },
    ...[...alarms]
      .sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3) || a.name.localeCompare(b.name))
      .map((alarm) =>
        h(
          'li',
          {
            class: `alarm ${alarm.state === 'ALARM' ? 'firing' : ''}`,
            'data-alarm': alarm.name,
            'data-state': alarm.state,
          },
          h(
            'div',
            { class: 'alarm-head' },
            h('span', { class: 'alarm-kind' }, alarm.model ? `${alarm.kind} · ${alarm.model}` : alarm.kind),
            stateBadge(alarm),
          ),
          h('strong', { class: 'alarm-name', title: alarm.name }, alarm.name),
          alarm.reason ? h('p', { class: 'muted small clamp' }, alarm.reason) : null,
          alarm.updatedAt
            ? h(
                'time',
                { class: 'muted small', datetime: alarm.updatedAt, title: when(alarm.updatedAt) },
                `since ${ago(alarm.updatedAt)}`,
              )
            : null,
        ),
      ),
  );
}

export async function driftView(scope: ViewScope): Promise<void> {
  const { api, root, signal } = scope;
  const alarmsBody = h('div');
  const modelsBody = h('div', { class: 'stack' });
  replace(
    root,
    h(
      'div',
      { class: 'stack' },
      card(
        'Alarms',
        { subtitle: 'Drift, latency, errors, failed runs and canaries. Red needs a look.' },
        alarmsBody,
      ),
      modelsBody,
    ),
  );

  const [alarms, { models }] = await Promise.all([api.alarms(signal), api.models(signal)]);
  if (scope.ended) return;
  replace(alarmsBody, alarmTiles(alarms?.alarms));
  if (models.length === 0) {
    replace(
      modelsBody,
      card('Drift', {}, empty('No models yet', 'Drift is measured for models that serve traffic.')),
    );
    return;
  }
  const histories = await Promise.all(models.map((m) => api.drift(m.model, 200, signal)));
  if (scope.ended) return;
  const mounts: (() => void)[] = [];
  replace(
    modelsBody,
    ...models.map((m, i) => {
      const history = histories[i];
      const alarm = alarms?.alarms.find((a) => a.kind === 'drift' && a.model === m.model);
      const section = driftCard(m.model, history, alarm);
      if (section.mount) mounts.push(section.mount);
      return section.element;
    }),
  );
  for (const mount of mounts) mount();

  scope.repeat(async () => {
    const latest = await api.alarms(signal);
    if (!scope.ended) replace(alarmsBody, alarmTiles(latest?.alarms));
    scope.status(`updated ${new Date().toLocaleTimeString()}`);
    return 15_000;
  }, 15_000);

  function driftCard(
    model: string,
    history: DriftHistory | undefined,
    alarm: Alarm | undefined,
  ): { element: HTMLElement; mount?: () => void } {
    const actions = alarm ? [stateBadge(alarm)] : [];
    if (!history) {
      return {
        element: card(
          `Drift · ${model}`,
          { actions },
          empty('No drift data', 'This deployment does not serve drift reports yet.'),
        ),
      };
    }
    if (history.reports.length === 0) {
      return {
        element: card(
          `Drift · ${model}`,
          { actions, subtitle: `alarm threshold: PSI ${history.threshold}` },
          empty(
            'No drift reports yet',
            'The monitor writes one for each window in which the model served traffic.',
          ),
        ),
      };
    }
    const last = history.reports.at(-1);
    const box = chartBox(`feature drift of ${model}`, 300);
    const element = card(
      `Drift · ${model}`,
      {
        actions,
        subtitle: `PSI per feature and window (above ${history.threshold}: drifted). Last window ${last ? ago(last.windowEnd) : ''}, ${last?.samples ?? 0} predictions, score ${last?.score.toFixed(3) ?? '–'}.`,
      },
      box.box,
    );
    element.dataset.model = model;
    return {
      element,
      mount: () => scope.chart(mountChart(box.canvas, 'drift', driftChart(history, axisTimes))),
    };
  }
}
