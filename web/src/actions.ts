/**
 * The registry's changes the dashboard makes, each the body of one change route (core/declaration/routes.ts:
 * approveVersion, rejectVersion, setAlias, rollbackAlias, stopRun, retryRun) with the reason it asks for.
 */
import type {
  AliasChange,
  AliasChangeResult,
  RetryRun,
  RetryRunResult,
  RollbackChange,
  StatusChange,
  StatusChangeResult,
  StopRun,
  StopRunResult,
} from '../../core/api-types.ts';
import type { ActionSpec } from './components/action-dialog.ts';

const segment = encodeURIComponent;
const versionPath = (model: string, version: number, verb: string) =>
  `models/${segment(model)}/versions/${version}/${verb}`;

export function approve(model: string, version: number): ActionSpec<StatusChangeResult> {
  return {
    action: 'approve',
    title: `Approve v${version} of ${model}`,
    description:
      'The run that waits for this approval goes on and deploys the version (it takes production).',
    confirm: 'Approve',
    path: () => versionPath(model, version, 'approve'),
    body: (reason): StatusChange => ({ reason }),
    done: (r) => `v${r.version} of ${r.model} is ${r.status}${r.pipeline ? `: ${r.pipeline}` : ''}`,
  };
}

export function reject(model: string, version: number): ActionSpec<StatusChangeResult> {
  return {
    action: 'reject',
    title: `Reject v${version} of ${model}`,
    description: 'No alias may point at a rejected version; a run that waits for it ends without deploying.',
    confirm: 'Reject',
    destructive: true,
    path: () => versionPath(model, version, 'reject'),
    body: (reason): StatusChange => ({ reason }),
    done: (r) => `v${r.version} of ${r.model} is ${r.status}${r.pipeline ? `: ${r.pipeline}` : ''}`,
  };
}

export function promote(
  model: string,
  version: number,
  alias = 'production',
  expectedRevision?: number,
): ActionSpec<AliasChangeResult> {
  return {
    action: 'promote',
    title: `Promote v${version} of ${model}`,
    description: 'Points an alias at this version: the traffic that names the alias goes to it at once.',
    confirm: 'Promote',
    fields: [
      {
        name: 'alias',
        label: 'Alias',
        value: alias,
        pattern: '[a-z][a-z0-9_\\-]{0,39}',
        help: 'production serves /v1/models/<model>; any other alias serves /labels/<alias>.',
      },
    ],
    path: (values) => `models/${segment(model)}/aliases/${segment(values.alias ?? alias)}`,
    body: (reason, values): AliasChange => ({
      version,
      reason,
      ...(expectedRevision !== undefined && values.alias === alias ? { expectedRevision } : {}),
    }),
    done: (r) => `${r.alias} of ${r.model} → v${r.state.version}`,
  };
}

export function rollback(model: string, alias: string, revision: number): ActionSpec<AliasChangeResult> {
  return {
    action: 'rollback',
    title: `Roll back ${alias} of ${model}`,
    description: 'Points the alias back at the version it named before its last change.',
    confirm: 'Roll back',
    destructive: true,
    path: () => `models/${segment(model)}/aliases/${segment(alias)}/rollback`,
    body: (reason): RollbackChange => ({ reason, expectedRevision: revision }),
    done: (r) => `${r.alias} of ${r.model} rolled back to v${r.state.version}`,
  };
}

export function stopRun(runId: string): ActionSpec<StopRunResult> {
  return {
    action: 'stop',
    title: `Stop run ${runId.slice(0, 8)}`,
    description: 'Stops its execution and its training jobs; the run ends FAILED, saying who stopped it.',
    confirm: 'Stop run',
    destructive: true,
    path: () => `runs/${segment(runId)}/stop`,
    body: (reason): StopRun => ({ reason }),
    done: (r) =>
      r.stopping
        ? `run ${r.run.runId.slice(0, 8)} is stopping`
        : `run ${r.run.runId.slice(0, 8)} ${r.run.status}`,
  };
}

export function retryRun(runId: string): ActionSpec<RetryRunResult> {
  return {
    action: 'retry',
    title: `Retry run ${runId.slice(0, 8)}`,
    description:
      'Starts a new run on the same dataset version, with the manifest as it is now. A run is retried once.',
    confirm: 'Retry run',
    path: () => `runs/${segment(runId)}/retry`,
    body: (reason): RetryRun => ({ reason }),
    done: (r) => `run ${r.runId} retries ${r.retryOf.slice(0, 8)} (${r.dataset})`,
  };
}
