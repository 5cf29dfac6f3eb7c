/**
 * The parts of a run's page that read as tables: its steps with how long each took, its hyperparameters, its
 * lineage (dataset version and its validation report, code and libraries, parent version), its search's
 * trials and what its training cost.
 */
import type { ModelVersion, Run, RunCost, Trial, ValidationReport } from '../api.ts';
import { badge, card, duration, empty, h, number } from '../dom.ts';
import { paramText } from '../tracker.ts';

const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A two-column table: name → value. */
export function keyValues(label: string, rows: readonly [string, Node | string][]): HTMLElement {
  return h(
    'table',
    { class: 'key-values', 'aria-label': label },
    h(
      'tbody',
      {},
      ...rows.map(([name, value]) => h('tr', {}, h('th', { scope: 'row' }, name), h('td', {}, value))),
    ),
  );
}

/** Each step the run entered, when, and how long until the next (the last: until the run ended, or now). */
export function stepsTable(run: Run): HTMLElement {
  const steps = run.steps ?? [];
  if (steps.length === 0) return empty('No steps recorded');
  const end = run.finishedAt ?? (run.status === 'RUNNING' ? undefined : run.updatedAt);
  return h(
    'table',
    { class: 'data-table steps-table', 'aria-label': 'steps' },
    h(
      'thead',
      {},
      h('tr', {}, h('th', {}, 'step'), h('th', {}, 'entered'), h('th', { class: 'numeric' }, 'took')),
    ),
    h(
      'tbody',
      {},
      ...steps.map((step, i) => {
        const until = steps[i + 1]?.at ?? end;
        const last = i === steps.length - 1;
        return h(
          'tr',
          { 'data-step': step.name },
          h('td', {}, step.name),
          h('td', { title: step.at }, clock.format(new Date(step.at))),
          h(
            'td',
            { class: 'numeric' },
            duration(step.at, until),
            last && run.status === 'RUNNING' ? h('span', { class: 'muted small' }, ' so far') : null,
          ),
        );
      }),
    ),
  );
}

export function hyperparametersCard(run: Run): HTMLElement {
  const entries = Object.entries(run.hyperparameters ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return card(
    'Hyperparameters',
    { subtitle: run.search ? "The search's best trial's" : 'The defaults with the manifest over them' },
    entries.length
      ? keyValues(
          'hyperparameters',
          entries.map(([k, v]) => [k, paramText(v)]),
        )
      : empty(
          'No hyperparameters recorded',
          'The run has not planned its training (or ended before it did).',
        ),
  );
}

/** Where the model came from: the version's lineage, else what the run itself says of its dataset. */
export function lineageCard(
  run: Run,
  version: ModelVersion | undefined,
  report: ValidationReport | undefined,
): HTMLElement {
  const lineage = version?.lineage;
  const datasetVersion = lineage?.datasetVersion ?? run.datasetVersion;
  const rows: [string, Node | string][] = [
    [
      'dataset',
      h('span', {}, h('strong', {}, run.dataset), datasetVersion ? ` @ ${datasetVersion.slice(0, 12)}` : ''),
    ],
    ['object', h('code', {}, lineage?.datasetKey ?? run.datasetKey)],
  ];
  if (lineage) {
    rows.push(['dataset hash', h('code', {}, lineage.datasetHash.slice(0, 16))]);
    rows.push(['code version', h('code', {}, lineage.codeVersion)]);
    rows.push(['backend', lineage.backend]);
    rows.push([
      'libraries',
      h(
        'span',
        { class: 'chips' },
        ...Object.entries(lineage.libraries).map(([n, v]) => h('span', { class: 'chip' }, `${n} ${v}`)),
      ),
    ]);
    rows.push([
      'parent version',
      lineage.parentVersion === undefined
        ? 'none (trained from the initializers)'
        : h(
            'a',
            { href: `#/models/${encodeURIComponent(run.dataset)}/versions/${lineage.parentVersion}` },
            `v${lineage.parentVersion} (warm start)`,
          ),
    ]);
    if (lineage.ensemble)
      rows.push(['ensemble', `${lineage.ensemble.method} of trials ${lineage.ensemble.trials.join(', ')}`]);
  }
  if (version) {
    rows.push([
      'model',
      h(
        'a',
        { href: `#/models/${encodeURIComponent(version.model)}/versions/${version.version}` },
        `${version.model} v${version.version}`,
      ),
    ]);
  }
  return card(
    'Lineage',
    { subtitle: 'What exactly produced this model', class: 'lineage' },
    keyValues('lineage', rows),
    h('h3', {}, 'Validation report'),
    report
      ? reportSummary(report)
      : empty(
          'No validation report',
          'This dataset version has none (an image dataset, or it was refused first).',
        ),
  );
}

function reportSummary(report: ValidationReport): HTMLElement {
  const features = report.columns.filter((c) => c.role === 'feature').length;
  const findings = report.findings.slice(0, 5);
  return h(
    'div',
    { class: 'report', 'data-report': report.valid ? 'valid' : 'invalid' },
    h(
      'p',
      {},
      badge(report.valid ? 'valid' : 'invalid', report.valid ? 'ok' : 'bad'),
      `${report.rowCount} rows · ${features} features${report.label ? ` · label ${report.label.name} (${report.label.task})` : ''} · ${report.duplicateRows} duplicate rows · ${report.errors} errors, ${report.warnings} warnings`,
    ),
    findings.length
      ? h(
          'ul',
          { class: 'findings small' },
          ...findings.map((f) => h('li', { class: f.severity === 'error' ? 'error-text' : '' }, f.message)),
        )
      : null,
  );
}

/** The search's trials, best first by its metric; undefined for a run without a search. */
export function trialsTable(trials: readonly Trial[], best: number | undefined): HTMLElement {
  const names = [...new Set(trials.flatMap((t) => Object.keys(t.parameters)))].sort();
  return h(
    'table',
    { class: 'data-table trials-table', 'aria-label': 'trials' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', {}, 'trial'),
        h('th', {}, 'status'),
        h('th', { class: 'numeric' }, trials[0]?.metric ?? 'score'),
        ...names.map((n) => h('th', {}, n)),
        h('th', { class: 'numeric' }, 'seconds'),
      ),
    ),
    h(
      'tbody',
      {},
      ...trials.map((t) =>
        h(
          'tr',
          { 'data-trial': t.trial, class: t.trial === best ? 'best' : '' },
          h('td', {}, String(t.trial), t.trial === best ? badge('best', 'ok') : null),
          h(
            'td',
            { title: t.reason },
            badge(t.status.toLowerCase(), t.status === 'SUCCEEDED' ? 'ok' : 'bad'),
          ),
          h('td', { class: 'numeric' }, number(t.score, 4)),
          ...names.map((n) => h('td', {}, paramText(t.parameters[n]))),
          h('td', { class: 'numeric' }, t.seconds === undefined ? '–' : t.seconds.toFixed(1)),
        ),
      ),
    ),
  );
}

const usd = (value: number) => `$${value < 0.01 && value > 0 ? value.toPrecision(2) : value.toFixed(2)}`;

/** What the run's training jobs cost, when the platform recorded it. */
export function costCard(cost: RunCost | undefined): HTMLElement {
  if (!cost) {
    return card(
      'Cost',
      {},
      empty('cost not recorded', 'This platform did not record what the training jobs of this run cost.'),
    );
  }
  const gaps = [
    ...(cost.unpriced?.length
      ? [`No price in the table for ${cost.unpriced.join(', ')}: not in the total.`]
      : []),
    ...(cost.unrecorded ?? []).map((why) => `Not read: ${why}`),
  ];
  return card(
    'Cost',
    { subtitle: `${cost.region}, prices as of ${cost.pricesAsOf}` },
    ...gaps.map((gap) => h('p', { class: 'muted small' }, gap)),
    h(
      'div',
      { class: 'stats' },
      ...(
        [
          ['total', usd(cost.usd)],
          ['on demand', usd(cost.onDemandUsd)],
          ['saved by spot', usd(cost.spotSavingsUsd)],
        ] as const
      ).map(([label, value]) =>
        h(
          'div',
          { class: 'stat' },
          h('span', { class: 'stat-value' }, value),
          h('span', { class: 'stat-label' }, label),
        ),
      ),
    ),
    h(
      'table',
      { class: 'data-table', 'aria-label': 'training jobs' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['trial', 'on', 'instance', 'status', 'billable s', 'cost'].map((t) => h('th', {}, t)),
        ),
      ),
      h(
        'tbody',
        {},
        ...cost.jobs.map((job) =>
          h(
            'tr',
            {},
            h('td', {}, String(job.trial)),
            h('td', { class: 'small', title: job.jobName }, job.platform),
            h('td', {}, job.instanceType, job.spot ? badge('spot', 'info') : null),
            h('td', {}, job.status),
            h('td', { class: 'numeric' }, job.billableSeconds.toFixed(0)),
            h('td', { class: 'numeric' }, job.usd === undefined ? 'unpriced' : usd(job.usd)),
          ),
        ),
      ),
    ),
  );
}
