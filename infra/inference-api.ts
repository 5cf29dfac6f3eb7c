import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ENV } from '../core/contract.ts';
import {
  type FunctionName,
  functionList,
  GATEWAY_ERRORS,
  gatewayPaths,
  gatewayResources,
  type HttpMethod,
  type RouteAuth,
} from '../core/declaration.ts';
import type { NimbusFunction } from './function.ts';
import { acknowledgeManagedPolicy } from './nag.ts';

export interface InferenceApiProps {
  /** The platform's functions; those the routes name answer them. */
  readonly functions: Record<FunctionName, NimbusFunction>;
  /** Steady-state requests per second per API key. @default 100 */
  readonly rateLimit?: number;
  /** Burst of requests per API key. @default 200 */
  readonly burstLimit?: number;
}

/**
 * The HTTPS API, one API Gateway REST API, made from the declared routes (core/declaration.ts ROUTES): each
 * function's resources proxy to it, each method authorized as its routes declare —
 * - an API key under a throttled usage plan (predictions, registry and monitoring reads);
 * - IAM (SigV4) only, the admin credential (the registry's changes: promote, canary, rollback, approve,
 *   reject, archive, stop and retry runs);
 * - nothing (the web dashboard's static page and files, and the OpenAPI document): a browser loading a page
 *   cannot send a key; the page asks for it and reads the APIs with it. The stage throttles these methods.
 * Access logs go to CloudWatch Logs as JSON, execution logging and tracing are on.
 */
export class InferenceApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly apiKey: apigateway.IApiKey;

  constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    const resources = gatewayResources();
    const open = resources.flatMap(({ resource, methods }) =>
      (Object.entries(methods) as [HttpMethod, RouteAuth][])
        .filter(([, auth]) => auth === 'none')
        .flatMap(([method]) => Object.values(gatewayPaths(resource)).map((path) => `${path}/${method}`)),
    );
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
        // Methods that take no key are under no usage plan: the stage throttles them.
        methodOptions: Object.fromEntries(
          open.map((path) => [
            path,
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
    /** Every resource made, with the methods it takes (none: a resource only on the way to others). */
    const taken = new Map<apigateway.IResource, HttpMethod[]>([[this.api.root, []]]);
    const resourceAt = (parts: readonly string[]) => {
      let resource = this.api.root;
      for (const part of parts) {
        resource = resource.getResource(part) ?? resource.addResource(part);
        if (!taken.has(resource)) taken.set(resource, []);
      }
      return resource;
    };
    for (const { function: name, resource, methods } of resources) {
      const integration = new apigateway.LambdaIntegration(props.functions[name].function, { proxy: true });
      const base = resourceAt(resource.path);
      const paths = gatewayPaths(resource);
      const targets = [
        ...(paths.exact ? [{ at: base, proxy: false }] : []),
        ...(paths.proxy ? [{ at: base.addResource('{proxy+}'), proxy: true }] : []),
      ];
      for (const { at, proxy } of targets) {
        taken.set(at, Object.keys(methods) as HttpMethod[]);
        for (const [method, auth] of Object.entries(methods) as [HttpMethod, RouteAuth][]) {
          const added = at.addMethod(method, integration, {
            ...AUTHORIZATION[auth],
            ...(proxy ? { requestValidator: validator, requestParameters: PROXY_PARAMETER } : {}),
          });
          if (auth === 'none') acknowledgeOpenMethod(added);
        }
      }
    }

    catchAll(this.api, taken);
    for (const fn of functionList()) {
      if (fn.apiKeys === 'manage') grantKeyManagement(props.functions[fn.name], this.api);
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

/**
 * Errors as the API's functions answer them, `{"error": "…"}` (core/declaration.ts GATEWAY_ERRORS): a path no
 * resource serves is a 404 (`ANY /{proxy+}` at the root, and `ANY` on each resource that takes no method), a
 * method a resource does not take a 405 with `Allow` (`ANY` beside its methods, which take precedence). All are
 * mock integrations: no function runs. The gateway's own errors (a refused key, throttling, an unsigned admin
 * request, a body too large) keep their status and text, in the same shape.
 */
function catchAll(api: apigateway.RestApi, taken: Map<apigateway.IResource, HttpMethod[]>): void {
  const mock = (status: number, error: string, headers: Record<string, string> = {}) => {
    const template = JSON.stringify({ statusCode: status });
    const integration = new apigateway.MockIntegration({
      // A request of any of these types (none: JSON) gets the answer; another type, the gateway's 415.
      requestTemplates: Object.fromEntries(MOCK_CONTENT_TYPES.map((type) => [type, template])),
      passthroughBehavior: apigateway.PassthroughBehavior.NEVER,
      integrationResponses: [
        {
          statusCode: String(status),
          responseTemplates: { 'application/json': JSON.stringify({ error }) },
          responseParameters: Object.fromEntries(
            Object.entries(headers).map(([name, value]) => [`method.response.header.${name}`, `'${value}'`]),
          ),
        },
      ],
    });
    const methodResponse = {
      statusCode: String(status),
      responseParameters: Object.fromEntries(
        Object.keys(headers).map((name) => [`method.response.header.${name}`, true]),
      ),
    };
    return { integration, options: { ...AUTHORIZATION.none, methodResponses: [methodResponse] } };
  };
  const method = '$context.httpMethod';
  const path = '$context.path';
  const noRoute = mock(404, GATEWAY_ERRORS.noRoute(method, path));
  acknowledgeCatchAll(
    api.root.addResource('{proxy+}').addMethod('ANY', noRoute.integration, noRoute.options),
  );
  for (const [resource, methods] of taken) {
    const answer =
      methods.length === 0
        ? noRoute
        : mock(405, GATEWAY_ERRORS.noMethod(method, path, methods), { Allow: methods.join(', ') });
    acknowledgeCatchAll(resource.addMethod('ANY', answer.integration, answer.options));
  }
  for (const type of [apigateway.ResponseType.DEFAULT_4XX, apigateway.ResponseType.DEFAULT_5XX]) {
    api.addGatewayResponse(`Error${type.responseType}`, {
      type,
      templates: { 'application/json': '{"error": $context.error.messageString}' },
    });
  }
}

const MOCK_CONTENT_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'text/plain'];

function acknowledgeCatchAll(method: apigateway.Method): void {
  const reason =
    'A catch-all route: a mock integration answers a fixed 404 or 405 error; no function runs, no data is read.';
  acknowledgeOpenMethod(method, { apiKey: reason, cognito: reason });
}

/**
 * API Gateway's key operations for the registry's scoped keys (aws/api-keys.ts): create and delete keys, find
 * the API's usage plan and add keys to it. The plan's id cannot be named (the plan depends on the stage, the
 * stage on the methods, the methods on this function): `/usageplans/*` instead.
 */
function grantKeyManagement(fn: NimbusFunction, api: apigateway.RestApi): void {
  fn.function.addEnvironment(ENV.restApiId, api.restApiId);
  const { region, partition } = Stack.of(api);
  const arn = (path: string) => `arn:${partition}:apigateway:${region}::${path}`;
  fn.function.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['apigateway:POST'],
      resources: [arn('/apikeys'), arn('/usageplans/*/keys')],
    }),
  );
  fn.function.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['apigateway:GET'], resources: [arn('/usageplans')] }),
  );
  fn.function.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['apigateway:DELETE'], resources: [arn('/apikeys/*')] }),
  );
  for (const path of ['/apikeys/*', '/usageplans/*/keys']) {
    Validations.of(fn.function).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::${path}]`,
      reason:
        path === '/apikeys/*'
          ? 'Revoking deletes the key named by the admin request; keys are created at run time, so no id is known at deploy.'
          : "The usage plan's id cannot be referenced without a dependency cycle (plan → stage → methods → this function); the function adds keys to the plan that holds its API's stage.",
    });
  }
}

const PROXY_PARAMETER = { 'method.request.path.proxy': true };

const AUTHORIZATION: Record<RouteAuth, apigateway.MethodOptions> = {
  apiKey: { apiKeyRequired: true },
  iam: { authorizationType: apigateway.AuthorizationType.IAM },
  none: { authorizationType: apigateway.AuthorizationType.NONE, apiKeyRequired: false },
};

/**
 * Why a method takes no authorization: by default, it serves only static files (the page, the OpenAPI
 * document), no data.
 */
function acknowledgeOpenMethod(
  method: apigateway.Method,
  reasons = {
    apiKey:
      'The method serves only static files (the dashboard page, the OpenAPI document), no data; the page reads the data APIs with the API key.',
    cognito:
      'The method serves only static files; the data the dashboard shows comes from API-key methods, not through it.',
  },
): void {
  Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason: reasons.apiKey });
  Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason: reasons.cognito });
}
