import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { API, ENV, KEYS } from '../core/contract.ts';
import { NimbusFunction } from './function.ts';
import { acknowledgeExecutions, acknowledgeManagedPolicy } from './nag.ts';

export interface InferenceApiProps {
  readonly artifacts: s3.IBucket;
  /** The datasets bucket and table: the registry API reads dataset versions and their validation reports. */
  readonly datasets: s3.IBucket;
  readonly datasetsTable: dynamodb.ITable;
  readonly models: dynamodb.ITable;
  readonly runs: dynamodb.ITable;
  /** The pipeline whose approval tasks the registry API answers. */
  readonly pipeline: sfn.IStateMachine;
  /** Share of predictions written to the data capture (0–1). @default 0.1 */
  readonly captureRate?: number;
  /** Steady-state requests per second per API key. @default 100 */
  readonly rateLimit?: number;
  /** Burst of requests per API key. @default 200 */
  readonly burstLimit?: number;
  /** Memory of the predict function (more memory, more CPU). @default 1024 */
  readonly memorySize?: number;
}

/**
 * The HTTPS API, one API Gateway REST API:
 * - `/v1/models/{proxy+}` (TF Serving's paths) → predict Lambda, with an API key under a throttled usage plan;
 * - `/v1/registry/{proxy+}` → registry Lambda: reads (GET) with an API key, changes (POST: promote, canary,
 *   rollback, approve, reject, archive) with IAM (SigV4) only — the admin credential.
 * - `/dashboard/` → dashboard Lambda: the web dashboard's static page, no key to load it (throttled by the
 *   stage); the page asks for the API key and reads the registry and monitoring APIs with it.
 * Access logs go to CloudWatch Logs as JSON, execution logging and tracing are on.
 */
export class InferenceApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly apiKey: apigateway.IApiKey;
  readonly predict: NimbusFunction;
  readonly registry: NimbusFunction;
  /** The monitoring API: alarm states and history, drift reports. */
  readonly monitoring: NimbusFunction;
  /** The web dashboard's static page and files (`/dashboard/`), loaded without a key. */
  readonly dashboard: NimbusFunction;

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    this.predict = new NimbusFunction(this, 'Predict', {
      dir: 'predict',
      memorySize: props.memorySize ?? 1024,
      timeout: Duration.seconds(29),
    })
      .bindBucket('artifacts', props.artifacts, 'readWrite', `${KEYS.capturePrefix}*`)
      .bindTable('models', props.models, 'read');
    this.predict.function.addEnvironment(ENV.captureRate, String(props.captureRate ?? 0.1));

    // Reads version artifacts (metrics, card, baseline, schema) and training progress from the artifacts bucket,
    // the dataset versions and their validation reports.
    this.registry = new NimbusFunction(this, 'Registry', { dir: 'registry', timeout: Duration.seconds(29) })
      .bindBucket('artifacts', props.artifacts, 'read')
      .bindBucket('datasets', props.datasets, 'read', '*', `${KEYS.datasetVersionsPrefix}*`)
      .bindTable('models', props.models, 'readWrite')
      .bindTable('runs', props.runs, 'read')
      .bindTable('datasets', props.datasetsTable, 'read');
    // `retriedBy` on a run it retries: one conditional update, nothing else written to the runs table.
    props.runs.grant(this.registry.function, 'dynamodb:UpdateItem');
    props.pipeline.grantTaskResponse(this.registry.function);
    // `POST runs/<id>/stop`: DescribeExecution and StopExecution on the pipeline's executions; `…/retry`:
    // StartExecution of the pipeline.
    this.registry.function.addEnvironment(ENV.stateMachineArn, props.pipeline.stateMachineArn);
    props.pipeline.grantExecution(this.registry.function, 'states:DescribeExecution', 'states:StopExecution');
    props.pipeline.grantStartExecution(this.registry.function);
    acknowledgeExecutions(
      this.registry,
      props.pipeline,
      "A run's execution is named by its run id: the registry may describe and stop any of the pipeline's.",
    );

    this.monitoring = new NimbusFunction(this, 'Monitoring', {
      dir: 'monitoring',
      timeout: Duration.seconds(29),
    })
      .bindBucket('artifacts', props.artifacts, 'read')
      .bindTable('models', props.models, 'read');

    // Serves only the page's files (built into its bundle), so no data access.
    this.dashboard = new NimbusFunction(this, 'Dashboard', {
      dir: 'dashboard',
      memorySize: 256,
      timeout: Duration.seconds(10),
    });

    const dashboardPath = `/${API.dashboardResource.join('/')}`;
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'Nimbus ML predictions (TF Serving REST paths)',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.DESTROY,
      deployOptions: {
        stageName: 'prod',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
        // The dashboard's methods take no key, so no usage plan throttles them: the stage does.
        methodOptions: Object.fromEntries(
          [dashboardPath, `${dashboardPath}/{proxy+}`].map((path) => [
            `${path}/GET`,
            {
              throttlingRateLimit: 20,
              throttlingBurstLimit: 40,
              loggingLevel: apigateway.MethodLoggingLevel.ERROR,
              metricsEnabled: true,
            },
          ]),
        ),
      },
    });
    const validator = this.api.addRequestValidator('Validator', {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const resourceAt = (parts: readonly string[]) => {
      let resource = this.api.root;
      for (const part of parts) resource = resource.getResource(part) ?? resource.addResource(part);
      return resource;
    };
    const proxyUnder = (parts: readonly string[]) => resourceAt(parts).addResource('{proxy+}');
    const predictions = new apigateway.LambdaIntegration(this.predict.function, { proxy: true });
    const models = proxyUnder(API.modelsResource);
    for (const method of ['GET', 'POST']) {
      models.addMethod(method, predictions, {
        apiKeyRequired: true,
        requestValidator: validator,
        requestParameters: { 'method.request.path.proxy': true },
      });
    }
    const registryIntegration = new apigateway.LambdaIntegration(this.registry.function, { proxy: true });
    const registry = proxyUnder(API.registryResource);
    registry.addMethod('GET', registryIntegration, {
      apiKeyRequired: true,
      requestValidator: validator,
      requestParameters: { 'method.request.path.proxy': true },
    });
    registry.addMethod('POST', registryIntegration, {
      authorizationType: apigateway.AuthorizationType.IAM,
      requestValidator: validator,
      requestParameters: { 'method.request.path.proxy': true },
    });
    proxyUnder(API.monitoringResource).addMethod(
      'GET',
      new apigateway.LambdaIntegration(this.monitoring.function, { proxy: true }),
      {
        apiKeyRequired: true,
        requestValidator: validator,
        requestParameters: { 'method.request.path.proxy': true },
      },
    );
    // The dashboard: `/dashboard` (which redirects to `/dashboard/`) and its files, without a key — a browser
    // loading a page cannot send one; the page asks for the key and sends it to the APIs above.
    const dashboardIntegration = new apigateway.LambdaIntegration(this.dashboard.function, { proxy: true });
    const dashboardPage = resourceAt(API.dashboardResource);
    const dashboardMethods = [
      dashboardPage.addMethod('GET', dashboardIntegration, {
        authorizationType: apigateway.AuthorizationType.NONE,
        apiKeyRequired: false,
      }),
      dashboardPage.addResource('{proxy+}').addMethod('GET', dashboardIntegration, {
        authorizationType: apigateway.AuthorizationType.NONE,
        apiKeyRequired: false,
        requestValidator: validator,
        requestParameters: { 'method.request.path.proxy': true },
      }),
    ];
    for (const method of dashboardMethods) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'The dashboard method serves only its static page and files (no data); the page reads the data APIs with the API key.',
      });
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-COG4',
        reason:
          'The dashboard method serves only static files; the data it shows comes from API-key methods, not through it.',
      });
    }

    this.apiKey = this.api.addApiKey('ApiKey', { description: 'Default Nimbus ML prediction key' });
    const plan = this.api.addUsagePlan('UsagePlan', {
      description: 'Throttling for prediction clients',
      throttle: { rateLimit: props.rateLimit ?? 100, burstLimit: props.burstLimit ?? 200 },
    });
    plan.addApiKey(this.apiKey);
    plan.addApiStage({ stage: this.api.deploymentStage });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Prediction clients authenticate with API keys under a throttled usage plan, as TF Serving clients expect.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Machine clients use API keys; a Cognito user pool does not fit server-to-server prediction calls.',
    });
    acknowledgeManagedPolicy(
      this.api,
      'service-role/AmazonAPIGatewayPushToCloudWatchLogs',
      'The AWS-managed policy API Gateway documents for writing execution and access logs.',
    );
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'WAF is not attached by default (it costs while idle); attach a web ACL to the stage if needed.',
    });
  }
}
