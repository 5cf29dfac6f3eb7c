/**
 * The platform's alarms, as data: which metric, statistic, period, threshold and evaluation periods. infra/
 * turns each definition into a CloudWatch alarm; local/ evaluates the same definitions over the EMF lines the
 * handlers write (`evaluateAlarm`, CloudWatch's rules). Names are `<prefix>/<model>/<kind>`, `_all` standing
 * for the alarms over every model (no model name can start with `_`).
 */
import { METRICS } from './contract.ts';
import { DRIFT_THRESHOLD } from './drift.ts';

export const ALARM_KINDS = ['drift', 'latency', 'errors', 'pipeline', 'canary'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
/** CloudWatch's statistics this platform uses; `p99` and the like are percentiles. */
export type Statistic = 'Sum' | 'Average' | 'Maximum' | 'Minimum' | 'SampleCount' | `p${number}`;
export type Comparison =
  | 'GreaterThanThreshold'
  | 'GreaterThanOrEqualToThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';
/** What a period without data counts as (CloudWatch's `TreatMissingData`). */
export type MissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** The name that stands for every model in alarm names. */
export const ALL_MODELS = '_all';

export interface AlarmDefinition {
  readonly name: string;
  readonly kind: AlarmKind;
  /** Undefined: the alarm watches every model together. */
  readonly model?: string;
  readonly description: string;
  readonly metric: { readonly name: string; readonly dimensions: Readonly<Record<string, string>> };
  readonly statistic: Statistic;
  readonly periodSeconds: number;
  readonly threshold: number;
  readonly comparison: Comparison;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly treatMissingData: MissingData;
}

/** What the alarms are set to; every field has a default (DEFAULT_ALARM_SETTINGS). */
export interface AlarmSettings {
  /** First part of every alarm name (the stack's name in AWS). */
  readonly prefix: string;
  /** How often the drift monitor runs: the drift alarm's period. */
  readonly monitorIntervalSeconds: number;
  /** Drift score (largest feature PSI) above which the drift alarm fires. */
  readonly driftThreshold: number;
  /** p99 predict latency above which the latency alarm fires, in ms. */
  readonly latencyP99Ms: number;
  /** Share of predict requests answered 5xx above which the errors alarm fires. */
  readonly faultRate: number;
  /** Share of a canary's requests answered 5xx above which its alarm fires (and, optionally, rolls it back). */
  readonly canaryFaultRate: number;
}

export const DEFAULT_ALARM_SETTINGS: AlarmSettings = {
  prefix: 'nimbus',
  monitorIntervalSeconds: 15 * 60,
  driftThreshold: DRIFT_THRESHOLD,
  latencyP99Ms: 1000,
  faultRate: 0.05,
  canaryFaultRate: 0.05,
};

/** What alarms do besides changing state (and notifying, in AWS). */
export interface AlarmActions {
  /** A drift alarm starts a training run on the model's dataset as it is now. @default false */
  readonly retrainOnDrift?: boolean;
  /** A canary alarm rolls the canary back. @default true */
  readonly rollbackCanary?: boolean;
}

export function alarmName(prefix: string, model: string | undefined, kind: AlarmKind): string {
  return `${prefix}/${model ?? ALL_MODELS}/${kind}`;
}

/** The model and kind an alarm name stands for; undefined for a name that is not one of ours. */
export function parseAlarmName(name: string): { model?: string; kind: AlarmKind } | undefined {
  const parts = name.split('/');
  const kind = parts.at(-1) as AlarmKind;
  const model = parts.at(-2);
  if (parts.length < 3 || !ALARM_KINDS.includes(kind) || !model) return undefined;
  return model === ALL_MODELS ? { kind } : { model, kind };
}

/**
 * The alarms of one model, or (model undefined) the alarms over all models together: drift, p99 latency,
 * 5xx rate and pipeline failures — and, per model, its canary's 5xx rate.
 */
export function alarmDefinitions(
  model: string | undefined,
  settings: Partial<AlarmSettings> = {},
): AlarmDefinition[] {
  const s = { ...DEFAULT_ALARM_SETTINGS, ...settings };
  const dimensions: Record<string, string> = {
    service: METRICS.service,
    ...(model === undefined ? {} : { [METRICS.dimensions.model]: model }),
  };
  const who = model === undefined ? 'any model' : `model ${model}`;
  const base = (kind: AlarmKind) => ({
    name: alarmName(s.prefix, model, kind),
    kind,
    ...(model ? { model } : {}),
  });
  const alarms: AlarmDefinition[] = [
    {
      ...base('drift'),
      description: `Inputs of ${who} drifted: a feature's PSI above ${s.driftThreshold}`,
      metric: { name: METRICS.driftScore, dimensions },
      statistic: 'Maximum',
      periodSeconds: s.monitorIntervalSeconds,
      threshold: s.driftThreshold,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // No traffic, no new evidence: the alarm keeps its state until the monitor measures again.
      treatMissingData: 'ignore',
    },
    {
      ...base('latency'),
      description: `p99 predict latency of ${who} above ${s.latencyP99Ms} ms`,
      metric: { name: METRICS.latency, dimensions },
      statistic: 'p99',
      periodSeconds: 60,
      threshold: s.latencyP99Ms,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: 'notBreaching',
    },
    {
      ...base('errors'),
      description: `More than ${pct(s.faultRate)} of predict requests to ${who} answered 5xx`,
      metric: { name: METRICS.fault, dimensions },
      statistic: 'Average',
      periodSeconds: 60,
      threshold: s.faultRate,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: 'notBreaching',
    },
    {
      ...base('pipeline'),
      description: `A training pipeline run of ${who} failed`,
      metric: { name: METRICS.pipelineFailed, dimensions },
      statistic: 'Sum',
      periodSeconds: 300,
      threshold: 1,
      comparison: 'GreaterThanOrEqualToThreshold',
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: 'notBreaching',
    },
  ];
  if (model !== undefined) {
    alarms.push({
      ...base('canary'),
      description: `More than ${pct(s.canaryFaultRate)} of the requests to ${who}'s canary answered 5xx`,
      metric: { name: METRICS.fault, dimensions: { ...dimensions, [METRICS.dimensions.variant]: 'canary' } },
      statistic: 'Average',
      periodSeconds: 60,
      threshold: s.canaryFaultRate,
      comparison: 'GreaterThanThreshold',
      evaluationPeriods: 2,
      datapointsToAlarm: 1,
      treatMissingData: 'notBreaching',
    });
  }
  return alarms;
}

const pct = (share: number) => `${Math.round(share * 1000) / 10}%`;

// ---- evaluation: CloudWatch's rules, over datapoints held elsewhere ----------------------------------------

/** One value of a metric at a time (ms since the epoch). */
export interface Datapoint {
  readonly at: number;
  readonly value: number;
}

export interface AlarmEvaluation {
  readonly state: AlarmState;
  readonly reason: string;
  /** The statistic of each evaluated period, oldest first; undefined where the period had no data. */
  readonly values: readonly (number | undefined)[];
}

/** A statistic of a set of values (undefined when there are none). Percentiles by nearest rank. */
export function statistic(values: readonly number[], stat: Statistic): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Maximum':
      return Math.max(...values);
    case 'Minimum':
      return Math.min(...values);
    case 'SampleCount':
      return values.length;
    default: {
      const p = Number(stat.slice(1));
      // A typed array sorts numbers natively: several times faster than a comparator over a busy period's
      // hundreds of thousands of latencies (evaluated every second, locally, on the serving event loop).
      const sorted = Float64Array.from(values).sort();
      const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
      return sorted[rank - 1];
    }
  }
}

export function breaches(value: number, comparison: Comparison, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

/**
 * Evaluates an alarm at `now` over its last `evaluationPeriods` periods (aligned to multiples of the period,
 * the newest being the one `now` falls in, counted while it fills): ALARM when at least `datapointsToAlarm` of
 * them breach; missing periods count as `treatMissingData` says, and with no data at all the alarm stays as
 * it was (`ignore`) or has INSUFFICIENT_DATA (`missing`).
 */
export function evaluateAlarm(
  alarm: AlarmDefinition,
  datapoints: readonly Datapoint[],
  now: number,
  previous: AlarmState = 'INSUFFICIENT_DATA',
): AlarmEvaluation {
  const period = alarm.periodSeconds * 1000;
  const newest = Math.floor(now / period) * period;
  const oldest = newest - (alarm.evaluationPeriods - 1) * period;
  const buckets: number[][] = Array.from({ length: alarm.evaluationPeriods }, () => []);
  for (const point of datapoints) {
    if (point.at < oldest || point.at >= newest + period) continue;
    buckets[Math.floor((point.at - oldest) / period)]?.push(point.value);
  }
  const values = buckets.map((bucket) => statistic(bucket, alarm.statistic));
  const present = values.filter((v): v is number => v !== undefined);
  const breaching =
    present.filter((v) => breaches(v, alarm.comparison, alarm.threshold)).length +
    (alarm.treatMissingData === 'breaching' ? values.length - present.length : 0);
  const shown = values.map((v) => (v === undefined ? '-' : round(v))).join(', ');
  const of = `${alarm.statistic} of ${alarm.metric.name} over ${alarm.evaluationPeriods} × ${alarm.periodSeconds} s [${shown}]`;
  if (breaching >= alarm.datapointsToAlarm) {
    return {
      state: 'ALARM',
      reason: `${breaching} of ${alarm.evaluationPeriods} datapoints breached ${alarm.comparison} ${alarm.threshold}: ${of}`,
      values,
    };
  }
  if (present.length === 0 && alarm.treatMissingData === 'ignore') {
    return { state: previous, reason: `no data; the state is kept: ${of}`, values };
  }
  if (present.length === 0 && alarm.treatMissingData === 'missing') {
    return { state: 'INSUFFICIENT_DATA', reason: `no data: ${of}`, values };
  }
  return {
    state: 'OK',
    reason: `${breaching} of ${alarm.evaluationPeriods} datapoints breached ${alarm.comparison} ${alarm.threshold}: ${of}`,
    values,
  };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** The event EventBridge carries when a CloudWatch alarm changes state (the fields this platform reads). */
export interface AlarmStateChangeEvent {
  readonly source: 'aws.cloudwatch';
  readonly 'detail-type': 'CloudWatch Alarm State Change';
  readonly time: string;
  readonly region: string;
  readonly account: string;
  readonly resources: readonly string[];
  readonly detail: {
    readonly alarmName: string;
    readonly state: { readonly value: AlarmState; readonly reason: string; readonly timestamp: string };
    readonly previousState: {
      readonly value: AlarmState;
      readonly reason: string;
      readonly timestamp: string;
    };
    readonly configuration: { readonly description?: string };
  };
}

/** The EventBridge pattern of this platform's alarms' state changes (its names start with the prefix). */
export function alarmEventPattern(prefix: string) {
  return {
    source: ['aws.cloudwatch'],
    'detail-type': ['CloudWatch Alarm State Change'],
    detail: { alarmName: [{ prefix: `${prefix}/` }] },
  };
}
