import { join } from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PIPELINE_DEFINITION_FILE, SUBSTITUTIONS, type SubstitutionKey } from '../core/contract.ts';
import { FUNCTIONS, PIPELINE_FUNCTIONS, type PipelineFunction } from '../core/declaration.ts';
import { REPO_ROOT } from '../core/repo.ts';
import type { NimbusFunction } from './function.ts';
import { acknowledgeUnscopedActions } from './nag.ts';
import type { TrainingCompute } from './training.ts';

export interface TrainingPipelineProps {
  /** The Lambda steps (core/declaration.ts: the functions triggered by pipeline states). */
  readonly functions: Record<PipelineFunction, NimbusFunction>;
  readonly artifacts: s3.IBucket;
  readonly training: TrainingCompute;
}

/**
 * The training pipeline: the state machine loaded from `state-machines/training-pipeline.asl.json`, its
 * placeholders filled with the Lambda steps' ARNs and the training compute, allowed to invoke exactly those
 * steps and to run the training jobs. The rules that start it and record its ends are in rules.ts.
 */
export class TrainingPipeline extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const { functions, artifacts, training } = props;
    const substitutions: Record<SubstitutionKey, string> = {
      ...Object.fromEntries(
        PIPELINE_FUNCTIONS.map((name) => [
          FUNCTIONS[name].trigger.substitution,
          functions[name].function.functionArn,
        ]),
      ),
      [SUBSTITUTIONS.trainingPlatform]: training.platform,
      [SUBSTITUTIONS.batchJobQueue]: training.jobQueue?.jobQueueArn ?? 'unused',
      [SUBSTITUTIONS.batchJobDefinition]: training.jobDefinition?.jobDefinitionArn ?? 'unused',
      [SUBSTITUTIONS.sageMakerRole]: training.sageMakerRole?.roleArn ?? 'unused',
      [SUBSTITUTIONS.sageMakerImage]: training.image.imageUri,
      [SUBSTITUTIONS.sageMakerInstanceType]: training.sageMakerInstanceType,
      [SUBSTITUTIONS.artifactsBucket]: artifacts.bucketName,
    } as Record<SubstitutionKey, string>;

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
        resources: PIPELINE_FUNCTIONS.map((name) => functions[name].function.functionArn),
      }),
    );
    training.grantStart(this.stateMachine);

    acknowledgeUnscopedActions(
      this.stateMachine,
      'X-Ray, CloudWatch Logs delivery, batch:DescribeJobs/TerminateJob and sagemaker:ListTags support no ' +
        'resource-level permissions.',
    );
  }
}
