import { Duration, Validations } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface MonitoringProps {
  readonly stateMachine: sfn.IStateMachine;
  readonly api: apigateway.RestApi;
  /** Email address subscribed to the alarm topic. @default no subscription */
  readonly alarmEmail?: string;
  /** p99 latency of the predict API that raises an alarm. @default 1 second */
  readonly latencyP99Threshold?: Duration;
}

/**
 * Alarms to an SNS topic — failed pipeline executions, API 5xx, API p99 latency — and a dashboard of the
 * pipeline and the API.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard;

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
        alarmDescription: 'The predict API answered 5xx',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      latency.createAlarm(this, 'ApiLatencyP99', {
        alarmDescription: `Predict API p99 latency above ${threshold.toMilliseconds()} ms`,
        threshold: threshold.toMilliseconds(),
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const alarm of this.alarms) alarm.addAlarmAction(new actions.SnsAction(this.topic));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Pipeline executions',
        left: [
          props.stateMachine.metricStarted({ period, statistic: 'Sum' }),
          props.stateMachine.metricSucceeded({ period, statistic: 'Sum' }),
          failed,
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Predict API requests and errors',
        left: [
          props.api.metricCount({ period, statistic: 'Sum' }),
          props.api.metricClientError({ period, statistic: 'Sum' }),
          errors,
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Predict API latency (ms)',
        left: [props.api.metricLatency({ period, statistic: 'p50' }), latency],
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms }),
    );
  }
}
