/**
 * CloudWatch on one machine: the EMF lines the handlers write (in-process, on stdout, as in Lambda; the
 * training process's through its pipe) become datapoints; the platform's alarm definitions (core/alarms.ts,
 * the same ones infra/ deploys) are evaluated over them every second; each state change is sent, as
 * CloudWatch's EventBridge event, to the same alarm-state handler as in AWS, and announced to listeners
 * (`npm start` prints it). The drift monitor runs on its schedule, as the EventBridge schedule runs it.
 *
 * Differences from CloudWatch, on purpose: the newest period is evaluated while it fills (CloudWatch waits
 * for data to arrive), and datapoints live in memory for `RETENTION_MS` only.
 */
import { EventEmitter } from 'node:events';
import {
  type AlarmDefinition,
  type AlarmSettings,
  type AlarmState,
  type AlarmStateChangeEvent,
  alarmDefinitions,
  type Datapoint,
  evaluateAlarm,
} from '../core/alarms.ts';
import { METRICS } from '../core/contract.ts';
import { NAME_PATTERN } from '../core/names.ts';

/** How long datapoints are kept: longer than any alarm's evaluation window. */
const RETENTION_MS = 6 * 60 * 60 * 1000;

/** One EMF blob (the fields this reader needs). */
interface EmfBlob {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string }[];
    }[];
  };
  readonly [field: string]: unknown;
}

/** Datapoints by metric name and dimension set, as CloudWatch keys them. */
export class MetricStore {
  private readonly series = new Map<string, Datapoint[]>();
  /** Models seen in any metric's `model` dimension. */
  readonly models = new Set<string>();

  /** Reads one line; returns whether it was an EMF blob of this platform's namespace. */
  ingestLine(line: string): boolean {
    if (!line.startsWith('{"_aws"')) return false;
    let blob: EmfBlob;
    try {
      blob = JSON.parse(line) as EmfBlob;
    } catch {
      return false;
    }
    const at = blob._aws.Timestamp;
    for (const directive of blob._aws.CloudWatchMetrics) {
      if (directive.Namespace !== METRICS.namespace) continue;
      for (const set of directive.Dimensions) {
        const dimensions = Object.fromEntries(set.map((name) => [name, String(blob[name])]));
        const model = dimensions[METRICS.dimensions.model];
        // Alarms exist per model: a name outside the rule is no model (the handlers publish none such).
        if (model !== undefined && !NAME_PATTERN.test(model)) continue;
        if (model) this.models.add(model);
        for (const { Name } of directive.Metrics) {
          const raw = blob[Name];
          const values = Array.isArray(raw) ? raw : [raw];
          const points = this.points(Name, dimensions, true);
          for (const value of values) if (typeof value === 'number') points.push({ at, value });
        }
      }
    }
    return true;
  }

  /** The datapoints of a metric with exactly these dimensions. */
  datapoints(name: string, dimensions: Readonly<Record<string, string>>): readonly Datapoint[] {
    return this.points(name, dimensions, false);
  }

  /** Drops what is older than the retention. */
  expire(now: number): void {
    const cutoff = now - RETENTION_MS;
    for (const [key, points] of this.series) {
      // Nothing to drop (the common case, every second): no copy of the series.
      if (points.every((p) => p.at >= cutoff)) continue;
      const keep = points.filter((p) => p.at >= cutoff);
      if (keep.length === 0) this.series.delete(key);
      else if (keep.length !== points.length) this.series.set(key, keep);
    }
  }

  private points(name: string, dimensions: Readonly<Record<string, string>>, create: boolean): Datapoint[] {
    const key = `${name}|${Object.keys(dimensions)
      .sort()
      .map((k) => `${k}=${dimensions[k]}`)
      .join(',')}`;
    let points = this.series.get(key);
    if (!points) {
      points = [];
      if (create) this.series.set(key, points);
    }
    return points;
  }
}

export interface AlarmChange {
  readonly alarm: AlarmDefinition;
  readonly from: AlarmState;
  readonly to: AlarmState;
  readonly reason: string;
  readonly at: string;
}

export interface LocalMonitoringOptions {
  readonly settings: AlarmSettings;
  /** Where state changes go: the alarm-state handler. */
  readonly onStateChange: (event: AlarmStateChangeEvent) => Promise<unknown>;
  /** Runs the drift monitor. */
  readonly runDriftMonitor: () => Promise<unknown>;
  /** States recorded before (a restart keeps them). */
  readonly initialStates?: ReadonlyMap<string, AlarmState>;
  readonly region: string;
  readonly account: string;
  /** @default 1000 */
  readonly evaluationIntervalMs?: number;
}

/**
 * The local alarms: EMF in, state changes out. Emits `change` (AlarmChange) after the alarm-state handler
 * has taken each one, and `error` never: a failed handler call is retried at the next evaluation.
 */
export class LocalMonitoring extends EventEmitter<{ change: [AlarmChange]; monitorError: [unknown] }> {
  readonly metrics = new MetricStore();
  private readonly states = new Map<string, AlarmState>();
  private readonly timers: NodeJS.Timeout[] = [];
  private evaluating: Promise<void> = Promise.resolve();
  private monitoring: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: LocalMonitoringOptions) {
    super();
    for (const [name, state] of options.initialStates ?? []) this.states.set(name, state);
  }

  start(): void {
    this.timers.push(
      setInterval(() => void this.evaluate(), this.options.evaluationIntervalMs ?? 1000).unref(),
      setInterval(
        () => void this.runDriftMonitor(),
        this.options.settings.monitorIntervalSeconds * 1000,
      ).unref(),
    );
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await Promise.allSettled([this.evaluating, this.monitoring]);
  }

  /** Every alarm: over all models, and per model seen in the metrics. */
  definitions(): AlarmDefinition[] {
    return [undefined, ...[...this.metrics.models].sort()].flatMap((model) =>
      alarmDefinitions(model, this.options.settings),
    );
  }

  /** The current state of every alarm. */
  current(): { alarm: AlarmDefinition; state: AlarmState }[] {
    return this.definitions().map((alarm) => ({
      alarm,
      state: this.states.get(alarm.name) ?? 'INSUFFICIENT_DATA',
    }));
  }

  /** Runs the drift monitor now (as its schedule does), then evaluates the alarms. */
  runDriftMonitor(): Promise<unknown> {
    this.monitoring = this.monitoring
      .then(() => this.options.runDriftMonitor())
      .catch((error: unknown) => this.emit('monitorError', error))
      .then(() => this.evaluate());
    return this.monitoring;
  }

  /** Evaluates every alarm now; resolves when the state changes it found have been handled. */
  evaluate(now = Date.now()): Promise<void> {
    this.evaluating = this.evaluating.then(async () => {
      this.metrics.expire(now);
      for (const alarm of this.definitions()) {
        const previous = this.states.get(alarm.name) ?? 'INSUFFICIENT_DATA';
        const result = evaluateAlarm(
          alarm,
          this.metrics.datapoints(alarm.metric.name, alarm.metric.dimensions),
          now,
          previous,
        );
        if (result.state === previous) continue;
        const at = new Date(now).toISOString();
        try {
          await this.options.onStateChange(this.event(alarm, previous, result.state, result.reason, at));
        } catch (error) {
          this.emit('monitorError', error);
          continue; // tried again at the next evaluation
        }
        this.states.set(alarm.name, result.state);
        this.emit('change', { alarm, from: previous, to: result.state, reason: result.reason, at });
      }
    });
    return this.evaluating;
  }

  private event(
    alarm: AlarmDefinition,
    from: AlarmState,
    to: AlarmState,
    reason: string,
    at: string,
  ): AlarmStateChangeEvent {
    const { region, account } = this.options;
    return {
      source: 'aws.cloudwatch',
      'detail-type': 'CloudWatch Alarm State Change',
      time: at,
      region,
      account,
      resources: [`arn:aws:cloudwatch:${region}:${account}:alarm:${alarm.name}`],
      detail: {
        alarmName: alarm.name,
        state: { value: to, reason, timestamp: at },
        previousState: { value: from, reason: '', timestamp: at },
        configuration: { description: alarm.description },
      },
    };
  }
}

/**
 * Routes the EMF lines this process writes on stdout into a metric store instead of the terminal, as Lambda's
 * log capture does with a function's output. Returns the function that puts stdout back.
 */
export function captureEmf(store: MetricStore): () => void {
  const stdout = process.stdout;
  const write = stdout.write;
  const patched = function (this: typeof stdout, chunk: unknown, ...rest: unknown[]): boolean {
    if (typeof chunk === 'string' && chunk.startsWith('{"_aws"')) {
      const lines = chunk.split('\n').filter((line) => line !== '');
      if (lines.every((line) => store.ingestLine(line))) {
        const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      }
    }
    return (write as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  };
  stdout.write = patched as typeof stdout.write;
  return () => {
    if (stdout.write === patched) stdout.write = write;
  };
}
