/**
 * The drift monitor, run on a schedule (EventBridge, every 15 minutes by default). For each model with a
 * `production` version it reads the predictions captured since its last report (`capture/<model>/…`, in key
 * order after the last object it read, objects written at least 30 s ago), compares their inputs and
 * predicted classes with that version's
 * `baseline.json` (core/drift.ts: PSI per feature, chi-square for categories, PSI of the predictions), writes
 * the report to `monitoring/<model>/drift/…` and emits `FeatureDrift` (per feature), `DriftScore`,
 * `PredictionDrift` and `DriftSamples`, which the drift alarms watch. A window with fewer than
 * MIN_DRIFT_SAMPLES instances is left to grow until the next run. Image models have no feature baseline and
 * are skipped.
 * Input: a scheduled event (ignored). Output: one summary per model.
 */
import { bucketName } from '../../aws/config.ts';
import { createMetrics, MetricUnit, publishModelMetrics } from '../../aws/metrics.ts';
import { currentAlias, getModelVersion, listModels } from '../../aws/model-registry.ts';
import { getBytes, getBytesIfExists, listObjects, mapLimit, putJson } from '../../aws/object-store.ts';
import type { Baseline } from '../../core/baseline.ts';
import { ENV, METRICS, PRODUCTION_ALIAS } from '../../core/contract.ts';
import { type DriftReport, driftReport, MIN_DRIFT_SAMPLES, settledCapture } from '../../core/drift.ts';
import { ARTIFACTS, KEYS } from '../../core/keys.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('drift-monitor');
const metrics = createMetrics();
const artifactsBucket = bucketName('artifacts');
/** Capture objects read per model per run: past this, the rest waits for the next run. */
const MAX_OBJECTS = 2_000;
/** How old a capture object must be to be read (ENV.captureSettleMs). */
const SETTLE_MS = Number(process.env[ENV.captureSettleMs] ?? 30_000);

/** Where the monitor left off in a model's capture. */
interface MonitorState {
  readonly lastKey?: string;
  readonly lastReportAt?: string;
}

export interface ModelDriftSummary {
  readonly model: string;
  readonly version?: number;
  readonly samples: number;
  readonly score?: number;
  readonly reportKey?: string;
  readonly skipped?: string;
}

export async function handler(): Promise<{ models: ModelDriftSummary[]; seconds: number }> {
  const started = performance.now();
  const models = await listModels();
  const summaries = await mapLimit(models, 4, ({ model }) =>
    monitor(model).catch((error: unknown) => {
      logger.error('drift monitoring failed', { model, error: error as Error });
      return { model, samples: 0, skipped: `failed: ${(error as Error).message}` };
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  logger.info('drift monitor run', { models: summaries, seconds });
  return { models: summaries, seconds };
}

async function monitor(model: string): Promise<ModelDriftSummary> {
  const alias = await currentAlias(model, PRODUCTION_ALIAS);
  if (!alias) return { model, samples: 0, skipped: `no ${PRODUCTION_ALIAS} version` };
  const version = await getModelVersion(model, alias.state.version);
  if (!version) return { model, samples: 0, skipped: `version ${alias.state.version} not found` };
  const baseline = await readJson<Baseline>(version.artifactPrefix + ARTIFACTS.baseline);
  if (!baseline?.numeric)
    return { model, version: version.version, samples: 0, skipped: 'no feature baseline' };

  const stateKey = KEYS.monitorState(model);
  const state = (await readJson<MonitorState>(stateKey)) ?? {};
  const objects = await listObjects(artifactsBucket, `${KEYS.capturePrefix}${model}/`, {
    ...(state.lastKey ? { after: state.lastKey } : {}),
    limit: MAX_OBJECTS,
  });
  // Only objects written at least SETTLE_MS ago: one still being written elsewhere cannot then land before
  // the place this run records (keys sort by write time), to be skipped for ever.
  const batch = settledCapture(objects.slice(0, MAX_OBJECTS), Date.now() - SETTLE_MS, KEYS.captureTime);
  const records = (
    await mapLimit(batch, 8, async ({ key }) =>
      parseLines(new TextDecoder().decode(await getBytes(artifactsBucket, key))),
    )
  ).flat();
  const instances: Record<string, unknown>[] = [];
  const predictions: (string | number)[] = [];
  let firstTime: string | undefined;
  for (const record of records) {
    firstTime ??= record.time;
    record.instances.forEach((instance, i) => {
      if (typeof instance !== 'object' || instance === null) return;
      instances.push(instance as Record<string, unknown>);
      const p = record.predictions[i];
      if (p && typeof p === 'object') {
        if ('label' in p && typeof p.label === 'string') predictions.push(p.label);
        else if ('value' in p && typeof p.value === 'number') predictions.push(p.value);
      }
    });
  }
  // A window too small to measure is left to grow: nothing is published for it (an idle model costs no
  // metric, and the drift alarm keeps its state), so DriftSamples counts each instance once, when measured.
  if (instances.length < MIN_DRIFT_SAMPLES) {
    return { model, version: version.version, samples: instances.length, skipped: 'too few samples yet' };
  }

  const now = new Date();
  const report: DriftReport = driftReport({
    model,
    version: version.version,
    baseline,
    windowStart: state.lastReportAt ?? firstTime ?? now.toISOString(),
    windowEnd: now.toISOString(),
    instances,
    predictions,
  });
  const reportKey = KEYS.driftReport(model, now);
  await putJson(artifactsBucket, reportKey, report);
  const lastKey = batch[batch.length - 1]?.key;
  await putJson(artifactsBucket, stateKey, {
    ...(lastKey ? { lastKey } : {}),
    lastReportAt: now.toISOString(),
  } satisfies MonitorState);

  for (const [feature, drift] of Object.entries(report.features)) {
    publishModelMetrics(metrics, model, [[METRICS.featureDrift, MetricUnit.NoUnit, drift.psi]], {
      [METRICS.dimensions.feature]: feature,
    });
  }
  publishModelMetrics(metrics, model, [
    [METRICS.driftSamples, MetricUnit.Count, report.samples],
    [METRICS.driftScore, MetricUnit.NoUnit, report.score],
    ...(report.predictions
      ? [[METRICS.predictionDrift, MetricUnit.NoUnit, report.predictions.psi] as const]
      : []),
  ]);
  logger.info('drift measured', {
    model,
    version: version.version,
    samples: report.samples,
    score: report.score,
  });
  return { model, version: version.version, samples: report.samples, score: report.score, reportKey };
}

interface CapturedRecord {
  readonly time: string;
  readonly instances: readonly unknown[];
  readonly predictions: readonly unknown[];
}

function parseLines(text: string): CapturedRecord[] {
  const records: CapturedRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const record = JSON.parse(line) as CapturedRecord;
      if (Array.isArray(record.instances) && Array.isArray(record.predictions)) records.push(record);
    } catch {
      // a torn line: skipped
    }
  }
  return records;
}

async function readJson<T>(key: string): Promise<T | undefined> {
  const bytes = await getBytesIfExists(artifactsBucket, key);
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as T) : undefined;
}
