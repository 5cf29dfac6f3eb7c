/**
 * The data the dashboard reads: the registry and monitoring APIs on the page's own origin, with the API key
 * in the `x-api-key` header. The page lies at `<stage>/dashboard/`, so the APIs are one level up.
 * The types of these APIs' JSON answers are core/api-types.ts', imported as types only.
 */
import type {
  AlarmList,
  AuditEntry,
  DriftReports,
  ModelDetail,
  ModelSummary,
  RunList,
  RunProgress,
} from '../../core/api-types.ts';
import { API } from '../../core/contract.ts';
import type { ClassMetrics, ModelMetrics } from '../../core/metrics.ts';
import type { EpochLog } from '../../core/pipeline.ts';

export type { AlarmState } from '../../core/alarms.ts';
export type {
  AlarmStatus as Alarm,
  AliasView as Alias,
  AuditEntry,
  DriftReport,
  DriftReports as DriftHistory,
  EpochLog,
  ModelDetail,
  ModelSummary,
  ModelVersion,
  RunProgress,
  RunRecord as Run,
  RunStatus,
} from '../../core/api-types.ts';
export type { ClassMetrics, ModelMetrics } from '../../core/metrics.ts';
export type { ModelStatus } from '../../core/model-registry.ts';

/** metrics.json of a version. */
export interface VersionMetrics {
  readonly test: ModelMetrics & {
    /** `confusionMatrix[actual][predicted]` counts (classifiers). */
    readonly confusionMatrix?: readonly (readonly number[])[];
    readonly classes?: readonly string[];
    /** Each class's precision, recall, F1 and support (classifiers). */
    readonly perClass?: readonly ClassMetrics[];
  };
}

/** card.json of a version: its learning curve. */
export interface VersionCard {
  readonly history?: readonly EpochLog[];
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
    return this.get<RunList>(`${registry}/runs?limit=${limit}`, signal);
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
    return this.optional<AlarmList>(`${monitoring}/alarms`, signal);
  }

  drift(model: string, limit: number, signal?: AbortSignal) {
    return this.optional<DriftReports>(`${monitoring}/models/${segment(model)}/drift?limit=${limit}`, signal);
  }
}
