/**
 * Idle cost: the synthesized platform must hold nothing that bills while no one trains or predicts (docs/cost.md).
 * `auditIdleCost` reads a CloudFormation template: `findings` are resources that bill by the hour or by
 * provisioned capacity whether used or not (the test fails on any); `fixedCosts` are the small monthly fees that
 * are accepted and documented (KMS keys, alarms, dashboards, secrets); `schedules` are what runs on a timer.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { App, type CfnResource, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { TrainingPlatform } from '../../core/contract.ts';
import { NimbusStack } from '../../infra/stack.ts';

interface CfnTemplate {
  readonly Resources?: Record<
    string,
    { readonly Type: string; readonly Properties?: Record<string, unknown> }
  >;
}

/** A resource that bills while idle. */
export interface CostFinding {
  readonly logicalId: string;
  readonly type: string;
  readonly reason: string;
}

/** An accepted fixed monthly fee (us-east-1 list price; see docs/cost.md). */
export interface FixedCost {
  readonly logicalId: string;
  readonly type: string;
  readonly usdPerMonth: number;
  readonly what: string;
}

/** Something that runs on a timer, whether or not there is traffic. */
export interface Schedule {
  readonly logicalId: string;
  readonly expression: string;
  /** Runs in a 30-day month, when the expression is a `rate(...)`. */
  readonly runsPerMonth?: number;
}

/** Resources that bill by the hour (or by the month) from the moment they exist. */
const ALWAYS_BILLED: Readonly<Record<string, string>> = {
  'AWS::EC2::NatGateway': 'a NAT gateway bills per hour (~$0.045/h, ~$33/month) plus per GB processed',
  'AWS::EC2::Instance': 'an EC2 instance bills per second while running',
  'AWS::EC2::EIP': 'an Elastic IP (public IPv4) bills $0.005/h, attached or idle',
  'AWS::EC2::Volume': 'an EBS volume bills per GB-month whether attached or not',
  'AWS::EC2::TransitGateway': 'a transit gateway bills per attachment-hour',
  'AWS::EC2::TransitGatewayAttachment': 'a transit gateway attachment bills per hour',
  'AWS::EC2::TransitGatewayVpcAttachment': 'a transit gateway attachment bills per hour',
  'AWS::EC2::ClientVpnEndpoint': 'a Client VPN endpoint bills per association-hour',
  'AWS::ElasticLoadBalancingV2::LoadBalancer': 'a load balancer bills per hour plus capacity units',
  'AWS::ElasticLoadBalancing::LoadBalancer': 'a classic load balancer bills per hour',
  'AWS::SageMaker::Endpoint': 'a SageMaker endpoint bills its instances per hour while it exists',
  'AWS::SageMaker::NotebookInstance': 'a SageMaker notebook instance bills per hour while in service',
  'AWS::OpenSearchService::Domain': 'an OpenSearch domain bills its instances and storage per hour',
  'AWS::Elasticsearch::Domain': 'an Elasticsearch domain bills its instances and storage per hour',
  'AWS::OpenSearchServerless::Collection': 'an OpenSearch Serverless collection bills minimum OCUs per hour',
  'AWS::EKS::Cluster': 'an EKS control plane bills $0.10/h',
  'AWS::Redshift::Cluster': 'a Redshift cluster bills its nodes per hour',
  'AWS::MSK::Cluster': 'an MSK cluster bills its brokers per hour',
  'AWS::AmazonMQ::Broker': 'an Amazon MQ broker bills per hour',
  'AWS::NetworkFirewall::Firewall': 'a Network Firewall endpoint bills per hour',
  'AWS::GlobalAccelerator::Accelerator': 'a Global Accelerator bills per hour',
  'AWS::WAFv2::WebACL': 'a web ACL bills $5/month plus per rule',
};

/** Whole services whose resources are databases or caches: instance-hours or capacity units, and storage. */
const BILLED_PREFIXES: readonly (readonly [prefix: string, reason: string])[] = [
  ['AWS::RDS::', 'an RDS resource: database instance-hours (or capacity units) and storage'],
  ['AWS::ElastiCache::', 'an ElastiCache resource: cache node-hours (or serverless minimum storage)'],
  ['AWS::DocDB::', 'a DocumentDB resource: instance-hours and storage'],
  ['AWS::Neptune::', 'a Neptune resource: instance-hours and storage'],
];

/** A number a property must be, or undefined when it is an intrinsic (Ref, Fn::…) that synth cannot know. */
function literal(value: unknown, absent: number): number | undefined {
  if (value === undefined) return absent;
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

/** Why a capacity property bills while idle, or undefined when it is a literal 0. */
function positive(name: string, value: unknown, absent = 0): string | undefined {
  const n = literal(value, absent);
  if (n === undefined)
    return `${name} is not a literal (${JSON.stringify(value)}), so it cannot be shown to be 0`;
  return n > 0 ? `${name} is ${n}` : undefined;
}

function rateRunsPerMonth(expression: string): number | undefined {
  const match = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression.trim());
  if (!match) return undefined;
  const unit = { minute: 60, hour: 3600, day: 86_400 }[match[2]?.replace(/s$/, '') as 'minute'];
  return Math.round((30 * 86_400) / (Number(match[1]) * unit));
}

/** Reads a synthesized template for what costs money while the platform is idle. */
export function auditIdleCost(template: CfnTemplate): {
  findings: CostFinding[];
  fixedCosts: FixedCost[];
  schedules: Schedule[];
} {
  const findings: CostFinding[] = [];
  const fixedCosts: FixedCost[] = [];
  const schedules: Schedule[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const { Type: type } = resource;
    const p = resource.Properties ?? {};
    const flag = (reason: string | undefined) => {
      if (reason) findings.push({ logicalId, type, reason });
    };
    const fixed = (usdPerMonth: number, what: string) =>
      fixedCosts.push({ logicalId, type, usdPerMonth, what });

    const always = ALWAYS_BILLED[type];
    if (always) flag(always);
    for (const [prefix, reason] of BILLED_PREFIXES) if (type.startsWith(prefix)) flag(reason);

    switch (type) {
      case 'AWS::EC2::VPCEndpoint': {
        // CloudFormation's default type is Gateway: free, and only S3 and DynamoDB have one.
        const endpointType = p.VpcEndpointType ?? 'Gateway';
        if (endpointType !== 'Gateway') {
          flag(
            `a ${String(endpointType)} VPC endpoint bills ~$0.01/h per AZ plus per GB (Gateway endpoints are free)`,
          );
        }
        break;
      }
      case 'AWS::AutoScaling::AutoScalingGroup': {
        const min = positive('MinSize', p.MinSize);
        flag(min && `an Auto Scaling group keeps instances running: ${min}`);
        // DesiredCapacity defaults to MinSize.
        if (!min) {
          const desired = positive('DesiredCapacity', p.DesiredCapacity);
          flag(desired && `an Auto Scaling group keeps instances running: ${desired}`);
        }
        break;
      }
      case 'AWS::Batch::ComputeEnvironment': {
        const compute = (p.ComputeResources ?? {}) as Record<string, unknown>;
        for (const key of ['MinvCpus', 'DesiredvCpus']) {
          const why = positive(`ComputeResources.${key}`, compute[key]);
          flag(why && `a Batch compute environment keeps instances running: ${why}`);
        }
        break;
      }
      case 'AWS::SageMaker::EndpointConfig': {
        const variants = (p.ProductionVariants ?? []) as Record<
          string,
          Record<string, unknown> | undefined
        >[];
        for (const variant of variants) {
          const serverless = variant.ServerlessConfig;
          if (!serverless)
            flag('an instance-backed SageMaker endpoint config: its endpoint bills per instance-hour');
          else {
            const provisioned = positive(
              'ServerlessConfig.ProvisionedConcurrency',
              serverless.ProvisionedConcurrency,
            );
            flag(
              provisioned && `a serverless SageMaker endpoint with provisioned concurrency: ${provisioned}`,
            );
          }
        }
        break;
      }
      case 'AWS::Lambda::Version':
      case 'AWS::Lambda::Alias': {
        const config = p.ProvisionedConcurrencyConfig as Record<string, unknown> | undefined;
        if (config) {
          const why = positive('ProvisionedConcurrentExecutions', config.ProvisionedConcurrentExecutions);
          flag(why && `provisioned concurrency bills per GB-s whether invoked or not: ${why}`);
        }
        break;
      }
      case 'AWS::DynamoDB::Table':
      case 'AWS::DynamoDB::GlobalTable': {
        // CloudFormation's default billing mode is PROVISIONED.
        const mode = p.BillingMode ?? 'PROVISIONED';
        if (mode !== 'PAY_PER_REQUEST') {
          flag(`BillingMode ${String(mode)}: provisioned read/write capacity bills per hour, used or not`);
        }
        break;
      }
      case 'AWS::Kinesis::Stream': {
        const mode =
          (p.StreamModeDetails as { StreamMode?: string } | undefined)?.StreamMode ?? 'PROVISIONED';
        flag(
          mode === 'PROVISIONED'
            ? 'a PROVISIONED Kinesis stream bills per shard-hour'
            : `an ${mode} Kinesis stream bills per stream-hour`,
        );
        break;
      }
      case 'AWS::ApiGateway::Stage':
        if (p.CacheClusterEnabled === true || p.CacheClusterEnabled === 'true') {
          flag(`an API Gateway cache cluster (${String(p.CacheClusterSize ?? '0.5')} GB) bills per hour`);
        }
        break;
      case 'AWS::ApiGateway::Deployment': {
        const stage = p.StageDescription as { CacheClusterEnabled?: unknown } | undefined;
        if (stage?.CacheClusterEnabled === true || stage?.CacheClusterEnabled === 'true') {
          flag('an API Gateway cache cluster (in the deployment stage description) bills per hour');
        }
        break;
      }
      case 'AWS::ECS::Service': {
        // CloudFormation starts a service without DesiredCount at 1.
        const why = positive('DesiredCount', p.DesiredCount, 1);
        flag(why && `an ECS service keeps tasks running: ${why}`);
        break;
      }
      case 'AWS::KMS::Key':
        fixed(1, 'customer-managed KMS key ($1/month, plus requests)');
        break;
      case 'AWS::SecretsManager::Secret':
        fixed(0.4, 'Secrets Manager secret ($0.40/month)');
        break;
      case 'AWS::Route53::HostedZone':
        fixed(0.5, 'Route 53 hosted zone ($0.50/month)');
        break;
      case 'AWS::CloudWatch::Dashboard':
        fixed(3, 'CloudWatch dashboard ($3/month beyond the 3 free per account)');
        break;
      case 'AWS::CloudWatch::Alarm': {
        const highResolution = (literal(p.Period, 60) ?? 60) < 60;
        fixed(highResolution ? 0.3 : 0.1, `CloudWatch ${highResolution ? 'high-resolution ' : ''}alarm`);
        break;
      }
      case 'AWS::CloudWatch::CompositeAlarm':
        fixed(0.5, 'CloudWatch composite alarm');
        break;
      case 'AWS::Events::Rule':
      case 'AWS::Scheduler::Schedule':
        if (typeof p.ScheduleExpression === 'string') {
          const runsPerMonth = rateRunsPerMonth(p.ScheduleExpression);
          schedules.push({
            logicalId,
            expression: p.ScheduleExpression,
            ...(runsPerMonth === undefined ? {} : { runsPerMonth }),
          });
        }
        break;
    }
  }
  return { findings, fixedCosts, schedules };
}

const show = (f: CostFinding) => `${f.logicalId} (${f.type}): ${f.reason}`;

/** The feature flags `cdk synth` runs with. */
const cdkContext = (
  JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: object }
).context;

/** The platform stack's template: bundling skipped, CloudFormation validation off (as test/infra.test.ts). */
function platformTemplate(trainingPlatform: TrainingPlatform): CfnTemplate {
  process.env.CDK_VALIDATION = 'false';
  const app = new App({ context: { ...cdkContext, 'aws:cdk:bundling-stacks': [] } });
  const stack = new NimbusStack(app, 'Test', { platform: { trainingPlatform } });
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

/** How many customer-managed KMS keys docs/cost.md says the stack creates. */
function documentedKmsKeys(): number {
  const doc = readFileSync(new URL('../../docs/cost.md', import.meta.url), 'utf8');
  const count = /Customer-managed KMS keys \(`AWS::KMS::Key`\): \*\*(\d+)\*\*/.exec(doc)?.[1];
  assert.ok(count, 'docs/cost.md states the number of customer-managed KMS keys');
  return Number(count);
}

describe('idle cost', () => {
  for (const trainingPlatform of ['batch', 'sagemaker'] as const) {
    it(`the platform stack costs nothing while idle (${trainingPlatform} training)`, (t) => {
      const { findings, fixedCosts, schedules } = auditIdleCost(platformTemplate(trainingPlatform));
      assert.deepEqual(findings.map(show), [], 'resources that bill while idle');
      const keys = fixedCosts.filter((c) => c.type === 'AWS::KMS::Key');
      assert.equal(keys.length, documentedKmsKeys(), 'customer-managed KMS keys, as docs/cost.md says');
      const total = fixedCosts.reduce((sum, c) => sum + c.usdPerMonth, 0);
      const byKind = new Map<string, number>();
      for (const c of fixedCosts) byKind.set(c.what, (byKind.get(c.what) ?? 0) + 1);
      const kinds = [...byKind].map(([what, n]) => `${n} × ${what}`).join('; ') || 'none';
      t.diagnostic(`fixed monthly fees: $${total.toFixed(2)} (${kinds})`);
      for (const s of schedules) {
        t.diagnostic(`schedule ${s.logicalId}: ${s.expression} (${s.runsPerMonth ?? '?'} runs a month)`);
      }
    });
  }

  it('reports a NAT gateway and a provisioned-concurrency alias (the audit is live)', () => {
    const stack = new Stack(new App(), 'Costly');
    const vpc = new ec2.Vpc(stack, 'V', { natGateways: 1, maxAzs: 1 });
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
      timeout: Duration.seconds(3),
    });
    const alias = new lambda.Alias(stack, 'Live', {
      aliasName: 'live',
      version: fn.currentVersion,
      provisionedConcurrentExecutions: 2,
    });
    const id = (construct: CfnResource) => stack.getLogicalId(construct);
    const nat = vpc.node.findAll().find((c): c is ec2.CfnNatGateway => c instanceof ec2.CfnNatGateway);
    assert.ok(nat);

    const { findings } = auditIdleCost(Template.fromStack(stack).toJSON() as CfnTemplate);
    const reported = new Map(findings.map((f) => [f.logicalId, f]));
    assert.match(
      reported.get(id(nat))?.reason ?? '',
      /NAT gateway bills per hour/,
      findings.map(show).join('\n'),
    );
    assert.match(
      reported.get(id(alias.node.defaultChild as CfnResource))?.reason ?? '',
      /provisioned concurrency .*ProvisionedConcurrentExecutions is 2/,
      findings.map(show).join('\n'),
    );
    // The NAT gateway's Elastic IP is reported too.
    assert.ok(findings.some((f) => f.type === 'AWS::EC2::EIP'));
  });

  it('tells idle-billed configurations from free ones, resource by resource', () => {
    const cases: [type: string, properties: Record<string, unknown>, billed: boolean][] = [
      ['AWS::EC2::VPCEndpoint', { ServiceName: 'com.amazonaws.us-east-1.s3' }, false],
      ['AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' }, false],
      ['AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, true],
      ['AWS::EC2::Instance', {}, true],
      ['AWS::EC2::EIP', {}, true],
      ['AWS::EC2::TransitGateway', {}, true],
      ['AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '4' }, false],
      ['AWS::AutoScaling::AutoScalingGroup', { MinSize: '1', MaxSize: '4' }, true],
      ['AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', DesiredCapacity: '2', MaxSize: '4' }, true],
      ['AWS::AutoScaling::AutoScalingGroup', { MinSize: { Ref: 'Min' }, MaxSize: '4' }, true],
      ['AWS::Batch::ComputeEnvironment', { ComputeResources: { MinvCpus: 0, MaxvCpus: 16 } }, false],
      ['AWS::Batch::ComputeEnvironment', { ComputeResources: { MinvCpus: 4, MaxvCpus: 16 } }, true],
      ['AWS::Batch::ComputeEnvironment', { ComputeResources: { MinvCpus: 0, DesiredvCpus: 4 } }, true],
      ['AWS::SageMaker::Endpoint', {}, true],
      ['AWS::SageMaker::NotebookInstance', {}, true],
      ['AWS::SageMaker::EndpointConfig', { ProductionVariants: [{ InstanceType: 'ml.m5.large' }] }, true],
      [
        'AWS::SageMaker::EndpointConfig',
        { ProductionVariants: [{ ServerlessConfig: { MaxConcurrency: 5, MemorySizeInMB: 2048 } }] },
        false,
      ],
      ['AWS::Lambda::Version', { FunctionName: 'f' }, false],
      [
        'AWS::Lambda::Version',
        { ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 1 } },
        true,
      ],
      ['AWS::Lambda::Alias', { ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 1 } }, true],
      ['AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 }, false],
      ['AWS::RDS::DBInstance', {}, true],
      ['AWS::RDS::DBCluster', {}, true],
      ['AWS::ElastiCache::CacheCluster', {}, true],
      ['AWS::OpenSearchService::Domain', {}, true],
      ['AWS::Elasticsearch::Domain', {}, true],
      ['AWS::DynamoDB::Table', { BillingMode: 'PAY_PER_REQUEST' }, false],
      ['AWS::DynamoDB::Table', {}, true],
      ['AWS::DynamoDB::Table', { BillingMode: 'PROVISIONED' }, true],
      ['AWS::DynamoDB::GlobalTable', { BillingMode: 'PAY_PER_REQUEST' }, false],
      ['AWS::DynamoDB::GlobalTable', { BillingMode: 'PROVISIONED' }, true],
      ['AWS::Kinesis::Stream', { ShardCount: 1 }, true],
      ['AWS::Kinesis::Stream', { StreamModeDetails: { StreamMode: 'PROVISIONED' } }, true],
      ['AWS::ApiGateway::Stage', { CacheClusterEnabled: false, TracingEnabled: true }, false],
      ['AWS::ApiGateway::Stage', { CacheClusterEnabled: true, CacheClusterSize: '0.5' }, true],
      ['AWS::ApiGateway::Deployment', { StageDescription: { CacheClusterEnabled: true } }, true],
      ['AWS::ElasticLoadBalancingV2::LoadBalancer', {}, true],
      ['AWS::ECS::Service', { DesiredCount: 0 }, false],
      ['AWS::ECS::Service', { DesiredCount: 2 }, true],
      ['AWS::ECS::Service', {}, true],
      ['AWS::EC2::NatGateway', {}, true],
      ['AWS::KMS::Key', {}, false],
      ['AWS::Lambda::Function', { MemorySize: 1024 }, false],
      ['AWS::S3::Bucket', {}, false],
    ];
    const wrong = cases
      .filter(([type, properties, billed]) => {
        const { findings } = auditIdleCost({ Resources: { R: { Type: type, Properties: properties } } });
        return findings.length > 0 !== billed;
      })
      .map(
        ([type, properties, billed]) => `${type} ${JSON.stringify(properties)}: expected billed=${billed}`,
      );
    assert.deepEqual(wrong, []);
  });

  it('counts KMS keys, alarms and dashboards as fixed fees, and schedules by their runs a month', () => {
    const { findings, fixedCosts, schedules } = auditIdleCost({
      Resources: {
        Key: { Type: 'AWS::KMS::Key' },
        Alarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { Period: 300 } },
        Fast: { Type: 'AWS::CloudWatch::Alarm', Properties: { Period: 10 } },
        Board: { Type: 'AWS::CloudWatch::Dashboard' },
        Monitor: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(15 minutes)' } },
      },
    });
    assert.deepEqual(findings, []);
    assert.deepEqual(
      fixedCosts.map((c) => [c.logicalId, c.usdPerMonth]),
      [
        ['Key', 1],
        ['Alarm', 0.1],
        ['Fast', 0.3],
        ['Board', 3],
      ],
    );
    assert.deepEqual(schedules, [
      { logicalId: 'Monitor', expression: 'rate(15 minutes)', runsPerMonth: 2880 },
    ]);
  });
});
