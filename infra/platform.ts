import { CfnOutput, type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { AlarmActions } from '../core/alarms.ts';
import { parseTrainingBudget, type TrainingBudget } from '../core/budget.ts';
import { OUTPUTS, type TrainingPlatform } from '../core/contract.ts';
import type { GateSpec } from '../core/registry.ts';
import { BatchPrediction } from './batch-prediction.ts';
import { DataLake } from './data-lake.ts';
import { InferenceApi } from './inference-api.ts';
import { Monitoring } from './monitoring.ts';
import { TrainingPipeline } from './pipeline.ts';
import { Registries } from './registries.ts';
import { TrainingCompute } from './training.ts';

export interface NimbusPlatformProps {
  /** Where training jobs run: AWS Batch GPU instances or SageMaker training jobs. @default 'batch' */
  readonly trainingPlatform?: TrainingPlatform;
  /** GPU instance types for Batch. @default g4dn.xlarge */
  readonly trainingInstanceTypes?: ec2.InstanceType[];
  /** Most vCPUs Batch may run at once (it scales from 0). @default 16 */
  readonly trainingMaxvCpus?: number;
  /** Run Batch training on Spot capacity. @default false */
  readonly trainingSpot?: boolean;
  /** SageMaker training instance type. @default 'ml.g4dn.xlarge' */
  readonly sageMakerInstanceType?: string;
  /**
   * What one training job may spend: `minutes` of training (fractions allowed, at most 24 hours), after which
   * it keeps its best epoch, and `parameters`, the largest model it may build (at most 10⁹). A dataset's
   * manifest `budget` may only lower it. Batch's attempt timeout and SageMaker's MaxRuntimeInSeconds follow
   * it, plus a margin for loading and saving (core/budget.ts).
   * @default DEFAULT_TRAINING_BUDGET: 60 minutes and 10,000,000 parameters
   */
  readonly trainingBudget?: Partial<TrainingBudget>;
  /** Per-key steady request rate of the predict API. @default 100 */
  readonly apiRateLimit?: number;
  /** Per-key burst of the predict API. @default 200 */
  readonly apiBurstLimit?: number;
  /** The champion/challenger gate for every model, unless a dataset's manifest sets its own. @default DEFAULT_GATE */
  readonly gate?: GateSpec;
  /** Share of predictions written to the data capture (S3, JSON Lines by date and hour). @default 0.1 */
  readonly captureRate?: number;
  /** Email for alarm notifications. @default no subscription (subscribe to the topic output yourself) */
  readonly alarmEmail?: string;
  /** Predict API p99 latency that raises an alarm. @default 1 second */
  readonly latencyP99Threshold?: Duration;
  /**
   * Models with alarms and dashboard rows of their own (the alarms over all models cover every model).
   * @default none
   */
  readonly monitoredModels?: readonly string[];
  /** How often the drift monitor compares captured traffic with the baselines. @default 15 minutes */
  readonly monitorInterval?: Duration;
  /** What alarms do besides notifying. @default canary alarms roll their canary back */
  readonly alarmActions?: AlarmActions;
  /**
   * What happens to buckets and tables when the stack is deleted. DESTROY also empties the buckets.
   * @default RemovalPolicy.RETAIN
   */
  readonly dataRemovalPolicy?: RemovalPolicy;
  /** Add stack outputs naming every bucket, table and endpoint. @default true */
  readonly outputs?: boolean;
}

/**
 * The whole Nimbus ML platform: data lake (datasets and artifacts buckets), registries (datasets, runs,
 * models tables), the training pipeline started by dataset uploads (Lambda steps, GPU training on Batch or
 * SageMaker), the HTTPS predict API with API keys, and alarms with a dashboard.
 *
 * @example
 * new NimbusPlatform(stack, 'Nimbus', { trainingPlatform: 'sagemaker', alarmEmail: 'ml-oncall@example.com' });
 */
export class NimbusPlatform extends Construct {
  readonly dataLake: DataLake;
  readonly registries: Registries;
  readonly training: TrainingCompute;
  readonly pipeline: TrainingPipeline;
  readonly inference: InferenceApi;
  readonly batch: BatchPrediction;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: NimbusPlatformProps = {}) {
    super(scope, id);
    const removalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;
    const trainingBudget = this.trainingBudget(props.trainingBudget);
    this.dataLake = new DataLake(this, 'DataLake', { removalPolicy });
    this.registries = new Registries(this, 'Registries', { removalPolicy });
    this.training = new TrainingCompute(this, 'Training', {
      artifacts: this.dataLake.artifacts,
      ...(props.trainingPlatform ? { platform: props.trainingPlatform } : {}),
      ...(props.trainingInstanceTypes ? { instanceTypes: props.trainingInstanceTypes } : {}),
      ...(props.trainingMaxvCpus === undefined ? {} : { maxvCpus: props.trainingMaxvCpus }),
      ...(props.trainingSpot === undefined ? {} : { spot: props.trainingSpot }),
      ...(props.sageMakerInstanceType ? { sageMakerInstanceType: props.sageMakerInstanceType } : {}),
      trainingBudget,
    });
    this.pipeline = new TrainingPipeline(this, 'Pipeline', {
      datasets: this.dataLake.datasets,
      artifacts: this.dataLake.artifacts,
      tables: this.registries.tables,
      training: this.training,
      trainingBudget,
      ...(props.gate ? { gate: props.gate } : {}),
    });
    this.inference = new InferenceApi(this, 'Inference', {
      artifacts: this.dataLake.artifacts,
      datasets: this.dataLake.datasets,
      datasetsTable: this.registries.tables.datasets,
      models: this.registries.tables.models,
      runs: this.registries.tables.runs,
      pipeline: this.pipeline.stateMachine,
      ...(props.captureRate === undefined ? {} : { captureRate: props.captureRate }),
      ...(props.apiRateLimit === undefined ? {} : { rateLimit: props.apiRateLimit }),
      ...(props.apiBurstLimit === undefined ? {} : { burstLimit: props.apiBurstLimit }),
    });
    this.batch = new BatchPrediction(this, 'BatchPrediction', {
      datasets: this.dataLake.datasets,
      artifacts: this.dataLake.artifacts,
      models: this.registries.tables.models,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stateMachine: this.pipeline.stateMachine,
      api: this.inference.api,
      artifacts: this.dataLake.artifacts,
      datasets: this.dataLake.datasets,
      models: this.registries.tables.models,
      datasetsTable: this.registries.tables.datasets,
      ...(props.monitoredModels ? { monitoredModels: props.monitoredModels } : {}),
      ...(props.monitorInterval ? { monitorInterval: props.monitorInterval } : {}),
      ...(props.alarmActions ? { alarmActions: props.alarmActions } : {}),
      ...(props.alarmEmail ? { alarmEmail: props.alarmEmail } : {}),
      ...(props.latencyP99Threshold ? { latencyP99Threshold: props.latencyP99Threshold } : {}),
    });
    if (props.outputs ?? true) this.addOutputs();
  }

  /** The training budget, checked at synth: an error naming the construct and the field. */
  private trainingBudget(budget: Partial<TrainingBudget> | undefined): TrainingBudget {
    try {
      return parseTrainingBudget(budget);
    } catch (error) {
      throw new Error(`${this.node.path}: ${(error as Error).message}`);
    }
  }

  private addOutputs(): void {
    const stack = Stack.of(this);
    const output = (key: string, value: string, description: string) =>
      new CfnOutput(stack, key, { value, description });
    const { tables } = this.registries;
    output(
      OUTPUTS.datasetsBucket,
      this.dataLake.datasets.bucketName,
      'Upload datasets under datasets/<name>/',
    );
    output(OUTPUTS.artifactsBucket, this.dataLake.artifacts.bucketName, 'Processed data and model versions');
    output(OUTPUTS.datasetsTable, tables.datasets.tableName, 'Dataset versions');
    output(OUTPUTS.runsTable, tables.runs.tableName, 'Pipeline runs');
    output(OUTPUTS.modelsTable, tables.models.tableName, 'Model versions and aliases');
    output(OUTPUTS.stateMachine, this.pipeline.stateMachine.stateMachineArn, 'Training pipeline');
    output(OUTPUTS.apiUrl, this.inference.api.url, 'Predict API base URL: POST v1/models/<name>:predict');
    output(
      OUTPUTS.apiKeyId,
      this.inference.apiKey.keyId,
      'aws apigateway get-api-key --include-value --api-key <id>',
    );
    output(OUTPUTS.alarmTopic, this.monitoring.topic.topicArn, 'Alarm notifications');
    output(OUTPUTS.dashboard, this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard');
  }
}
