/**
 * One model version (`#/models/<model>/versions/<v>`): its status and the aliases that point at it, its test
 * metrics, confusion matrix and feature importance (when measured), its lineage's run, the audit entries that
 * concern it — and the registry's actions on it: approve, reject, promote (point an alias at it), roll back.
 */
import type { ChartConfiguration } from 'chart.js';
import { approve, promote, reject, rollback } from '../actions.ts';
import type { AuditEntry, ModelVersion, VersionMetrics } from '../api.ts';
import { COLORS, mountChart } from '../charts/chart.ts';
import { actionButton } from '../components/action-dialog.ts';
import { ago, badge, card, chartBox, empty, h, number, replace, when } from '../dom.ts';
import type { ViewScope } from '../view.ts';
import { timelineItems } from './audit.ts';
import { STATUS_TONE, versionCard } from './models.ts';

export async function versionView(scope: ViewScope): Promise<void> {
  const { api, root, signal, route } = scope;
  const model = route.parts[0] as string;
  const number_ = Number(route.parts[2]);
  const [detail, audit] = await Promise.all([api.model(model, signal), api.audit(model, signal)]);
  if (scope.ended) return;
  const version = detail?.versions.find((v) => v.version === number_);
  if (!detail || !version) {
    replace(
      root,
      card(
        'Version not found',
        { class: 'error-state' },
        empty(
          `${model} has no version ${route.parts[2] ?? ''}`,
          detail
            ? `Its versions: ${detail.versions.map((v) => `v${v.version}`).join(', ')}.`
            : `There is no model "${model}".`,
        ),
        h('div', { class: 'empty-actions' }, h('a', { class: 'button', href: '#/models' }, 'Models')),
      ),
    );
    return;
  }
  const [metrics, run] = await Promise.all([
    api.artifact<VersionMetrics>(model, version.version, 'metrics', signal),
    api.run(version.lineage.runId, signal),
  ]);
  if (scope.ended) return;
  const aliases = detail.aliases.filter(
    (a) => a.version === version.version || a.canary?.version === version.version,
  );
  const waiting = run?.status === 'RUNNING' && run.step === 'WaitForApproval';

  const actions = [
    version.status === 'registered' ? actionButton(scope, 'Approve', approve(model, version.version)) : null,
    version.status === 'registered' || version.status === 'approved'
      ? actionButton(scope, 'Reject', reject(model, version.version))
      : null,
    version.status === 'rejected' || version.status === 'archived'
      ? null
      : actionButton(
          scope,
          'Promote…',
          promote(
            model,
            version.version,
            'production',
            detail.aliases.find((a) => a.alias === 'production')?.revision,
          ),
        ),
  ].filter((a): a is HTMLElement => a !== null);

  const header = h(
    'section',
    { class: 'card version-header', 'data-version': version.version, 'data-status': version.status },
    h(
      'div',
      { class: 'card-header' },
      h(
        'div',
        {},
        h(
          'p',
          { class: 'muted small' },
          h('a', { href: '#/models' }, 'Models'),
          ' / ',
          h('a', { href: `#/models/${encodeURIComponent(model)}` }, model),
        ),
        h(
          'h1',
          {},
          `${model} v${version.version} `,
          badge(version.status, STATUS_TONE[version.status] ?? 'neutral'),
        ),
        h(
          'p',
          { class: 'muted' },
          `registered ${ago(version.createdAt)} (${when(version.createdAt)}) by run `,
          h(
            'a',
            { class: 'mono', href: `#/runs/${encodeURIComponent(version.lineage.runId)}` },
            version.lineage.runId.slice(0, 8),
          ),
        ),
        h(
          'div',
          { class: 'chips' },
          ...aliases.map((a) =>
            h(
              'span',
              { class: 'chip', 'data-alias': a.alias },
              h('strong', {}, a.alias),
              a.canary?.version === version.version
                ? ` canary ${Math.round(a.canary.weight * 100)}%`
                : ' → this version',
            ),
          ),
          aliases.length === 0 ? h('span', { class: 'muted' }, 'No alias points at this version.') : null,
        ),
      ),
      actions.length ? h('div', { class: 'card-actions' }, ...actions) : null,
    ),
    waiting
      ? h(
          'p',
          { class: 'callout warn', role: 'note' },
          `Run ${run.runId.slice(0, 8)} waits for a person to approve or reject this version before it deploys.`,
        )
      : null,
  );

  const { element: results, matrix } = versionCard(version, metrics);
  const importance =
    metrics?.importance && Object.keys(metrics.importance).length ? metrics.importance : undefined;
  const importanceBox = importance
    ? chartBox('feature importance', 40 + 26 * Object.keys(importance).length)
    : undefined;
  const aliasRows = detail.aliases.map((a) =>
    h(
      'li',
      { class: 'alias-row', 'data-alias': a.alias },
      h(
        'span',
        {},
        h('strong', {}, a.alias),
        ` → v${a.version}`,
        a.canary ? ` (canary v${a.canary.version})` : '',
      ),
      h(
        'span',
        { class: 'muted small', title: when(a.changedAt) },
        `${a.action} ${ago(a.changedAt)}: ${a.reason}`,
      ),
      a.revision > 1 ? actionButton(scope, 'Roll back', rollback(model, a.alias, a.revision)) : null,
    ),
  );
  replace(
    root,
    h(
      'div',
      { class: 'stack' },
      header,
      card('Test metrics', { subtitle: 'Of the held-out test split' }, metricTiles(version)),
      h(
        'div',
        { class: 'grid-2' },
        results,
        card(
          'Aliases',
          { subtitle: `Where each alias of ${model} points; a rollback undoes its last change.` },
          aliasRows.length
            ? h('ul', { class: 'alias-list' }, ...aliasRows)
            : empty('No aliases', 'Nothing serves this model yet.'),
        ),
      ),
      importanceBox ? card('Feature importance', {}, importanceBox.box) : null,
      card(
        'Audit',
        { subtitle: 'The changes that concern this version, newest first.' },
        h(
          'ol',
          { class: 'timeline' },
          ...timelineItems(audit ? related(audit.audit, version.version) : undefined, version.version),
        ),
      ),
    ),
  );
  if (matrix) scope.chart(mountChart(matrix.canvas, 'confusion-matrix', matrix.config));
  if (importanceBox && importance)
    scope.chart(mountChart(importanceBox.canvas, 'importance', importanceChart(importance)));
}

function metricTiles(version: ModelVersion): HTMLElement {
  const entries = Object.entries(version.metrics).filter(
    (e): e is [string, number] => typeof e[1] === 'number',
  );
  if (entries.length === 0) return empty('No test metrics');
  return h(
    'div',
    { class: 'stats' },
    ...entries.map(([name, value]) =>
      h(
        'div',
        { class: 'stat', 'data-metric': name },
        h('span', { class: 'stat-value' }, Number.isInteger(value) ? String(value) : number(value, 4)),
        h('span', { class: 'stat-label' }, name),
      ),
    ),
  );
}

/** The entries about one version: its status changes, and alias changes to, from or canarying it. */
function related(audit: readonly AuditEntry[], version: number): AuditEntry[] {
  return audit.filter((e) =>
    e.kind === 'status'
      ? e.version === version
      : e.state.version === version || e.previous?.version === version || e.state.canary?.version === version,
  );
}

function importanceChart(importance: Readonly<Record<string, number>>): ChartConfiguration<'bar'> {
  const ranked = Object.entries(importance).sort((a, b) => b[1] - a[1]);
  return {
    type: 'bar',
    data: {
      labels: ranked.map(([name]) => name),
      datasets: [
        {
          label: 'importance',
          data: ranked.map(([, v]) => v),
          backgroundColor: COLORS.indigo,
          borderRadius: 4,
        },
      ],
    },
    options: {
      indexAxis: 'y',
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true } },
    },
  };
}
