import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  type AlarmDefinition,
  type AlarmSettings,
  alarmDefinitions,
  DEFAULT_ALARM_SETTINGS,
  type MissingData,
} from '../core/alarms.ts';
import { METRICS } from '../core/contract.ts';

export interface MonitoringProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly api: apigateway.RestApi;
  /** Email address subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** p99 latency of the predict API (API Gateway's figure) that raises an alarm. @default 1 second */
  readonly latencyP99Threshold?: Duration;
  /**
   * Models that get alarms of their own (drift, p99 latency, 5xx rate, pipeline failures, canary) and a row
   * on the dashboard. Every model is always covered by the alarms over all models.
   * @default none
   */
  readonly monitoredModels?: readonly string[];
  /** How often the drift monitor runs; the drift alarms' period. @default 15 minutes */
  readonly monitorInterval?: Duration;
  /** Thresholds of the alarms (core/alarms.ts). @default DEFAULT_ALARM_SETTINGS */
  readonly alarmSettings?: Partial<Omit<AlarmSettings, 'prefix' | 'monitorIntervalSeconds'>>;
}

/**
 * Monitoring: the platform's alarms (core/alarms.ts: the same definitions the local platform evaluates) over
 * all models and per listed model, plus API Gateway's own 5xx and latency and failed executions, all to an SNS
 * topic; and a dashboard whose drift, latency, error and pipeline graphs find every model by search
 * expressions. (The drift monitor's schedule and the rule that sends alarm state changes to the alarm-state
 * function are rules of core/declaration.ts, built in rules.ts.)
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;
  /** The first part of every platform alarm's name: the stack's name. */
  readonly alarmPrefix: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', { displayName: 'Nimbus ML alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS key; the messages carry ' +
        'alarm names and states only. Encrypt with a customer key if your policy requires it.',
    });

    const interval = props.monitorInterval ?? Duration.minutes(15);
    this.alarmPrefix = Stack.of(this).stackName;
    const settings: AlarmSettings = {
      ...DEFAULT_ALARM_SETTINGS,
      ...props.alarmSettings,
      prefix: this.alarmPrefix,
      monitorIntervalSeconds: interval.toSeconds(),
    };

    const period = Duration.minutes(5);
    const failed = props.stateMachine.metricFailed({ period, statistic: 'Sum' });
    const errors = props.api.metricServerError({ period, statistic: 'Sum' });
    const latency = props.api.metricLatency({ period, statistic: 'p99' });
    const threshold = props.latencyP99Threshold ?? Duration.seconds(1);
    this.alarms = [
      failed.createAlarm(this, 'PipelineFailures', {
        alarmDescription: 'A training pipeline execution failed',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      errors.createAlarm(this, 'Api5xx', {
        alarmDescription: 'The API answered 5xx',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      latency.createAlarm(this, 'ApiLatencyP99', {
        alarmDescription: `API p99 latency above ${threshold.toMilliseconds()} ms`,
        threshold: threshold.toMilliseconds(),
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      ...[undefined, ...(props.monitoredModels ?? [])].flatMap((model) =>
        alarmDefinitions(model, settings).map((definition) => this.platformAlarm(definition)),
      ),
    ];
    for (const alarm of this.alarms) alarm.addAlarmAction(new actions.SnsAction(this.topic));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(...this.overviewWidgets(props, interval, failed, errors, latency));
    for (const model of props.monitoredModels ?? [])
      this.dashboard.addWidgets(...this.modelWidgets(model, interval));
  }

  /** A CloudWatch alarm from one of the platform's definitions. */
  private platformAlarm(definition: AlarmDefinition): cloudwatch.Alarm {
    const id = `${definition.model ?? 'AllModels'}-${definition.kind}`;
    return new cloudwatch.Alarm(this, id, {
      alarmName: definition.name,
      alarmDescription: definition.description,
      metric: new cloudwatch.Metric({
        namespace: METRICS.namespace,
        metricName: definition.metric.name,
        dimensionsMap: { ...definition.metric.dimensions },
        statistic: definition.statistic,
        period: Duration.seconds(definition.periodSeconds),
      }),
      threshold: definition.threshold,
      comparisonOperator: COMPARISONS[definition.comparison],
      evaluationPeriods: definition.evaluationPeriods,
      datapointsToAlarm: definition.datapointsToAlarm,
      treatMissingData: MISSING_DATA[definition.treatMissingData],
    });
  }

  private overviewWidgets(
    props: MonitoringProps,
    interval: Duration,
    failed: cloudwatch.IMetric,
    errors: cloudwatch.IMetric,
    latency: cloudwatch.IMetric,
  ): cloudwatch.IWidget[] {
    const ns = METRICS.namespace;
    const byModel = (metric: string, stat: string, seconds: number, label: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${ns},model,service} MetricName="${metric}"', '${stat}', ${seconds})`,
        label,
        period: Duration.seconds(seconds),
      });
    const minutes = interval.toSeconds();
    return [
      new cloudwatch.TextWidget({
        markdown: '# Nimbus ML\nEvery model, found by search: drift, latency, errors, pipeline runs.',
        width: 24,
        height: 1,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drift score by model (largest feature PSI)',
        left: [byModel(METRICS.driftScore, 'Maximum', minutes, '')],
        leftAnnotations: [{ value: DEFAULT_ALARM_SETTINGS.driftThreshold, label: 'drift threshold' }],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drift per feature (PSI)',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${ns},feature,model,service} MetricName="${METRICS.featureDrift}"', 'Maximum', ${minutes})`,
            label: '',
            period: interval,
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Predict latency p99 by model (ms)',
        left: [byModel(METRICS.latency, 'p99', 300, '')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Predictions and 5xx rate by model',
        left: [byModel(METRICS.predictions, 'Sum', 300, '')],
        right: [byModel(METRICS.fault, 'Average', 300, '')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Pipeline runs',
        left: [
          props.stateMachine.metricStarted({ period: Duration.minutes(5), statistic: 'Sum' }),
          props.stateMachine.metricSucceeded({ period: Duration.minutes(5), statistic: 'Sum' }),
          failed,
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'API (API Gateway): requests, 4xx, 5xx',
        left: [
          props.api.metricCount({ period: Duration.minutes(5), statistic: 'Sum' }),
          props.api.metricClientError({ period: Duration.minutes(5), statistic: 'Sum' }),
          errors,
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'API (API Gateway) latency (ms)',
        left: [props.api.metricLatency({ period: Duration.minutes(5), statistic: 'p50' }), latency],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
    ];
  }

  private modelWidgets(model: string, interval: Duration): cloudwatch.IWidget[] {
    const metric = (name: string, statistic: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: METRICS.namespace,
        metricName: name,
        dimensionsMap: { service: METRICS.service, model },
        statistic,
        period,
      });
    const five = Duration.minutes(5);
    return [
      new cloudwatch.TextWidget({ markdown: `## ${model}`, width: 24, height: 1 }),
      new cloudwatch.GraphWidget({
        title: `${model}: drift per feature (PSI)`,
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS.namespace},feature,model,service} MetricName="${METRICS.featureDrift}" model="${model}"', 'Maximum', ${interval.toSeconds()})`,
            label: '',
            period: interval,
          }),
          metric(METRICS.predictionDrift, 'Maximum', interval),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: `${model}: latency (ms)`,
        left: [metric(METRICS.latency, 'p50', five), metric(METRICS.latency, 'p99', five)],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: `${model}: predictions, errors, training`,
        left: [metric(METRICS.predictions, 'Sum', five), metric(METRICS.errors, 'Sum', five)],
        right: [
          metric(METRICS.pipelineFailed, 'Sum', five),
          metric(METRICS.trainingSeconds, 'Maximum', five),
        ],
        width: 8,
      }),
    ];
  }
}

const COMPARISONS: Record<AlarmDefinition['comparison'], cloudwatch.ComparisonOperator> = {
  GreaterThanThreshold: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  GreaterThanOrEqualToThreshold: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  LessThanThreshold: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
  LessThanOrEqualToThreshold: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
};

const MISSING_DATA: Record<MissingData, cloudwatch.TreatMissingData> = {
  breaching: cloudwatch.TreatMissingData.BREACHING,
  notBreaching: cloudwatch.TreatMissingData.NOT_BREACHING,
  ignore: cloudwatch.TreatMissingData.IGNORE,
  missing: cloudwatch.TreatMissingData.MISSING,
};
