/**
 * The data the dashboard reads: the registry and monitoring APIs on the page's own origin, with the API key
 * in the `x-api-key` header. The page lies at `<stage>/dashboard/`, so the APIs are one level up.
 * Changes (approve, promote, stop…) are IAM routes: on one machine the admin key stands in for IAM
 * (`x-nimbus-admin-key`); in AWS only a signing proxy (`nimbus dashboard`) can make them.
 * The types of these APIs' JSON answers are core/api-types.ts', imported as types only.
 */
import type {
  AlarmList,
  AuditEntry,
  DatasetVersionRecord,
  DriftReports,
  ModelDetail,
  ModelSummary,
  ModelVersion,
  RunList,
  RunProgress,
  RunRecord,
  TrialList,
  ValidationReport,
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
  RunCost,
  RunProgress,
  RunStatus,
  TrainingJobCost,
  TrialRecord as Trial,
  ValidationReport,
} from '../../core/api-types.ts';
export type { ClassMetrics, ModelMetrics } from '../../core/metrics.ts';
export type { ModelStatus } from '../../core/model-registry.ts';

/** A run as the API answers it, with its training jobs' cost when RecordTrials read it. */
export type Run = RunRecord;

/** metrics.json of a version. */
export interface VersionMetrics {
  /** Each feature's importance, when the pipeline measured it (absent: not shown). */
  readonly importance?: Readonly<Record<string, number>>;
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

/**
 * A change the API refused for want of IAM (403): on one machine, a wrong or missing admin key; in AWS, any
 * change from the browser, which cannot sign its requests.
 */
export class ActionRefusedError extends ApiError {}

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
    return answer<T>(response, path);
  }

  /** A change (an IAM route): POSTs the body as JSON with the admin key, when there is one. */
  async change<T>(path: string, body: unknown, adminKey: string | undefined): Promise<T> {
    const response = await fetch(new URL(`${registry}/${path}`, this.base), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        ...(adminKey ? { [API.adminKeyHeader]: adminKey } : {}),
      },
      body: JSON.stringify(body),
      cache: 'no-store',
    });
    try {
      return await answer<T>(response, path);
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        throw new ActionRefusedError(error.status, error.path, error.message);
      }
      throw error;
    }
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
    return this.get<RunList & { runs: readonly Run[] }>(`${registry}/runs?limit=${limit}`, signal);
  }

  run(runId: string, signal?: AbortSignal) {
    return this.optional<Run>(`${registry}/runs/${segment(runId)}`, signal);
  }

  trials(runId: string, signal?: AbortSignal) {
    return this.optional<TrialList>(`${registry}/runs/${segment(runId)}/trials`, signal);
  }

  version(model: string, version: number, signal?: AbortSignal) {
    return this.optional<ModelVersion>(`${registry}/models/${segment(model)}/versions/${version}`, signal);
  }

  datasetVersion(name: string, version: string, signal?: AbortSignal) {
    return this.optional<DatasetVersionRecord>(
      `${registry}/datasets/${segment(name)}/versions/${segment(version)}`,
      signal,
    );
  }

  datasetReport(name: string, version: string, signal?: AbortSignal) {
    return this.optional<ValidationReport>(
      `${registry}/datasets/${segment(name)}/versions/${segment(version)}/report`,
      signal,
    );
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

/** The answer's JSON, or an ApiError with the status and the API's `error` message. */
async function answer<T>(response: Response, path: string): Promise<T> {
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
