import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULT_TRAINING_BUDGET, type TrainingBudget } from '../core/budget.ts';
import {
  ENV,
  EXECUTION_ENDED_FUNCTION_DIR,
  executionEndedEventPattern,
  FUNCTIONS,
  KEYS,
  PIPELINE_DEFINITION_FILE,
  type PipelineFunction,
  SUBSTITUTIONS,
  type SubstitutionKey,
  type TableRole,
  uploadEventPattern,
} from '../core/contract.ts';
import { type GateSpec, parseGateSpec } from '../core/registry.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { NimbusFunction } from './function.ts';
import { acknowledgeUnscopedActions } from './nag.ts';
import type { TrainingCompute } from './training.ts';

export interface TrainingPipelineProps {
  readonly datasets: s3.IBucket;
  readonly artifacts: s3.IBucket;
  readonly tables: Record<TableRole, dynamodb.ITable>;
  readonly training: TrainingCompute;
  /** The platform's champion/challenger gate (a dataset's manifest may set its own). @default DEFAULT_GATE */
  readonly gate?: GateSpec;
  /** What one training job may spend (a manifest's `budget` may lower it). @default DEFAULT_TRAINING_BUDGET */
  readonly trainingBudget?: TrainingBudget;
}

/**
 * The training pipeline: the Lambda steps, the state machine loaded from
 * `state-machines/training-pipeline.asl.json` with its placeholders filled, and the EventBridge rule that
 * starts it when an object is created under `datasets/` in the datasets bucket; and the rule that sends the
 * executions that end other than by succeeding to the execution-ended function (no run stays RUNNING).
 */
export class TrainingPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<PipelineFunction, NimbusFunction>;
  readonly uploadRule: events.Rule;
  /** Records the end of runs whose execution timed out, was stopped or failed outside the pipeline's catch. */
  readonly executionEnded: NimbusFunction;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const { datasets, artifacts, tables, training } = props;
    const fn = (
      key: PipelineFunction,
      extra: Partial<ConstructorParameters<typeof NimbusFunction>[2]> = {},
    ) =>
      new NimbusFunction(this, key.charAt(0).toUpperCase() + key.slice(1), {
        dir: FUNCTIONS[key].dir,
        ...extra,
      });

    this.functions = {
      registerDataset: fn('registerDataset', { memorySize: 1024, timeout: Duration.minutes(5) })
        .bindBucket('datasets', datasets, 'readWrite', `${KEYS.datasetVersionsPrefix}*`)
        .bindTable('datasets', tables.datasets, 'readWrite')
        .bindTable('runs', tables.runs, 'readWrite'),
      preprocess: fn('preprocess', { memorySize: 3008, timeout: Duration.minutes(15) })
        .bindBucket('datasets', datasets, 'read')
        .bindBucket('artifacts', artifacts, 'readWrite')
        .bindTable('runs', tables.runs, 'readWrite'),
      search: fn('search', { timeout: Duration.minutes(5) })
        .bindBucket('artifacts', artifacts, 'readWrite')
        .bindTable('runs', tables.runs, 'readWrite'),
      evaluate: fn('evaluate', { memorySize: 2048, timeout: Duration.minutes(15) })
        .bindBucket('artifacts', artifacts, 'readWrite')
        .bindTable('runs', tables.runs, 'readWrite'),
      registerModel: fn('registerModel')
        .bindBucket('artifacts', artifacts, 'read')
        .bindTable('models', tables.models, 'readWrite')
        .bindTable('runs', tables.runs, 'readWrite'),
      gate: fn('gate')
        .bindTable('models', tables.models, 'readWrite')
        .bindTable('runs', tables.runs, 'readWrite'),
      deploy: fn('deploy')
        .bindTable('models', tables.models, 'readWrite')
        .bindTable('runs', tables.runs, 'readWrite'),
      markFailed: fn('markFailed').bindTable('runs', tables.runs, 'readWrite'),
    };

    this.functions.gate.function.addEnvironment(ENV.gate, JSON.stringify(parseGateSpec(props.gate)));
    // Preprocess puts the run's budget, and the hard timeouts derived from it, in the training job spec.
    this.functions.preprocess.function.addEnvironment(
      ENV.trainingBudget,
      JSON.stringify(props.trainingBudget ?? DEFAULT_TRAINING_BUDGET),
    );

    const substitutions: Record<SubstitutionKey, string> = {
      ...(Object.fromEntries(
        (Object.keys(FUNCTIONS) as PipelineFunction[]).map((key) => [
          FUNCTIONS[key].arn,
          this.functions[key].function.functionArn,
        ]),
      ) as Record<(typeof FUNCTIONS)[PipelineFunction]['arn'], string>),
      [SUBSTITUTIONS.trainingPlatform]: training.platform,
      [SUBSTITUTIONS.batchJobQueue]: training.jobQueue?.jobQueueArn ?? 'unused',
      [SUBSTITUTIONS.batchJobDefinition]: training.jobDefinition?.jobDefinitionArn ?? 'unused',
      [SUBSTITUTIONS.sageMakerRole]: training.sageMakerRole?.roleArn ?? 'unused',
      [SUBSTITUTIONS.sageMakerImage]: training.image.imageUri,
      [SUBSTITUTIONS.sageMakerInstanceType]: training.sageMakerInstanceType,
      [SUBSTITUTIONS.artifactsBucket]: artifacts.bucketName,
    };

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromFile(join(REPO_ROOT, PIPELINE_DEFINITION_FILE)),
      definitionSubstitutions: substitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'ExecutionLogs', {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    // The definition invokes unqualified function ARNs: exactly those, no versions or aliases.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: Object.values(this.functions).map((step) => step.function.functionArn),
      }),
    );
    training.grantStart(this.stateMachine);

    const pattern = uploadEventPattern(datasets.bucketName);
    this.uploadRule = new events.Rule(this, 'UploadRule', {
      description: 'A dataset uploaded under datasets/ starts the training pipeline',
      eventPattern: { source: pattern.source, detailType: pattern['detail-type'], detail: pattern.detail },
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.executionEnded = new NimbusFunction(this, 'ExecutionEnded', {
      dir: EXECUTION_ENDED_FUNCTION_DIR,
    }).bindTable('runs', tables.runs, 'readWrite');
    const ended = executionEndedEventPattern(this.stateMachine.stateMachineArn);
    new events.Rule(this, 'ExecutionEndedRule', {
      description: 'Pipeline executions that failed, timed out or were stopped → the run is marked FAILED',
      eventPattern: { source: ended.source, detailType: ended['detail-type'], detail: ended.detail },
      targets: [new targets.LambdaFunction(this.executionEnded.function, { retryAttempts: 4 })],
    });

    acknowledgeUnscopedActions(
      this.stateMachine,
      'X-Ray, CloudWatch Logs delivery, batch:DescribeJobs/TerminateJob and sagemaker:ListTags support no ' +
        'resource-level permissions.',
    );
  }
}
