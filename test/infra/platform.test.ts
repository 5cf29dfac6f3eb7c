/** The stack as synthesized (infra/): resources, permissions, alarms and outputs, on Batch and on SageMaker. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type CfnResource, Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { alarmDefinitions } from '../../core/alarms.ts';
import { ENV, METRICS, OUTPUTS, SUBSTITUTIONS, TABLES } from '../../core/contract.ts';
import { FUNCTIONS, PIPELINE_FUNCTIONS } from '../../core/declaration.ts';
import { DRIFT_THRESHOLD } from '../../core/drift.ts';
import { REPO_ROOT } from '../../core/repo.ts';
import { NimbusFunction } from '../../infra/function.ts';
import { synth } from './synth.ts';

describe('NimbusPlatform', () => {
  const template = synth().template();

  it('encrypts, versions and locks down both data buckets, with access logs and EventBridge on uploads', () => {
    const secured = {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: Match.anyValue() }),
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })],
      },
    };
    assert.equal(
      Object.keys(template.findResources('AWS::S3::Bucket', { Properties: Match.objectLike(secured) }))
        .length,
      2,
    );
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    const policies = template.findResources('AWS::S3::BucketPolicy');
    const denyInsecure = Object.values(policies).filter((p) =>
      JSON.stringify(p).includes('"aws:SecureTransport":"false"'),
    );
    assert.equal(denyInsecure.length, 3);
  });

  it('keys the three tables as the contract says, on demand, with PITR and encryption', () => {
    for (const schema of Object.values(TABLES)) {
      const keys: { AttributeName: string; KeyType: string }[] = [
        { AttributeName: schema.partitionKey, KeyType: 'HASH' },
      ];
      if ('sortKey' in schema) keys.push({ AttributeName: schema.sortKey, KeyType: 'RANGE' });
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        KeySchema: keys,
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        Replicas: [
          Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
        ],
      });
    }
  });

  it('loads the pipeline from the ASL file with every placeholder substituted', () => {
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    assert.ok(machine);
    const substitutions = Object.keys(machine.Properties.DefinitionSubstitutions).sort();
    assert.deepEqual(substitutions, Object.values(SUBSTITUTIONS).sort());
    assert.equal(machine.Properties.DefinitionSubstitutions[SUBSTITUTIONS.trainingPlatform], 'batch');
    assert.ok(machine.Properties.DefinitionS3Location, 'the definition ships as the ASL file asset');
  });

  it("sends the pipeline's failed, timed-out and stopped executions to the execution-ended function", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.states'],
        'detail-type': ['Step Functions Execution Status Change'],
        detail: {
          stateMachineArn: [{ Ref: Match.stringLikeRegexp('StateMachine') }],
          status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        },
      },
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ExecutionEnded'), 'Arn'] } }),
      ],
    });
  });

  it('starts the pipeline on a CSV, a zip or a _SUCCESS marker created under datasets/, nothing else', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [Match.anyValue()] },
          object: {
            key: Match.arrayWith([
              { wildcard: 'datasets/*.csv' },
              { wildcard: 'datasets/*.zip' },
              { wildcard: 'datasets/*/_SUCCESS' },
            ]),
          },
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('StateMachine') } })],
    });
  });

  it('imports an ONNX file created under models/ through the pipeline, with onnxruntime in a layer of its own', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [Match.anyValue()] },
          object: { key: [{ wildcard: 'models/*.onnx' }, { wildcard: 'models/*.ONNX' }] },
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('StateMachine') } })],
    });
    const layers = template.findResources('AWS::Lambda::LayerVersion', {
      Properties: { Description: Match.stringLikeRegexp('^onnxruntime-node .* \\(linux arm64, CPU\\)') },
    });
    const [layer, ...more] = Object.keys(layers);
    assert.ok(layer, 'an onnxruntime-node layer');
    assert.equal(more.length, 0, 'one layer per architecture, shared');
    // ImportModel, predict and batch prediction load it; no other function carries it.
    const carriers = Object.values(template.findResources('AWS::Lambda::Function')).filter((fn) =>
      JSON.stringify(fn.Properties?.Layers ?? []).includes(layer),
    );
    assert.equal(carriers.length, 3);
    const importModel = Object.values(template.findResources('AWS::Lambda::Function')).find(
      (fn) =>
        JSON.stringify(fn.Properties?.Layers ?? []).includes(layer) &&
        fn.Properties?.MemorySize === FUNCTIONS.importModel.memorySize &&
        fn.Properties?.Timeout === FUNCTIONS.importModel.timeoutSeconds,
    );
    assert.ok(importModel, 'the ImportModel function');
    // It writes only model folders of runs in the artifacts bucket.
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    assert.match(policies, /artifacts\/\*\/runs\/\*\/model\/\*/);
  });

  it("lets the registry write one kind of object: a version's ONNX export, in the version's folder", () => {
    const policies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) =>
      id.includes('RegistryFunction'),
    );
    assert.equal(policies.length, 1);
    const writes = policies[0]?.[1].Properties.PolicyDocument.Statement.filter((s: { Action: unknown }) =>
      JSON.stringify(s.Action).includes('s3:PutObject'),
    );
    assert.equal(writes.length, 1);
    assert.match(JSON.stringify(writes[0].Resource), /"\/artifacts\/\*\/runs\/\*\/model\/export\.onnx"/);
  });

  it('trains on a GPU Batch queue that scales from zero', () => {
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      Type: 'managed',
      ComputeResources: Match.objectLike({ MinvCpus: 0, InstanceTypes: ['g4dn.xlarge'] }),
    });
    template.hasResourceProperties('AWS::Batch::JobDefinition', {
      ContainerProperties: Match.objectLike({
        ResourceRequirements: Match.arrayWith([{ Type: 'GPU', Value: '1' }]),
      }),
      // Retried when stopped from outside (spot reclaim, SIGKILL/SIGTERM), where the job resumes from its
      // checkpoint; not when it failed on its own.
      RetryStrategy: {
        Attempts: 3,
        EvaluateOnExit: [
          Match.objectLike({ Action: 'RETRY', OnStatusReason: 'Host EC2*' }),
          { Action: 'RETRY', OnExitCode: '137' },
          { Action: 'RETRY', OnExitCode: '143' },
          Match.objectLike({ Action: 'EXIT', OnExitCode: '*' }),
        ],
      },
    });
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  it('requires an API key on predictions and registry reads, IAM on registry changes, under a throttled usage plan', () => {
    const methods = Object.values(
      template.findResources('AWS::ApiGateway::Method', {
        Properties: { HttpMethod: Match.stringLikeRegexp('GET|POST') },
      }),
    );
    // predict GET/POST (on /v1/models/{proxy+}, /v2 and /v2/{proxy+}), registry GET/POST, its keys GET/POST
    // (/v1/registry/keys and under it), monitoring GET, dashboard GET (the page and its files), the OpenAPI
    // document's GET.
    assert.equal(methods.length, 16);
    const iam = methods.filter((m) => m.Properties.AuthorizationType === 'AWS_IAM');
    assert.deepEqual(
      iam.map((m) => m.Properties.HttpMethod).sort(),
      ['GET', 'GET', 'POST', 'POST', 'POST'],
      'IAM methods: registry changes, and every method of its API keys (reads too)',
    );
    const open = methods.filter(
      (m) => m.Properties.AuthorizationType === 'NONE' && !m.Properties.ApiKeyRequired,
    );
    assert.deepEqual(
      open.map((m) => [m.Properties.HttpMethod, /Dashboard/.test(JSON.stringify(m.Properties.Integration))]),
      [
        ['GET', true],
        ['GET', true],
        ['GET', true],
      ],
      'only the dashboard page and the OpenAPI document load without a key',
    );
    for (const method of methods.filter(
      (m) => m.Properties.AuthorizationType !== 'AWS_IAM' && !open.includes(m),
    )) {
      assert.equal(method.Properties.ApiKeyRequired, true);
    }
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 100, BurstLimit: 200 },
    });
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      TracingEnabled: true,
      // The keyless dashboard methods are throttled by the stage, not a usage plan.
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          ResourcePath: '/~1dashboard~1{proxy+}',
          HttpMethod: 'GET',
          ThrottlingRateLimit: 20,
        }),
        Match.objectLike({
          ResourcePath: '/~1v1~1openapi.json',
          HttpMethod: 'GET',
          ThrottlingRateLimit: 20,
        }),
      ]),
    });
  });

  it('answers a path or method the API lacks with a JSON error from a mock, and puts the gateway errors in the same shape', () => {
    const anys = Object.values(
      template.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: 'ANY' } }),
    );
    assert.ok(anys.length > 0);
    const answers = new Set<string>();
    for (const method of anys) {
      const integration = method.Properties.Integration as {
        Type: string;
        IntegrationResponses: { StatusCode: string; ResponseTemplates: Record<string, string> }[];
      };
      assert.equal(integration.Type, 'MOCK', 'no function runs for a missing route');
      const [response] = integration.IntegrationResponses;
      const body = JSON.parse(response?.ResponseTemplates['application/json'] ?? '{}') as { error?: string };
      assert.match(body.error ?? '', /^no route for \$context\.httpMethod \$context\.path/);
      answers.add(response?.StatusCode ?? '');
    }
    assert.deepEqual([...answers].sort(), ['404', '405']);
    // The root's greedy catch-all, below which every declared resource takes precedence.
    template.hasResourceProperties('AWS::ApiGateway::Resource', {
      PathPart: '{proxy+}',
      ParentId: Match.objectLike({ 'Fn::GetAtt': Match.arrayWith(['RootResourceId']) }),
    });
    for (const type of ['DEFAULT_4XX', 'DEFAULT_5XX']) {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: type,
        ResponseTemplates: { 'application/json': '{"error": $context.error.messageString}' },
      });
    }
  });

  it('alarms on failed executions, API 5xx and p99 latency to an SNS topic, with a dashboard', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ExecutionsFailed',
      Namespace: 'AWS/States',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: '5XXError',
      Namespace: 'AWS/ApiGateway',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Latency',
      ExtendedStatistic: 'p99',
    });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    for (const alarm of alarms) assert.equal(alarm.Properties.AlarmActions.length, 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('deploys the same alarm definitions the local platform evaluates, per listed model and over all models', () => {
    const monitored = synth({ monitoredModels: ['iris'], monitorInterval: Duration.minutes(5) }).template();
    const names = Object.values(monitored.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties.AlarmName as string | undefined)
      .filter((n): n is string => n !== undefined)
      .sort();
    const expected = [undefined, 'iris']
      .flatMap((model) => alarmDefinitions(model, { prefix: 'Test' }))
      .map((a) => a.name)
      .sort();
    assert.deepEqual(names, expected);
    monitored.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test/iris/drift',
      Namespace: METRICS.namespace,
      MetricName: METRICS.driftScore,
      Dimensions: Match.arrayWith([{ Name: 'model', Value: 'iris' }]),
      Statistic: 'Maximum',
      Period: 300,
      Threshold: DRIFT_THRESHOLD,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
    });
    monitored.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'Test/_all/latency',
      MetricName: METRICS.latency,
      ExtendedStatistic: 'p99',
      Dimensions: [{ Name: 'service', Value: METRICS.service }],
    });
    monitored.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)' });
    monitored.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: { alarmName: [{ prefix: 'Test/' }] },
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
  });

  it('runs the functions on Node.js 24 arm64 with tracing, and outputs every endpoint, bucket and table', () => {
    const functions = template.findResources('AWS::Lambda::Function', {
      Properties: { Runtime: 'nodejs24.x' },
    });
    // Every declared function, and nothing else on Node.js 24.
    assert.equal(Object.keys(functions).length, Object.keys(FUNCTIONS).length);
    for (const fn of Object.values(functions)) {
      assert.deepEqual(fn.Properties.Architectures, ['arm64']);
      assert.deepEqual(fn.Properties.TracingConfig, { Mode: 'Active' });
    }
    for (const key of Object.values(OUTPUTS)) template.hasOutput(key, {});
  });

  it('gives every function the environment its handler needs to start, as Lambda starts it', async () => {
    // Each handler is loaded in a process of its own with only its function's variables (and the region and
    // credentials Lambda provides): a bucket or table the handler reads but the stack never bound fails here,
    // where the local platform (one process, every variable set) cannot see it.
    const { stack, template: synthesized } = synth();
    const resources = synthesized().toJSON().Resources as Record<
      string,
      { Properties: { Environment?: { Variables?: Record<string, unknown> } } }
    >;
    const functions = stack.node.findAll().filter((c): c is NimbusFunction => c instanceof NimbusFunction);
    assert.deepEqual(
      functions.map((fn) => fn.dir).sort(),
      Object.values(FUNCTIONS)
        .map((fn) => fn.dir)
        .sort(),
    );
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < functions.length; i = next++) {
        const fn = functions[i] as NimbusFunction;
        const id = stack.getLogicalId(fn.function.node.defaultChild as CfnResource);
        const variables = resources[id]?.Properties.Environment?.Variables ?? {};
        const env: Record<string, string> = {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'secret',
          AWS_LAMBDA_FUNCTION_NAME: fn.dir,
          // A reference (a bucket's or table's name) resolves at deploy time: any name will do here.
          ...Object.fromEntries(
            Object.entries(variables).map(([name, value]) => [
              name,
              typeof value === 'string' ? value : name,
            ]),
          ),
        };
        const handler = pathToFileURL(join(REPO_ROOT, 'functions', fn.dir, 'handler.ts')).href;
        try {
          await promisify(execFile)(
            process.execPath,
            [
              '--import',
              'tsx',
              '--input-type=module',
              '-e',
              `await import(${JSON.stringify(handler)}); process.exit(0);`,
            ],
            { cwd: REPO_ROOT, env, timeout: 60_000 },
          );
        } catch (error) {
          const { stderr = '' } = error as { stderr?: string };
          const reason =
            /^\w*Error: .*$/m.exec(stderr)?.[0] ?? stderr.trim().split('\n').at(-1) ?? String(error);
          failures.push(`${fn.dir}: ${reason.trim()}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    assert.deepEqual(failures, []);
  });

  it("lets only the registry manage API keys: its REST API's id, and API Gateway's key operations", () => {
    const managing = Object.values(template.findResources('AWS::Lambda::Function')).filter(
      (fn) => fn.Properties.Environment?.Variables?.[ENV.restApiId] !== undefined,
    );
    assert.equal(managing.length, 1, 'one function manages keys');
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[],
    );
    const actions = statements
      .flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]))
      .filter((action) => action.startsWith('apigateway:'));
    assert.deepEqual([...new Set(actions)].sort(), [
      'apigateway:DELETE',
      'apigateway:GET',
      'apigateway:POST',
    ]);
  });

  it('grants the state machine invoke on exactly the pipeline functions', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p).includes('lambda:InvokeFunction'),
    );
    assert.equal(policies.length, 1);
    const statement = policies[0]?.Properties.PolicyDocument.Statement.find(
      (s: { Action: string }) => s.Action === 'lambda:InvokeFunction',
    );
    assert.equal(statement.Resource.length, PIPELINE_FUNCTIONS.length);
    assert.ok(!JSON.stringify(statement.Resource).includes(':*'));
  });
});

describe('NimbusPlatform on SageMaker', () => {
  const template = synth({ trainingPlatform: 'sagemaker' }).template();

  it('creates no Batch resources and lets the pipeline pass the SageMaker role', () => {
    template.resourceCountIs('AWS::Batch::ComputeEnvironment', 0);
    template.resourceCountIs('AWS::EC2::VPC', 0);
    const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
    assert.equal(machine?.Properties.DefinitionSubstitutions[SUBSTITUTIONS.trainingPlatform], 'sagemaker');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['sagemaker:CreateTrainingJob']) }),
          Match.objectLike({ Action: 'iam:PassRole' }),
        ]),
      },
    });
  });
});
