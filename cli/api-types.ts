/**
 * What the platform's API answers, as the CLI reads it: shapes the CLI restates rather than imports (types
 * only, nothing at run time), kept in this one file so that it can become an `import type` of core's.
 */
import type { RunRecord } from '../aws/registry.ts';
import type { EpochLog } from '../core/pipeline.ts';
import type { AliasState, AuditEntry, ModelVersion } from '../core/registry.ts';
import type { InputSchema, Prediction } from '../core/serving.ts';

/** An alias of a model as `GET /v1/registry/models/:model/aliases` lists it. */
export interface AliasView extends AliasState {
  readonly alias: string;
  readonly revision: number;
  readonly changedBy: string;
  readonly reason: string;
  readonly action: string;
  readonly changedAt: string;
}

/** A model as `GET /v1/registry/models` lists it. */
export interface ModelSummary {
  readonly model: string;
  readonly latestVersion: number;
}

/** `GET /v1/registry/models/:model`: its versions and aliases. */
export interface ModelShown {
  readonly model: string;
  readonly aliases: AliasView[];
  readonly versions: ModelVersion[];
}

/** What approving, rejecting or archiving a version answers. */
export type VersionChange = AuditEntry & { status: string; pipeline?: string };

/** `POST /v1/registry/runs/:runId/stop`. */
export interface RunStop {
  readonly run: RunRecord;
  readonly stopping: boolean;
}

/** `POST /v1/registry/runs/:runId/retry`. */
export interface RunRetry {
  readonly runId: string;
  readonly retryOf: string;
  readonly dataset: string;
}

/** One training job's epochs so far. */
export interface TrainingProgress {
  readonly trial?: number;
  readonly epoch: number;
  readonly epochs: number;
  readonly done?: boolean;
  readonly history?: readonly EpochLog[];
}

/** What the progress route answers. */
export interface RunProgress {
  readonly runId: string;
  readonly dataset?: string;
  readonly status: RunRecord['status'];
  readonly step?: string;
  readonly steps: readonly { readonly name: string; readonly at: string }[];
  readonly reason?: string;
  readonly modelVersion?: number;
  /** The first (or only) training job. */
  readonly training?: TrainingProgress;
  /** Every trial's, when the run searches. */
  readonly trials?: readonly TrainingProgress[];
}

/** `GET /v1/models/:model[/versions/:n | /labels/:alias]/metadata`. */
export interface ModelMetadata {
  readonly metadata: { signature_def: InputSchema };
}

/** `POST /v1/models/:model[…]:predict`. */
export interface PredictAnswer {
  readonly predictions?: Prediction[];
  readonly outputs?: Record<string, unknown>;
  readonly model_version: number;
}

export interface AlarmView {
  readonly name: string;
  readonly kind: string;
  readonly model?: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly reason: string;
  readonly updatedAt: string;
}

export interface DriftReport {
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly samples: number;
  readonly score: number;
  readonly features: Record<string, { kind: string; psi: number }>;
}

/** `GET /v1/monitoring/models/:model/drift`. */
export interface DriftAnswer {
  readonly model: string;
  readonly threshold: number;
  readonly reports: DriftReport[];
}
