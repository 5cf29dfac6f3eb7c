import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { API } from '../core/contract.ts';
import { NimbusFunction } from './function.ts';
import { acknowledgeManagedPolicy } from './nag.ts';

export interface InferenceApiProps {
  readonly artifacts: s3.IBucket;
  readonly models: dynamodb.ITable;
  /** Steady-state requests per second per API key. @default 100 */
  readonly rateLimit?: number;
  /** Burst of requests per API key. @default 200 */
  readonly burstLimit?: number;
  /** Memory of the predict function (more memory, more CPU). @default 1024 */
  readonly memorySize?: number;
}

/**
 * The HTTPS predict API: API Gateway REST API (`/v1/models/{proxy+}`, TF Serving's paths) → predict Lambda.
 * Every method needs an API key; one key and a throttled usage plan are created. Access logs go to
 * CloudWatch Logs as JSON, execution logging and tracing are on.
 */
export class InferenceApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly apiKey: apigateway.IApiKey;
  readonly predict: NimbusFunction;

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    this.predict = new NimbusFunction(this, 'Predict', {
      dir: 'predict',
      memorySize: props.memorySize ?? 1024,
      timeout: Duration.seconds(29),
    })
      .bindBucket('artifacts', props.artifacts, 'read')
      .bindTable('models', props.models, 'read');

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
      },
    });
    const validator = this.api.addRequestValidator('Validator', {
      validateRequestParameters: true,
      validateRequestBody: true,
    });
    const integration = new apigateway.LambdaIntegration(this.predict.function, { proxy: true });
    let resource = this.api.root;
    for (const part of API.modelsResource) resource = resource.addResource(part);
    const proxy = resource.addResource('{proxy+}');
    for (const method of ['GET', 'POST']) {
      proxy.addMethod(method, integration, {
        apiKeyRequired: true,
        requestValidator: validator,
        requestParameters: { 'method.request.path.proxy': true },
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
