import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { BUCKET_ENV, type BucketRole, ENV, type TableRole } from '../core/contract.ts';
import {
  type FunctionDeclaration,
  type FunctionName,
  functionList,
  type PlatformSetting,
  SETTING_ENV,
} from '../core/declaration.ts';
import { NimbusFunction } from './function.ts';
import { acknowledgeExecutions } from './nag.ts';

export interface PlatformFunctionsProps {
  readonly buckets: Record<BucketRole, s3.IBucket>;
  readonly tables: Record<TableRole, dynamodb.ITable>;
  /** Each setting's value, as its variable carries it. */
  readonly settings: Record<PlatformSetting, string>;
}

/**
 * Every function of the platform, as core/declaration.ts declares it: memory, timeout and bundle, each bucket
 * and table bound with the access declared (variable and least-privilege grant together), and the settings it
 * reads. What a function does with the pipeline is granted once the state machine exists (`grantPipeline`).
 */
export class PlatformFunctions extends Construct {
  readonly functions: Record<FunctionName, NimbusFunction>;

  constructor(scope: Construct, id: string, props: PlatformFunctionsProps) {
    super(scope, id);
    const built: Partial<Record<FunctionName, NimbusFunction>> = {};
    for (const declared of functionList()) {
      built[declared.name] = declare(this, declared, props);
    }
    this.functions = built as Record<FunctionName, NimbusFunction>;
  }

  /**
   * Gives each function that acts on the pipeline the state machine's ARN and exactly the actions declared:
   * starting executions, describing and stopping them (any of the pipeline's: a run's execution is named by
   * its run id), answering its callback tasks.
   */
  grantPipeline(stateMachine: sfn.StateMachine): void {
    for (const declared of functionList()) {
      const actions = declared.pipeline ?? [];
      if (actions.length === 0) continue;
      const fn = this.functions[declared.name];
      fn.function.addEnvironment(ENV.stateMachineArn, stateMachine.stateMachineArn);
      if (actions.includes('start')) stateMachine.grantStartExecution(fn.function);
      if (actions.includes('answerTasks')) stateMachine.grantTaskResponse(fn.function);
      const execution = [
        ...(actions.includes('describe') ? ['states:DescribeExecution'] : []),
        ...(actions.includes('stop') ? ['states:StopExecution'] : []),
      ];
      if (execution.length > 0) {
        stateMachine.grantExecution(fn.function, ...execution);
        acknowledgeExecutions(
          fn,
          stateMachine,
          `A run's execution is named by its run id: ${declared.dir} may ${execution
            .map((action) => action.slice('states:'.length))
            .join(' and ')} any of the pipeline's.`,
        );
      }
    }
  }
}

function declare(
  scope: Construct,
  declared: FunctionDeclaration & { readonly name: FunctionName },
  props: PlatformFunctionsProps,
): NimbusFunction {
  const fn = new NimbusFunction(scope, declared.name.charAt(0).toUpperCase() + declared.name.slice(1), {
    dir: declared.dir,
    memorySize: declared.memorySize,
    timeout: Duration.seconds(declared.timeoutSeconds),
    ...declared.bundle,
  });
  for (const [role, access] of Object.entries(declared.buckets ?? {}) as [BucketRole, BucketAccess][]) {
    const bucket = props.buckets[role];
    if (access === 'name') fn.function.addEnvironment(BUCKET_ENV[role], bucket.bucketName);
    else fn.bindBucket(role, bucket, access.access, access.writeKeys, access.readKeys);
  }
  for (const [role, access] of Object.entries(declared.tables ?? {}) as [TableRole, TableAccess][]) {
    fn.bindTable(role, props.tables[role], access);
  }
  for (const setting of declared.settings ?? []) {
    fn.function.addEnvironment(SETTING_ENV[setting], props.settings[setting]);
  }
  return fn;
}

type BucketAccess = NonNullable<NonNullable<FunctionDeclaration['buckets']>[BucketRole]>;
type TableAccess = NonNullable<NonNullable<FunctionDeclaration['tables']>[TableRole]>;
