/** A model's audit log as a timeline: each alias and status change, who made it and why, newest first. */
import type { AuditEntry } from '../api.ts';
import { ago, empty, h, type Tone, when } from '../dom.ts';

/** What an audit entry did, in words. */
function actionText(e: AuditEntry): string {
  if (e.kind === 'status') return `v${e.version} ${e.status}`;
  if (e.action === 'promote') return `${e.alias} → v${e.state.version}`;
  if (e.action === 'rollback') return `${e.alias} rolled back to v${e.state.version}`;
  return e.state.canary
    ? `${e.alias}: canary v${e.state.canary.version} at ${Math.round(e.state.canary.weight * 100)}%`
    : `${e.alias}: canary ended`;
}

const ACTION_TONE: Record<string, Tone> = {
  register: 'neutral',
  approve: 'ok',
  reject: 'bad',
  archive: 'neutral',
  promote: 'info',
  canary: 'warn',
  rollback: 'warn',
};

export function timelineItems(
  audit: readonly AuditEntry[] | undefined,
  selected: number | undefined,
): HTMLElement[] {
  if (!audit) return [h('li', {}, empty('No audit history', 'This deployment does not serve it yet.'))];
  if (audit.length === 0) return [h('li', {}, empty('No changes yet'))];
  return [...audit]
    .sort((a, b) => b.at.localeCompare(a.at))
    .map((entry) => {
      const version = entry.kind === 'status' ? entry.version : entry.state.version;
      const related =
        version === selected || (entry.kind === 'alias' && entry.state.canary?.version === selected);
      const who = entry.who.startsWith('pipeline:')
        ? `pipeline run ${entry.who.slice(9, 17)}`
        : entry.who.replace(/^arn:aws:iam::\d+:/, '');
      return h(
        'li',
        { class: `timeline-item ${ACTION_TONE[entry.action] ?? 'neutral'}${related ? ' related' : ''}` },
        h('span', { class: 'timeline-dot', 'aria-hidden': 'true' }),
        h(
          'div',
          { class: 'timeline-body' },
          h(
            'div',
            { class: 'timeline-head' },
            h('strong', {}, actionText(entry)),
            h('time', { datetime: entry.at, title: when(entry.at) }, ago(entry.at)),
          ),
          h('p', { class: 'small' }, entry.why),
          h('p', { class: 'muted small' }, who),
        ),
      );
    });
}
