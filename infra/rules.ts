import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  type FunctionName,
  type RuleDeclaration,
  type RuleName,
  type RuleNames,
  ruleList,
} from '../core/declaration.ts';
import type { NimbusFunction } from './function.ts';

export interface PlatformRulesProps {
  readonly functions: Record<FunctionName, NimbusFunction>;
  readonly stateMachine: sfn.IStateMachine;
  /** What the rules' patterns are made of: the datasets bucket's name, the pipeline's ARN, the alarm prefix. */
  readonly names: RuleNames;
  /** The period of the schedules at the monitoring interval. */
  readonly monitorInterval: Duration;
}

/**
 * Every event rule and schedule of the platform (core/declaration.ts RULES): its pattern or rate, its target
 * (a function, or the pipeline), its retries and, when declared, an encrypted dead-letter queue for the events
 * its target could not take.
 */
export class PlatformRules extends Construct {
  readonly rules: Record<RuleName, events.Rule>;
  readonly deadLetters: Partial<Record<RuleName, sqs.Queue>> = {};

  constructor(scope: Construct, id: string, props: PlatformRulesProps) {
    super(scope, id);
    const rules: Partial<Record<RuleName, events.Rule>> = {};
    for (const declared of ruleList()) {
      const ruleId = declared.name.charAt(0).toUpperCase() + declared.name.slice(1);
      const source = declared.source;
      let eventPattern: events.EventPattern | undefined;
      if ('pattern' in source) {
        const {
          source: from,
          'detail-type': detailType,
          detail,
        } = source.pattern(props.names) as {
          source: string[];
          'detail-type': string[];
          detail: Record<string, unknown>;
        };
        eventPattern = { source: from, detailType, detail };
      }
      rules[declared.name] = new events.Rule(this, ruleId, {
        description: declared.description,
        ...(eventPattern ? { eventPattern } : { schedule: events.Schedule.rate(props.monitorInterval) }),
        targets: [this.target(declared, ruleId, props)],
      });
    }
    this.rules = rules as Record<RuleName, events.Rule>;
  }

  private target(
    declared: RuleDeclaration & { readonly name: RuleName },
    ruleId: string,
    props: PlatformRulesProps,
  ): events.IRuleTarget {
    const delivery = {
      retryAttempts: declared.retryAttempts,
      ...(declared.maxEventAgeHours === undefined
        ? {}
        : { maxEventAge: Duration.hours(declared.maxEventAgeHours) }),
      ...(declared.deadLetterQueue ? { deadLetterQueue: this.deadLetterQueue(declared.name, ruleId) } : {}),
    };
    if (declared.target === 'pipeline') return new targets.SfnStateMachine(props.stateMachine, delivery);
    return new targets.LambdaFunction(props.functions[declared.target].function, delivery);
  }

  private deadLetterQueue(name: RuleName, ruleId: string): sqs.Queue {
    const queue = new sqs.Queue(this, `${ruleId}DeadLetters`, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This queue is the dead-letter queue of the ${name} rule; it needs none of its own.`,
    });
    this.deadLetters[name] = queue;
    return queue;
  }
}
