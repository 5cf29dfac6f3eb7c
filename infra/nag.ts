/**
 * Acknowledging cdk-nag findings precisely. cdk-nag 3 matches acknowledgements by exact finding id
 * (`AwsSolutions-IAM5[Resource::<LogicalId.Arn>/*]`), so these helpers compute the ids from the constructs
 * instead of hard-coding hashed logical ids.
 */
import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

/** Objects of a platform bucket (`<bucket>/<keys>`, all of them by default) on a role's policy. */
export function acknowledgeObjectAccess(
  scope: IConstruct,
  bucket: s3.IBucket,
  reason: string,
  keys = '*',
): void {
  const cfn = bucket.node.defaultChild;
  if (!CfnResource.isCfnResource(cfn)) return;
  const logicalId = Stack.of(bucket).resolve(cfn.logicalId) as string;
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${keys}]`,
    reason,
  });
}

/** Actions on every execution of a state machine (`…:execution:<name>:*`, what `grantExecution` grants). */
export function acknowledgeExecutions(scope: IConstruct, stateMachine: IConstruct, reason: string): void {
  const cfn = stateMachine.node.defaultChild;
  if (!CfnResource.isCfnResource(cfn)) return;
  const logicalId = Stack.of(stateMachine).resolve(cfn.logicalId) as string;
  const name = `{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"${logicalId}"}]}]}`;
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${name}:*]`,
    reason,
  });
}

/** An AWS-managed policy attached to roles under `scope`. */
export function acknowledgeManagedPolicy(scope: IConstruct, policy: string, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policy}]`,
    reason,
  });
}

/** `Resource::*` on actions that support no resource-level permissions (X-Ray, log delivery, …). */
export function acknowledgeUnscopedActions(scope: IConstruct, reason: string): void {
  Validations.of(scope).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason });
}
