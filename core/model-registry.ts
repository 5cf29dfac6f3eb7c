/**
 * Model registry rules: what a model version is, when a new one may take an alias (the gate), where an alias
 * points and how it rolls back, and the entries of the audit log (aliases and version statuses).
 */
import type { ModelMetrics } from './metrics.ts';
import type { PreprocessingOptions } from './preprocessor.ts';
import type { VersionCost } from './training-cost.ts';

export type ModelStatus = 'registered' | 'approved' | 'rejected' | 'archived';

/** Where a model version came from: enough to say exactly which bytes and code produced it. */
export interface Lineage {
  readonly datasetName: string;
  readonly datasetVersion: string;
  readonly datasetHash: string;
  readonly datasetKey: string;
  readonly runId: string;
  readonly hyperparameters: Record<string, unknown>;
  readonly backend: string;
  readonly libraries: Record<string, string>;
  readonly codeVersion: string;
  /** The search that chose it. */
  readonly search?: SearchSummary;
  /** An ensemble version: how its members' predictions combine, and which trials they are. */
  readonly ensemble?: { readonly method: 'average' | 'vote' | 'stack'; readonly trials: readonly number[] };
  /** The manifest's preprocessing settings (absent: the defaults). */
  readonly preprocessing?: PreprocessingOptions;
  /** A warm-started version: the version whose weights its training began from (core/warm-start.ts). */
  readonly parentVersion?: number;
  /**
   * A model trained elsewhere and imported (core/onnx.ts): its file, and what the file says made it. The
   * dataset fields then name its evaluation dataset (empty without one).
   */
  readonly external?: ExternalLineage;
}

/** Where an imported model came from: the exact file, its exporter, who uploaded it. */
export interface ExternalLineage {
  readonly format: 'onnx';
  /** The uploaded object (datasets bucket). */
  readonly key: string;
  /** SHA-256 of the file. */
  readonly sha256: string;
  readonly bytes: number;
  readonly irVersion: number;
  readonly opsets: Readonly<Record<string, number>>;
  readonly producerName?: string;
  readonly producerVersion?: string;
  /** Who uploaded it: the S3 event's requester, or the `uploaded-by` metadata the CLI sets. */
  readonly uploadedBy?: string;
}

/** A finished search: strategy, trials run, the metric, the winning trial and its validation score. */
export interface SearchSummary {
  readonly strategy: string;
  readonly trials: number;
  readonly metric: string;
  readonly bestTrial: number;
  readonly bestScore: number;
}

export interface ModelVersion {
  readonly model: string;
  readonly version: number;
  readonly status: ModelStatus;
  readonly artifactPrefix: string;
  readonly metrics: ModelMetrics;
  readonly lineage: Lineage;
  /** What its run's training cost (the estimate's sums and prices; the run has each job). */
  readonly cost?: VersionCost;
  readonly createdAt: string;
}

/** The metric that ranks models of a task: macro-F1 for classifiers (higher is better), RMSE for regressors. */
export function primaryMetric(metrics: ModelMetrics): {
  name: string;
  value: number;
  higherIsBetter: boolean;
} {
  if (metrics.rmse !== undefined) return { name: 'rmse', value: metrics.rmse, higherIsBetter: false };
  return { name: 'macroF1', value: metrics.macroF1 ?? 0, higherIsBetter: true };
}

/** The metrics a gate may judge by, and which way is better. */
export const GATE_METRICS = {
  accuracy: true,
  macroF1: true,
  r2: true,
  rmse: false,
  mae: false,
} as const satisfies Record<string, boolean>;
export type GateMetric = keyof typeof GATE_METRICS;

/**
 * The champion/challenger gate: a new version may take `production` when it is not worse than the version
 * that holds it by more than `maxRegression` on `metric` (in the metric's own units), and, with
 * `approval: 'manual'`, once a person approves it.
 */
export interface GateSpec {
  /** @default the task's primary metric (macro-F1 or RMSE) */
  readonly metric?: GateMetric;
  /** @default 0: at least as good as the champion */
  readonly maxRegression: number;
  /** @default 'auto' */
  readonly approval: 'auto' | 'manual';
  /**
   * What the metric is read from: the held-out test split, or (`cv`) the mean over the cross-validation folds
   * (the manifest's `validation.folds`), steadier on small data. A champion without cross-validation is
   * compared on the test split, and the reason says so. @default 'test'
   */
  readonly on?: 'test' | 'cv';
}

export const DEFAULT_GATE: GateSpec = { maxRegression: 0, approval: 'auto' };

/** Checks a manifest's or the platform's `gate` object field by field. */
export function parseGateSpec(value: unknown, defaults: GateSpec = DEFAULT_GATE): GateSpec {
  if (value === undefined || value === null) return defaults;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error('"gate" must be an object');
  const { metric, maxRegression, approval, on, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new Error(
      `"gate" has unknown field(s) ${unknown.join(', ')} (metric, maxRegression, approval, on)`,
    );
  }
  if (on !== undefined && on !== 'test' && on !== 'cv') throw new Error('"gate.on" must be "test" or "cv"');
  if (metric !== undefined && !(typeof metric === 'string' && metric in GATE_METRICS)) {
    throw new Error(`"gate.metric" must be one of ${Object.keys(GATE_METRICS).join(', ')}`);
  }
  if (
    maxRegression !== undefined &&
    !(typeof maxRegression === 'number' && Number.isFinite(maxRegression) && maxRegression >= 0)
  ) {
    throw new Error('"gate.maxRegression" must be a number ≥ 0');
  }
  if (approval !== undefined && approval !== 'auto' && approval !== 'manual') {
    throw new Error('"gate.approval" must be "auto" or "manual"');
  }
  return {
    ...(metric === undefined
      ? defaults.metric === undefined
        ? {}
        : { metric: defaults.metric }
      : { metric: metric as GateMetric }),
    maxRegression: (maxRegression as number | undefined) ?? defaults.maxRegression,
    approval: (approval as GateSpec['approval'] | undefined) ?? defaults.approval,
    ...((on ?? defaults.on) === undefined ? {} : { on: (on ?? defaults.on) as 'test' | 'cv' }),
  };
}

export interface GateDecision {
  readonly passed: boolean;
  readonly metric: string;
  readonly reason: string;
}

/**
 * Challenger against champion. Passes when no version holds the alias, when the task (and so the metric)
 * changed, or when the challenger is within `maxRegression` of the champion.
 */
export function decideGate(
  candidate: Pick<ModelVersion, 'version' | 'metrics'>,
  current: Pick<ModelVersion, 'version' | 'metrics'> | undefined,
  gate: GateSpec = DEFAULT_GATE,
): GateDecision {
  const primary = primaryMetric(candidate.metrics);
  const metric = gate.metric ?? primary.name;
  if (!current) {
    return { passed: true, metric, reason: `no version holds the alias; v${candidate.version} takes it` };
  }
  // On the cross-validation means when asked, and when both versions have them.
  const cv = (m: ModelMetrics) => m.crossValidation?.mean[metric];
  const onCv = gate.on === 'cv' && cv(candidate.metrics) !== undefined && cv(current.metrics) !== undefined;
  const a = onCv ? cv(candidate.metrics) : candidate.metrics[metric as GateMetric];
  const b = onCv ? cv(current.metrics) : current.metrics[metric as GateMetric];
  const source =
    gate.on !== 'cv'
      ? ''
      : onCv
        ? ` (cross-validated means, ${candidate.metrics.crossValidation?.folds} folds)`
        : ` (on the test split: v${cv(candidate.metrics) === undefined ? candidate.version : current.version} has no cross-validation)`;
  if (a === undefined) {
    return { passed: false, metric, reason: `v${candidate.version} has no ${metric} to be judged by` };
  }
  if (b === undefined) {
    return {
      passed: true,
      metric,
      reason: `v${current.version} has no ${metric}: the task changed; v${candidate.version} takes the alias`,
    };
  }
  const higherIsBetter = GATE_METRICS[metric as GateMetric];
  const regression = higherIsBetter ? b - a : a - b;
  const within = gate.maxRegression > 0 ? ` (allowed regression ${gate.maxRegression})` : '';
  const relation = regression <= 0 ? (higherIsBetter ? '>=' : '<=') : higherIsBetter ? '<' : '>';
  const comparison = `v${candidate.version} ${metric} ${a.toFixed(4)} ${relation} v${current.version} ${b.toFixed(4)}${within}${source}`;
  if (regression <= gate.maxRegression + 1e-12) return { passed: true, metric, reason: comparison };
  return { passed: false, metric, reason: `${comparison}; v${current.version} stays` };
}

// ---- aliases, status and the audit log --------------------------------------------------------------------

/** Alias names: what a URL path (`/labels/<alias>`) and a table key carry safely. */
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,39}$/;

/**
 * Where an alias points: one version, or a canary split that sends `weight` (0–1) of the traffic to
 * `canary.version`, optionally sticky on a request header (the same header value always gets the same version).
 */
export interface AliasState {
  readonly version: number;
  readonly canary?: { readonly version: number; readonly weight: number };
  readonly stickyHeader?: string;
}

/** Who changed the registry and why: every entry of the audit log carries both. */
export interface Actor {
  readonly who: string;
  readonly why: string;
}

/** Who the pipeline is in the audit log. */
export const pipelineActor = (runId: string): string => `pipeline:${runId}`;

export type AliasAction = 'promote' | 'canary' | 'rollback';
export type StatusAction = 'register' | 'approve' | 'reject' | 'archive';

/**
 * One change of an alias: the alias's whole state after it (and before it), numbered per alias. The newest
 * entry is where the alias points; the entries are never changed or deleted.
 */
export interface AliasEntry extends Actor {
  readonly model: string;
  readonly kind: 'alias';
  readonly alias: string;
  readonly revision: number;
  readonly action: AliasAction;
  readonly state: AliasState;
  readonly previous?: AliasState;
  /** A rollback: the revision whose change it undid. */
  readonly undoes?: number;
  readonly at: string;
}

/** One change of a version's status, numbered per version (revision 1 is its registration). */
export interface StatusEntry extends Actor {
  readonly model: string;
  readonly kind: 'status';
  readonly version: number;
  readonly revision: number;
  readonly action: StatusAction;
  readonly status: ModelStatus;
  readonly previous?: ModelStatus;
  readonly at: string;
}

export type AuditEntry = AliasEntry | StatusEntry;

/** Status changes a person may make, and from which statuses. */
const TRANSITIONS: Record<Exclude<StatusAction, 'register'>, { to: ModelStatus; from: ModelStatus[] }> = {
  approve: { to: 'approved', from: ['registered'] },
  reject: { to: 'rejected', from: ['registered', 'approved'] },
  archive: { to: 'archived', from: ['registered', 'approved', 'rejected'] },
};

/** The status an action leads to from `current`, or why it cannot. */
export function nextStatus(
  current: ModelStatus,
  action: Exclude<StatusAction, 'register'>,
): { status: ModelStatus } | { refused: string } {
  const rule = TRANSITIONS[action];
  if (rule.from.includes(current)) return { status: rule.to };
  return {
    refused: `cannot ${action} a version that is ${current} (only one that is ${rule.from.join(' or ')})`,
  };
}

/** A version that may serve: not rejected, not archived. */
export function servable(status: ModelStatus): boolean {
  return status === 'registered' || status === 'approved';
}

/** The versions an alias state sends traffic to. */
export function aliasVersions(state: AliasState | undefined): number[] {
  if (!state) return [];
  return state.canary ? [state.version, state.canary.version] : [state.version];
}

/**
 * Which version answers one request: the canary's weight of the traffic goes to the canary, at random or, when
 * the alias is sticky and the request carries the header, by a hash of its value.
 */
export function routeVersion(
  state: AliasState,
  stickyValue?: string,
  random: () => number = Math.random,
): number {
  if (!state.canary) return state.version;
  const draw = stickyValue === undefined || stickyValue === '' ? random() : stickyBucket(stickyValue);
  return draw < state.canary.weight ? state.canary.version : state.version;
}

/** A value in [0, 1) from a string, the same on every machine (FNV-1a, 32 bits). */
export function stickyBucket(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 2 ** 32;
}

/**
 * What a rollback of an alias restores: the state before the newest change that was not itself undone, and
 * which revision that change was. Rolling back twice goes two changes back, as an undo stack does.
 * Undefined when there is nothing to go back to. `history` is oldest first, revisions 1, 2, 3…
 */
export function rollbackTarget(
  history: readonly AliasEntry[],
): { state: AliasState; undoes: number } | undefined {
  let index = history.length - 1;
  // A rollback restored the state of the entry before the one it undid: continue from there.
  while (index >= 0 && history[index]?.action === 'rollback') {
    index = (history[index]?.undoes ?? 1) - 2;
  }
  const change = history[index];
  if (!change || index < 1) return undefined;
  const before = history[index - 1];
  return before ? { state: before.state, undoes: change.revision } : undefined;
}

/** Where an alias pointed at an instant: the newest change at or before it (undefined before the first). */
export function aliasAt(history: readonly AliasEntry[], at: Date): AliasEntry | undefined {
  const t = at.getTime();
  let found: AliasEntry | undefined;
  for (const entry of history) if (Date.parse(entry.at) <= t) found = entry;
  return found;
}

/**
 * The time of a new entry: now, but never before the entry it follows, so an alias's history is in time
 * order even when clocks of two writers disagree by a little.
 */
export function entryTime(previous: { at: string } | undefined, now: Date = new Date()): string {
  if (!previous) return now.toISOString();
  const after = Date.parse(previous.at) + 1;
  return new Date(Math.max(after, now.getTime())).toISOString();
}

/** A readable line for an alias state: `v3`, or `v3 + v4 at 10%`. */
export function describeAlias(state: AliasState | undefined): string {
  if (!state) return 'nothing';
  if (!state.canary) return `v${state.version}`;
  const sticky = state.stickyHeader ? `, sticky on ${state.stickyHeader}` : '';
  return `v${state.version} + v${state.canary.version} at ${Math.round(state.canary.weight * 1000) / 10}%${sticky}`;
}
