/** Registry rules: what a model version is, and when a new one takes an alias. */
import type { ModelMetrics } from './metrics.ts';

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
  readonly ensemble?: { readonly method: 'average' | 'vote'; readonly trials: readonly number[] };
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

export interface PromotionDecision {
  readonly promote: boolean;
  readonly reason: string;
}

/** A candidate takes `production` when nothing holds it, or when it is at least as good as the holder. */
export function decidePromotion(
  candidate: Pick<ModelVersion, 'version' | 'metrics'>,
  current: Pick<ModelVersion, 'version' | 'metrics'> | undefined,
): PromotionDecision {
  const score = primaryMetric(candidate.metrics);
  if (!current)
    return { promote: true, reason: `no version holds the alias; v${candidate.version} takes it` };
  const incumbent = primaryMetric(current.metrics);
  if (score.name !== incumbent.name) {
    return {
      promote: true,
      reason: `v${candidate.version} is judged by ${score.name}, v${current.version} by ${incumbent.name}: the task changed`,
    };
  }
  const [a, b] = [score.value, incumbent.value];
  const better = score.higherIsBetter ? '>=' : '<=';
  const worse = score.higherIsBetter ? '<' : '>';
  if (score.higherIsBetter ? a >= b : a <= b) {
    return {
      promote: true,
      reason: `v${candidate.version} ${score.name} ${a.toFixed(4)} ${better} v${current.version} ${b.toFixed(4)}`,
    };
  }
  return {
    promote: false,
    reason: `v${candidate.version} ${score.name} ${a.toFixed(4)} ${worse} v${current.version} ${b.toFixed(4)}; v${current.version} stays`,
  };
}
