/**
 * CloudWatch metrics in the Embedded Metric Format, with Powertools: JSON lines on stdout that CloudWatch Logs
 * turns into metrics in AWS, and that the local substrate reads off the same stream. One namespace and the
 * `service` dimension for all (core/contract.ts METRICS).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';
import { METRICS } from '../core/contract.ts';

export type { Metrics };
export { MetricUnit };

export function createMetrics(): Metrics {
  return new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
}

/**
 * Publishes metric values of a model at once (one EMF line), with two dimension sets, `[service]` and
 * `[service, model]`, so that an alarm can watch one model or all of them together; or, with extra
 * dimensions, with the one set `[service, model, ...extra]`. Nothing is awaited between adding and
 * publishing, so concurrent requests in one process cannot mix their values.
 */
export function publishModelMetrics(
  metrics: Metrics,
  model: string | undefined,
  values: readonly (readonly [name: string, unit: Unit, value: number])[],
  extraDimensions?: Readonly<Record<string, string>>,
): void {
  if (values.length === 0) return;
  const modelDimension: Record<string, string> = model ? { [METRICS.dimensions.model]: model } : {};
  if (extraDimensions) metrics.addDimensions({ ...modelDimension, ...extraDimensions });
  else {
    metrics.addDimensions({});
    if (model) metrics.addDimensions(modelDimension);
  }
  for (const [name, unit, value] of values) metrics.addMetric(name, unit, value);
  metrics.publishStoredMetrics();
}

type ModelValues = readonly (readonly [name: string, unit: Unit, value: number])[];
export type PublishModelMetrics = (
  model: string | undefined,
  values: ModelValues,
  extraDimensions?: Readonly<Record<string, string>>,
) => void;

/**
 * A metric's values in one EMF line at most: CloudWatch takes 100, and Powertools publishes by itself (and
 * drops the dimensions of what follows) when a metric reaches 100.
 */
const BATCH_VALUES = 99;

/**
 * publishModelMetrics, batched: what is published during one turn of the event loop is held, then published
 * at its end (setImmediate) as one EMF line per model and dimension set, each metric's values as an array —
 * the same values, with the same dimensions, as one line per call, at a fraction of the cost per request
 * (one serialization, one write, one line for CloudWatch to read, instead of one per request). Only for a
 * process that outlives the invocation (the local platform; ENV.metricsBatch): a Lambda environment frozen
 * right after its invocation would hold the values until the next one.
 */
export function batchedModelMetrics(metrics: Metrics): PublishModelMetrics {
  const batches = new Map<
    string,
    {
      model: string | undefined;
      extra: Readonly<Record<string, string>> | undefined;
      values: Map<string, { unit: Unit; values: number[] }>;
    }
  >();
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const pending = [...batches.values()];
    batches.clear();
    for (const { model, extra, values } of pending) {
      let longest = 0;
      for (const metric of values.values()) longest = Math.max(longest, metric.values.length);
      for (let start = 0; start < longest; start += BATCH_VALUES) {
        const line: [string, Unit, number][] = [];
        for (const [name, metric] of values) {
          for (const value of metric.values.slice(start, start + BATCH_VALUES))
            line.push([name, metric.unit, value]);
        }
        publishModelMetrics(metrics, model, line, extra);
      }
    }
  };
  return (model, values, extra) => {
    if (values.length === 0) return;
    const key = `${model ?? ''}\u0000${extra ? JSON.stringify(extra) : ''}`;
    let batch = batches.get(key);
    if (!batch) {
      batch = { model, extra: extra && { ...extra }, values: new Map() };
      batches.set(key, batch);
    }
    for (const [name, unit, value] of values) {
      const metric = batch.values.get(name);
      if (metric) metric.values.push(value);
      else batch.values.set(name, { unit, values: [value] });
    }
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
