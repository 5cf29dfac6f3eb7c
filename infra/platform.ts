import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { AlarmActions } from '../core/alarms.ts';
import { parseTrainingBudget, type TrainingBudget } from '../core/budget.ts';
import { OUTPUTS, type TrainingPlatform } from '../core/contract.ts';
import { functionList } from '../core/declaration.ts';
import { type GateSpec, parseGateSpec } from '../core/model-registry.ts';
import { DataLake } from './data-lake.ts';
import { PlatformFunctions } from './functions.ts';
import { InferenceApi } from './inference-api.ts';
import { Monitoring } from './monitoring.ts';
import { TrainingPipeline } from './pipeline.ts';
import { Registries } from './registries.ts';
import { PlatformRules } from './rules.ts';
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
  /** Every function of core/declaration.ts, bound to the buckets and tables it declares. */
  readonly functions: PlatformFunctions;
  readonly pipeline: TrainingPipeline;
  readonly inference: InferenceApi;
  readonly monitoring: Monitoring;
  /** Every event rule and schedule of core/declaration.ts. */
  readonly rules: PlatformRules;

  constructor(scope: Construct, id: string, props: NimbusPlatformProps = {}) {
    super(scope, id);
    const removalPolicy = props.dataRemovalPolicy ?? RemovalPolicy.RETAIN;
    const trainingBudget = this.trainingBudget(props.trainingBudget);
    const monitorInterval = props.monitorInterval ?? Duration.minutes(15);
    this.dataLake = new DataLake(this, 'DataLake', { removalPolicy });
    this.registries = new Registries(this, 'Registries', { removalPolicy });
    this.training = new TrainingCompute(this, 'Training', {
      artifacts: this.dataLake.artifacts,
      platform: props.trainingPlatform,
      instanceTypes: props.trainingInstanceTypes,
      maxvCpus: props.trainingMaxvCpus,
      spot: props.trainingSpot,
      sageMakerInstanceType: props.sageMakerInstanceType,
      trainingBudget,
    });
    this.functions = new PlatformFunctions(this, 'Functions', {
      buckets: { datasets: this.dataLake.datasets, artifacts: this.dataLake.artifacts },
      tables: this.registries.tables,
      settings: {
        gate: JSON.stringify(parseGateSpec(props.gate)),
        // Preprocess puts the run's budget, and the hard timeouts derived from it, in the training job spec.
        trainingBudget: JSON.stringify(trainingBudget),
        captureRate: String(props.captureRate ?? 0.1),
        alarmActions: JSON.stringify({ rollbackCanary: true, ...props.alarmActions }),
      },
    });
    const { functions } = this.functions;
    this.pipeline = new TrainingPipeline(this, 'Pipeline', {
      functions,
      artifacts: this.dataLake.artifacts,
      training: this.training,
    });
    this.functions.grantPipeline(this.pipeline.stateMachine);
    for (const declared of functionList()) {
      if (declared.trainingJobs === 'describe')
        this.training.grantDescribe(functions[declared.name].function);
    }
    this.inference = new InferenceApi(this, 'Inference', {
      functions,
      rateLimit: props.apiRateLimit,
      burstLimit: props.apiBurstLimit,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stateMachine: this.pipeline.stateMachine,
      api: this.inference.api,
      monitorInterval,
      monitoredModels: props.monitoredModels,
      alarmEmail: props.alarmEmail,
      latencyP99Threshold: props.latencyP99Threshold,
    });
    this.rules = new PlatformRules(this, 'Rules', {
      functions,
      stateMachine: this.pipeline.stateMachine,
      names: {
        datasetsBucket: this.dataLake.datasets.bucketName,
        stateMachineArn: this.pipeline.stateMachine.stateMachineArn,
        alarmPrefix: this.monitoring.alarmPrefix,
      },
      monitorInterval,
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
