/**
 * The data the dashboard reads: the registry and monitoring APIs on the page's own origin, with the API key
 * in the `x-api-key` header. The page lies at `<stage>/dashboard/`, so the APIs are one level up.
 * The types are these APIs' JSON answers as the page uses them (functions/registry, functions/monitoring).
 */
import { API } from '../../core/contract.ts';
import type { EpochLog } from '../../core/pipeline.ts';

export type { EpochLog };

export type RunStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED';

export interface Run {
  readonly runId: string;
  readonly status: RunStatus;
  readonly dataset: string;
  readonly datasetVersion?: string;
  readonly step?: string;
  readonly steps?: readonly { readonly name: string; readonly at: string }[];
  readonly reason?: string;
  readonly modelVersion?: number;
  readonly promoted?: boolean;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly training?: { readonly epochs: number; readonly seconds: number; readonly stoppedEarly?: number };
  readonly search?: { readonly strategy: string; readonly trials: number };
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
}

export interface RunProgress {
  readonly runId: string;
  readonly status: RunStatus;
  readonly step?: string;
  readonly steps: readonly { readonly name: string; readonly at: string }[];
  readonly training?: {
    readonly epoch: number;
    readonly epochs: number;
    readonly history: readonly EpochLog[];
  };
}

export interface ModelSummary {
  readonly model: string;
  readonly latestVersion: number;
}

export interface ModelMetrics {
  readonly count?: number;
  readonly accuracy?: number;
  readonly macroF1?: number;
  readonly rmse?: number;
  readonly mae?: number;
  readonly r2?: number;
}

export type ModelStatus = 'registered' | 'approved' | 'rejected' | 'archived';

export interface ModelVersion {
  readonly model: string;
  readonly version: number;
  readonly status: ModelStatus;
  readonly metrics: ModelMetrics;
  readonly lineage?: { readonly runId?: string; readonly datasetVersion?: string };
  readonly createdAt: string;
}

export interface Alias {
  readonly alias: string;
  readonly version: number;
  readonly canary?: { readonly version: number; readonly weight: number };
  readonly revision: number;
  readonly changedAt?: string;
}

export interface ModelDetail {
  readonly model: string;
  readonly aliases: readonly Alias[];
  readonly versions: readonly ModelVersion[];
}

export interface AuditEntry {
  readonly kind: 'alias' | 'status';
  readonly action: string;
  readonly alias?: string;
  readonly version?: number;
  readonly state?: {
    readonly version: number;
    readonly canary?: { readonly version: number; readonly weight: number };
  };
  readonly status?: ModelStatus;
  readonly who: string;
  readonly why: string;
  readonly at: string;
}

/** metrics.json of a version. */
export interface VersionMetrics {
  readonly test: ModelMetrics & {
    /** `confusionMatrix[actual][predicted]` counts (classifiers). */
    readonly confusionMatrix?: readonly (readonly number[])[];
    readonly classes?: readonly string[];
  };
}

/** card.json of a version: its learning curve. */
export interface VersionCard {
  readonly history?: readonly EpochLog[];
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

export interface Alarm {
  readonly name: string;
  readonly kind: 'drift' | 'latency' | 'errors' | 'pipeline' | 'canary' | string;
  readonly model?: string;
  readonly state: AlarmState;
  readonly reason?: string;
  readonly updatedAt?: string;
}

export interface DriftReport {
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly samples: number;
  readonly score: number;
  readonly version?: number;
  readonly features: Readonly<Record<string, { readonly kind: string; readonly psi: number }>>;
  readonly predictions?: { readonly psi: number };
}

export interface DriftHistory {
  readonly model: string;
  readonly threshold: number;
  readonly reports: readonly DriftReport[];
}

/** An answer other than 2xx: its status and the API's `error` message when it gave one. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly status: number,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }

  /** The route is not there (yet): an API this deployment does not have, or nothing under that name. */
  get missing(): boolean {
    return this.status === 404 || (this.status === 403 && /Missing Authentication Token/i.test(this.message));
  }
}

const registry = API.registryResource.join('/');
const monitoring = API.monitoringResource.join('/');
const segment = encodeURIComponent;

export class Api {
  private readonly base: URL;

  constructor(
    private readonly key: string,
    pageUrl: string,
  ) {
    // <stage>/dashboard/ → <stage>/
    this.base = new URL(`${API.dashboardResource.map(() => '..').join('/')}/`, pageUrl);
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const response = await fetch(new URL(path, this.base), {
      headers: { [API.apiKeyHeader]: this.key, accept: 'application/json' },
      cache: 'no-store',
      ...(signal ? { signal } : {}),
    });
    const text = await response.text();
    if (!response.ok) {
      let message = `${response.status} ${response.statusText}`;
      try {
        const body = JSON.parse(text) as { error?: string; message?: string };
        message = body.error ?? body.message ?? message;
      } catch {
        // not JSON: keep the status line
      }
      throw new ApiError(response.status, path, message);
    }
    return JSON.parse(text) as T;
  }

  /** Like `get`, but a route or item that is not there is `undefined`. */
  async optional<T>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    try {
      return await this.get<T>(path, signal);
    } catch (error) {
      if (error instanceof ApiError && error.missing) return undefined;
      throw error;
    }
  }

  runs(limit: number, signal?: AbortSignal) {
    return this.get<{ runs: Run[] }>(`${registry}/runs?limit=${limit}`, signal);
  }

  progress(runId: string, signal?: AbortSignal) {
    return this.optional<RunProgress>(`${registry}/runs/${segment(runId)}/progress`, signal);
  }

  models(signal?: AbortSignal) {
    return this.get<{ models: ModelSummary[] }>(`${registry}/models`, signal);
  }

  model(model: string, signal?: AbortSignal) {
    return this.optional<ModelDetail>(`${registry}/models/${segment(model)}`, signal);
  }

  audit(model: string, signal?: AbortSignal) {
    return this.optional<{ audit: AuditEntry[] }>(`${registry}/models/${segment(model)}/audit`, signal);
  }

  artifact<T>(model: string, version: number, name: 'metrics' | 'card', signal?: AbortSignal) {
    return this.optional<T>(
      `${registry}/models/${segment(model)}/versions/${version}/artifacts/${name}`,
      signal,
    );
  }

  alarms(signal?: AbortSignal) {
    return this.optional<{ alarms: Alarm[] }>(`${monitoring}/alarms`, signal);
  }

  drift(model: string, limit: number, signal?: AbortSignal) {
    return this.optional<DriftHistory>(`${monitoring}/models/${segment(model)}/drift?limit=${limit}`, signal);
  }
}
