import { join } from 'node:path';
import { ArnFormat, Duration, IgnoreMode, Size, Stack, Validations } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { DEFAULT_TRAINING_BUDGET, jobBudget, type TrainingBudget } from '../core/budget.ts';
import {
  DEFAULT_TRAINING_INSTANCES,
  TRAINING_JOB_PREFIX,
  TRAINING_RETRY,
  type TrainingPlatform,
} from '../core/contract.ts';
import { KEYS } from '../core/keys.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { grantObjects } from './function.ts';
import { acknowledgeManagedPolicy, acknowledgeObjectAccess, acknowledgeUnscopedActions } from './nag.ts';

export interface TrainingComputeProps {
  /** Bucket the training container reads processed data from and writes models to. */
  readonly artifacts: s3.IBucket;
  /** Where training runs. @default 'batch' */
  readonly platform?: TrainingPlatform;
  /** GPU instance types for the Batch compute environment. @default g4dn.xlarge */
  readonly instanceTypes?: ec2.InstanceType[];
  /** Upper bound of the Batch compute environment; it scales from 0. @default 16 */
  readonly maxvCpus?: number;
  /** Use Spot capacity for Batch (interruptions are retried). @default false */
  readonly spot?: boolean;
  /** SageMaker instance type. @default 'ml.g4dn.xlarge' */
  readonly sageMakerInstanceType?: string;
  /**
   * The platform's training budget: the Batch job definition's timeout is its attempt limit (each job's own,
   * from its spec, overrides it at SubmitJob). @default DEFAULT_TRAINING_BUDGET
   */
  readonly trainingBudget?: TrainingBudget;
}

/**
 * Where the training container runs: its image (built from `containers/training/Dockerfile`), and either an
 * AWS Batch GPU queue (compute environment min vCPUs 0: nothing runs, nothing is paid while idle) or a
 * SageMaker execution role for training jobs with the same image. `grantStart` gives the pipeline what the
 * `.sync` integration of the chosen platform needs.
 */
export class TrainingCompute extends Construct {
  readonly platform: TrainingPlatform;
  readonly image: ecrAssets.DockerImageAsset;
  readonly jobQueue?: batch.JobQueue;
  readonly jobDefinition?: batch.EcsJobDefinition;
  readonly sageMakerRole?: iam.Role;
  readonly sageMakerInstanceType: string;

  constructor(scope: Construct, id: string, props: TrainingComputeProps) {
    super(scope, id);
    this.platform = props.platform ?? 'batch';
    this.sageMakerInstanceType = props.sageMakerInstanceType ?? DEFAULT_TRAINING_INSTANCES.sagemaker;
    this.image = new ecrAssets.DockerImageAsset(this, 'Image', {
      directory: REPO_ROOT,
      file: join('containers', 'training', 'Dockerfile'),
      ignoreMode: IgnoreMode.DOCKER,
      platform: ecrAssets.Platform.LINUX_AMD64,
    });

    if (this.platform === 'batch') {
      const { jobQueue, jobDefinition } = this.createBatch(props);
      this.jobQueue = jobQueue;
      this.jobDefinition = jobDefinition;
    } else {
      this.sageMakerRole = this.createSageMaker(props);
    }
  }

  private createBatch(props: TrainingComputeProps): {
    jobQueue: batch.JobQueue;
    jobDefinition: batch.EcsJobDefinition;
  } {
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'training', subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    vpc.addFlowLog('FlowLogs', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, 'FlowLogGroup', { retention: logs.RetentionDays.ONE_MONTH }),
      ),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Training instances: no inbound traffic; outbound to pull the image and reach S3',
      allowAllOutbound: true,
    });
    const computeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'GpuCompute', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [securityGroup],
      instanceTypes: props.instanceTypes ?? [new ec2.InstanceType(DEFAULT_TRAINING_INSTANCES.batch)],
      useOptimalInstanceClasses: false,
      minvCpus: 0,
      maxvCpus: props.maxvCpus ?? 16,
      spot: props.spot ?? false,
    });
    const jobQueue = new batch.JobQueue(this, 'Queue', {
      computeEnvironments: [{ computeEnvironment, order: 1 }],
    });
    const jobRole = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Training job: reads processed data and writes the model folder in the artifacts bucket',
    });
    grantObjects(jobRole, props.artifacts, 'readWrite');
    grantCheckpointCleanup(this, jobRole, props.artifacts);
    const jobDefinition = new batch.EcsJobDefinition(this, 'Job', {
      container: new batch.EcsEc2ContainerDefinition(this, 'Container', {
        image: ecs.ContainerImage.fromDockerImageAsset(this.image),
        cpu: 4,
        memory: Size.gibibytes(14),
        gpu: 1,
        jobRole,
        readonlyRootFilesystem: false,
        logging: ecs.LogDriver.awsLogs({
          streamPrefix: 'training',
          logGroup: new logs.LogGroup(this, 'JobLogs', { retention: logs.RetentionDays.ONE_MONTH }),
        }),
      }),
      // Stopped from outside: retried, and the job resumes from its last checkpoint. Failed on its own: not.
      retryAttempts: TRAINING_RETRY.attempts,
      retryStrategies: [
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        ...TRAINING_RETRY.exitCodes.map((code) =>
          batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.custom({ onExitCode: String(code) })),
        ),
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.NON_ZERO_EXIT_CODE),
      ],
      // A job submitted with no timeout of its own stops where a job of the platform's whole budget would.
      timeout: Duration.seconds(jobBudget(props.trainingBudget ?? DEFAULT_TRAINING_BUDGET).attemptSeconds),
    });
    acknowledgeObjectAccess(
      this,
      props.artifacts,
      'Training reads and writes per-run keys of the artifacts bucket.',
    );
    acknowledgeManagedPolicy(
      this,
      'service-role/AmazonEC2ContainerServiceforEC2Role',
      'Batch ECS container instances need the AWS-managed ECS instance policy to join the cluster.',
    );
    acknowledgeUnscopedActions(this, 'ecr:GetAuthorizationToken supports no resource-level permissions.');
    return { jobQueue, jobDefinition };
  }

  private createSageMaker(props: TrainingComputeProps): iam.Role {
    const role = new iam.Role(this, 'SageMakerRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'SageMaker training job: image pull, logs, artifacts bucket',
    });
    grantObjects(role, props.artifacts, 'readWrite');
    grantCheckpointCleanup(this, role, props.artifacts);
    this.image.repository.grantPull(role);
    const stack = Stack.of(this);
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:DescribeLogStreams',
        ],
        resources: [
          stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '/aws/sagemaker/TrainingJobs:*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken'],
        resources: ['*'],
      }),
    );
    acknowledgeObjectAccess(
      this,
      props.artifacts,
      'Training reads and writes per-run keys of the artifacts bucket.',
    );
    acknowledgeUnscopedActions(
      this,
      'PutMetricData and GetAuthorizationToken support no resource-level permissions.',
    );
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:*]',
      reason: 'SageMaker writes one log stream per training job under its fixed log group.',
    });
    return role;
  }

  /** Lets a state machine run training jobs on this platform with the `.sync` integration. */
  grantStart(grantee: iam.IGrantable): void {
    const stack = Stack.of(this);
    if (this.platform === 'batch' && this.jobQueue && this.jobDefinition) {
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['batch:SubmitJob'],
        resourceArns: [this.jobQueue.jobQueueArn, this.jobDefinition.jobDefinitionArn],
      });
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['batch:DescribeJobs', 'batch:TerminateJob'],
        resourceArns: ['*'],
      });
      this.grantSyncRule(grantee, 'StepFunctionsGetEventsForBatchJobsRule');
    } else if (this.sageMakerRole) {
      iam.Grant.addToPrincipal({
        grantee,
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:AddTags',
        ],
        resourceArns: [
          stack.formatArn({
            service: 'sagemaker',
            resource: 'training-job',
            resourceName: `${TRAINING_JOB_PREFIX}*`,
          }),
        ],
      });
      iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:ListTags'], resourceArns: ['*'] });
      if (grantee instanceof Construct) {
        Validations.of(grantee).acknowledge({
          id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/${TRAINING_JOB_PREFIX}*]`,
          reason: `The pipeline names each training job ${TRAINING_JOB_PREFIX}<run id>; the prefix scopes it to platform jobs.`,
        });
      }
      this.sageMakerRole.grantPassRole(grantee.grantPrincipal);
      this.grantSyncRule(grantee, 'StepFunctionsGetEventsForSageMakerTrainingJobsRule');
    }
  }

  /**
   * Lets a function read the platform's training jobs' descriptions (a run's cost): SageMaker's, scoped to
   * the platform's job names; Batch's, whose describe actions support no resource-level permissions.
   */
  grantDescribe(grantee: iam.IGrantable & IConstruct): void {
    if (this.platform === 'batch') {
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['batch:DescribeJobs', 'batch:DescribeJobQueues', 'batch:DescribeComputeEnvironments'],
        resourceArns: ['*'],
      });
      acknowledgeUnscopedActions(
        grantee,
        "Batch's DescribeJobs, DescribeJobQueues and DescribeComputeEnvironments support no resource-level permissions; they only read.",
      );
      return;
    }
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeTrainingJob'],
      resourceArns: [
        Stack.of(this).formatArn({
          service: 'sagemaker',
          resource: 'training-job',
          resourceName: `${TRAINING_JOB_PREFIX}*`,
        }),
      ],
    });
    Validations.of(grantee).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/${TRAINING_JOB_PREFIX}*]`,
      reason: `The pipeline names each training job ${TRAINING_JOB_PREFIX}<run id>; the prefix scopes it to platform jobs.`,
    });
  }

  /** The managed EventBridge rule through which Step Functions waits for `.sync` jobs. */
  private grantSyncRule(grantee: iam.IGrantable, rule: string): void {
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resourceArns: [Stack.of(this).formatArn({ service: 'events', resource: 'rule', resourceName: rule })],
    });
  }
}

/**
 * A training job deletes its own checkpoints: each one once the next is saved, all of them once its model is
 * (containers/training/entrypoint.ts). DeleteObject on checkpoint folders only, never the models beside them.
 */
function grantCheckpointCleanup(scope: Construct, grantee: iam.IGrantable, artifacts: s3.IBucket): void {
  const keys = KEYS.checkpointObjects;
  iam.Grant.addToPrincipal({
    grantee,
    actions: ['s3:DeleteObject'],
    resourceArns: [artifacts.arnForObjects(keys)],
  });
  acknowledgeObjectAccess(
    scope,
    artifacts,
    "A run's and its trials' checkpoint folders are named by run and trial: the job may delete only those.",
    keys,
  );
}
