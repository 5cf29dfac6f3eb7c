/**
 * Every route of the HTTPS API: method, path, authorization, the function that answers it, and the types of
 * its answer and body (core/api-types.ts). One part of the platform's declaration, core/declaration.ts.
 */
import type { ApiTypes } from '../api-types.ts';
import { type ApiResource, answersPath, type FunctionName, functionList } from './functions.ts';

/**
 * How a route is authorized: an API key (under the usage plan), IAM (SigV4; the admin key stands in for it on
 * the local platform), or nothing (the dashboard's static files, the OpenAPI document).
 */
export type RouteAuth = 'apiKey' | 'iam' | 'none';
export type HttpMethod = 'GET' | 'POST';
/** A type the API answers or takes, by its name in core/api-types.ts. */
export type ApiTypeName = keyof ApiTypes;

export interface RouteDeclaration {
  readonly method: HttpMethod;
  /** OpenAPI path template under the stage, e.g. `/v1/registry/models/{model}`. */
  readonly path: string;
  readonly auth: RouteAuth;
  readonly function: FunctionName;
  readonly summary: string;
  /**
   * The type (core/api-types.ts) of a 200 answer's body; the dashboard's files name what they are; a
   * `download` answers a 303 to a short-lived link to the file (an S3 presigned URL).
   */
  readonly response: ApiTypeName | 'redirect' | 'text/html' | 'file' | 'download';
  /** The type of the request body, for routes that take one. */
  readonly body?: ApiTypeName;
  /** Query parameters: name → what it means. */
  readonly query?: Readonly<Record<string, string>>;
  /**
   * An API-key route over every model that a key scoped to some models may read too: its answer holds only the
   * models the key opens (core/api-keys.ts). Any other such route refuses a scoped key.
   */
  readonly keyScope?: 'filtered';
}

/** A route, named by its OpenAPI operation id. */
type Routes = Record<string, RouteDeclaration>;

/** TF Serving's three paths to a model: the version in production, one version, the version an alias names. */
const MODEL_PATHS = {
  production: ['/v1/models/{model}', 'of the version in production'],
  version: ['/v1/models/{model}/versions/{version}', 'of one version'],
  label: ['/v1/models/{model}/labels/{label}', 'of the version an alias names'],
} as const;
type ModelPath = keyof typeof MODEL_PATHS;

const modelStatus = (at: ModelPath) =>
  ({
    method: 'GET',
    path: MODEL_PATHS[at][0],
    auth: 'apiKey',
    function: 'predict',
    summary:
      at === 'production'
        ? "The state of every version of the model (TF Serving's model status)"
        : `The state of the versions (TF Serving's model status) ${MODEL_PATHS[at][1].replace('of the version', 'of the versions')}`,
    response: 'ModelStatusResponse',
  }) as const satisfies RouteDeclaration;
const modelMetadata = (at: ModelPath) =>
  ({
    method: 'GET',
    path: `${MODEL_PATHS[at][0]}/metadata`,
    auth: 'apiKey',
    function: 'predict',
    summary: `The model's signature: its inputs and outputs (TF Serving's metadata), ${MODEL_PATHS[at][1]}`,
    response: 'ModelMetadataResponse',
  }) as const satisfies RouteDeclaration;
/** A POST of TF Serving's to a model path: `<path>:<verb>`. */
const modelVerb =
  <B extends ApiTypeName, R extends ApiTypeName>(verb: string, what: string, body: B, response: R) =>
  (at: ModelPath) =>
    ({
      method: 'POST',
      path: `${MODEL_PATHS[at][0]}:${verb}`,
      auth: 'apiKey',
      function: 'predict',
      summary: `${what}, ${MODEL_PATHS[at][1]}`,
      body,
      response,
    }) as const satisfies RouteDeclaration;
const predict = modelVerb(
  'predict',
  'Predictions for instances (row format) or inputs (columnar format)',
  'PredictRequest',
  'PredictResponse',
);
const classify = modelVerb(
  'classify',
  "Every class's probability for each example (TF Serving's Classify; classifiers)",
  'ClassifyRequest',
  'ClassifyResponse',
);
const regress = modelVerb(
  'regress',
  "The value for each example (TF Serving's Regress; regressors)",
  'ClassifyRequest',
  'RegressResponse',
);

/** The Open Inference Protocol's two paths to a model: the version in production, one version. */
const V2_PATHS = {
  production: ['/v2/models/{model}', 'the version in production'],
  version: ['/v2/models/{model}/versions/{version}', 'one version'],
} as const;
const v2 = <R extends ApiTypeName>(path: string, summary: string, response: R) =>
  ({
    method: 'GET',
    path,
    auth: 'apiKey',
    function: 'predict',
    summary,
    response,
  }) as const satisfies RouteDeclaration;
const v2Metadata = (at: keyof typeof V2_PATHS) =>
  v2(
    V2_PATHS[at][0],
    `The model's inputs and outputs (Open Inference Protocol), of ${V2_PATHS[at][1]}`,
    'V2ModelMetadata',
  );
const v2Ready = (at: keyof typeof V2_PATHS) =>
  v2(
    `${V2_PATHS[at][0]}/ready`,
    `Whether ${V2_PATHS[at][1]} can answer now (Open Inference Protocol)`,
    'V2ModelReady',
  );
const v2Infer = (at: keyof typeof V2_PATHS) =>
  ({
    method: 'POST',
    path: `${V2_PATHS[at][0]}/infer`,
    auth: 'apiKey',
    function: 'predict',
    summary: `Inference on input tensors (Open Inference Protocol), by ${V2_PATHS[at][1]}`,
    body: 'V2InferenceRequest',
    response: 'V2InferenceResponse',
  }) as const satisfies RouteDeclaration;

/** A read with the API key, of the registry's or the monitoring API's (under `/v1/<function>`). */
const read =
  <F extends 'registry' | 'monitoring'>(fn: F) =>
  <R extends ApiTypeName>(path: string, summary: string, response: R, query?: Record<string, string>) =>
    ({
      method: 'GET',
      path: `/v1/${fn}${path}`,
      auth: 'apiKey',
      function: fn,
      summary,
      response,
      query,
    }) as const satisfies RouteDeclaration;
const registryRead = read('registry');
const monitoringRead = read('monitoring');
/** A change of the registry's, with IAM. */
const registryChange = <B extends ApiTypeName, R extends ApiTypeName>(
  path: string,
  summary: string,
  body: B,
  response: R,
) =>
  ({
    method: 'POST',
    path: `/v1/registry${path}`,
    auth: 'iam',
    function: 'registry',
    summary,
    body,
    response,
  }) as const satisfies RouteDeclaration;
const page = <R extends RouteDeclaration['response']>(path: string, summary: string, response: R) =>
  ({ method: 'GET', path, auth: 'none', function: 'dashboard', summary, response }) as const;

/** Every route of the API, by operation id. */
export const ROUTES = {
  modelStatus: modelStatus('production'),
  modelMetadata: modelMetadata('production'),
  predict: predict('production'),
  modelStatusVersion: modelStatus('version'),
  modelMetadataVersion: modelMetadata('version'),
  predictVersion: predict('version'),
  modelStatusLabel: modelStatus('label'),
  modelMetadataLabel: modelMetadata('label'),
  predictLabel: predict('label'),
  classify: classify('production'),
  classifyVersion: classify('version'),
  classifyLabel: classify('label'),
  regress: regress('production'),
  regressVersion: regress('version'),
  regressLabel: regress('label'),

  v2Server: v2('/v2', 'The server and its protocol extensions (Open Inference Protocol)', 'V2ServerMetadata'),
  v2Live: v2('/v2/health/live', 'Whether the server is live (Open Inference Protocol)', 'V2ServerLive'),
  v2Ready: v2('/v2/health/ready', 'Whether the server is ready (Open Inference Protocol)', 'V2ServerReady'),
  v2ModelMetadata: v2Metadata('production'),
  v2ModelMetadataVersion: v2Metadata('version'),
  v2ModelReady: v2Ready('production'),
  v2ModelReadyVersion: v2Ready('version'),
  v2Infer: v2Infer('production'),
  v2InferVersion: v2Infer('version'),

  listModels: {
    ...registryRead(
      '/models',
      'Every model, with its versions and aliases (those a scoped key opens)',
      'ModelList',
    ),
    keyScope: 'filtered',
  },
  getModel: registryRead('/models/{model}', 'One model: its aliases and versions', 'ModelDetail'),
  listVersions: registryRead('/models/{model}/versions', "A model's versions", 'VersionList'),
  getVersion: registryRead('/models/{model}/versions/{version}', 'One version of a model', 'ModelVersion'),
  getVersionArtifact: registryRead(
    '/models/{model}/versions/{version}/artifacts/{name}',
    "A JSON file of a version's folder: metrics, card, baseline or schema",
    'JsonDocument',
  ),
  getVersionOnnx: {
    method: 'GET',
    path: '/v1/registry/models/{model}/versions/{version}/model.onnx',
    auth: 'apiKey',
    function: 'registry',
    summary:
      'The version as one ONNX file, its preprocessing included (an imported version: its own file): a redirect to a link valid for 5 minutes',
    response: 'download',
  },
  listAliases: registryRead('/models/{model}/aliases', "A model's aliases", 'AliasList'),
  getAlias: registryRead(
    '/models/{model}/aliases/{alias}',
    'One alias (or what it named at a time)',
    'AliasView',
    { at: 'A time (ISO 8601): the alias as it was then' },
  ),
  aliasHistory: registryRead(
    '/models/{model}/aliases/{alias}/history',
    'Every change of an alias, oldest first',
    'AliasHistory',
  ),
  auditLog: registryRead('/models/{model}/audit', 'Every alias and status change of a model', 'AuditLog'),
  listDatasets: registryRead('/datasets', 'Every dataset, with its latest version', 'DatasetList'),
  getDataset: registryRead('/datasets/{name}', "A dataset's versions", 'DatasetDetail'),
  getDatasetVersion: registryRead(
    '/datasets/{name}/versions/{version}',
    'One dataset version',
    'DatasetVersionRecord',
  ),
  getDatasetReport: registryRead(
    '/datasets/{name}/versions/{version}/report',
    "A dataset version's validation report",
    'ValidationReport',
  ),
  listRuns: registryRead('/runs', 'Pipeline runs, newest first', 'RunList', {
    limit: 'How many runs (1–1000, default 100)',
    dataset: 'Only the runs of this dataset',
  }),
  getRun: registryRead('/runs/{runId}', 'One pipeline run', 'RunRecord'),
  runTrials: registryRead(
    '/runs/{runId}/trials',
    "The trials of a run's hyperparameter search: parameters, status and score",
    'TrialList',
  ),
  runProgress: registryRead(
    '/runs/{runId}/progress',
    "A run's steps and its training jobs' epochs so far",
    'RunProgress',
  ),
  setAlias: registryChange(
    '/models/{model}/aliases/{alias}',
    'Points an alias at a version (promotion)',
    'AliasChange',
    'AliasChangeResult',
  ),
  startCanary: registryChange(
    '/models/{model}/aliases/{alias}/canary',
    "Sends a share of an alias's traffic to another version",
    'CanaryChange',
    'AliasChangeResult',
  ),
  rollbackAlias: registryChange(
    '/models/{model}/aliases/{alias}/rollback',
    'Points an alias back at the version it named before',
    'RollbackChange',
    'AliasChangeResult',
  ),
  approveVersion: registryChange(
    '/models/{model}/versions/{version}/approve',
    'Approves a version waiting for approval (its run deploys it)',
    'StatusChange',
    'StatusChangeResult',
  ),
  rejectVersion: registryChange(
    '/models/{model}/versions/{version}/reject',
    'Rejects a version (its run ends without deploying)',
    'StatusChange',
    'StatusChangeResult',
  ),
  archiveVersion: registryChange(
    '/models/{model}/versions/{version}/archive',
    'Archives a version (no alias may name it)',
    'StatusChange',
    'StatusChangeResult',
  ),
  stopRun: registryChange('/runs/{runId}/stop', 'Stops a running run', 'StopRun', 'StopRunResult'),
  retryRun: registryChange(
    '/runs/{runId}/retry',
    'Starts a failed run again on the same dataset version',
    'RetryRun',
    'RetryRunResult',
  ),

  createApiKey: registryChange(
    '/keys',
    'Creates an API key that opens only the models named (its value is answered once)',
    'CreateApiKeyBody',
    'CreatedApiKey',
  ),
  listApiKeys: {
    method: 'GET',
    path: '/v1/registry/keys',
    auth: 'iam',
    function: 'registry',
    summary: 'Every API key the registry created, with its scope (never its value)',
    response: 'ApiKeyList',
  },
  revokeApiKey: registryChange(
    '/keys/{keyId}/revoke',
    'Revokes an API key: refused from then on, and deleted from the usage plan',
    'RevokeApiKeyBody',
    'RevokedApiKey',
  ),

  listAlarms: monitoringRead('/alarms', "The platform's alarms and their states", 'AlarmList'),
  alarmHistory: monitoringRead('/alarms/history', 'Alarm state changes, newest first', 'AlarmHistory', {
    limit: 'How many changes (1–100, default 100)',
  }),
  driftReports: monitoringRead('/models/{model}/drift', "A model's drift reports", 'DriftReports', {
    since: 'Reports from this time on (ISO 8601; default a week ago)',
    limit: 'How many reports (1–500, default 500)',
  }),

  dashboardRoot: page('/dashboard', 'Redirects to the dashboard page', 'redirect'),
  dashboardPage: page('/dashboard/', "The web dashboard's page", 'text/html'),
  dashboardFile: page('/dashboard/{file}', "A file of the web dashboard's page", 'file'),
  openApi: page('/v1/openapi.json', 'This API described in OpenAPI 3.1', 'OpenApiDocument'),
} as const satisfies Routes;

export type RouteName = keyof typeof ROUTES;

/** What a route answers (200), as its declaration names it; a download's answer is the redirect itself. */
export type ResponseOf<N extends RouteName> = (typeof ROUTES)[N]['response'] extends infer R extends
  ApiTypeName
  ? ApiTypes[R]
  : (typeof ROUTES)[N]['response'] extends 'download'
    ? Response
    : never;

/** The routes a function answers, by name. */
export function routesOf(fn: FunctionName): readonly (RouteDeclaration & { readonly name: RouteName })[] {
  return (Object.keys(ROUTES) as RouteName[])
    .map((name) => ({ name, ...(ROUTES[name] as RouteDeclaration) }))
    .filter((route) => route.function === fn);
}

/**
 * The REST API's resources as API Gateway holds them: each function's resources, and the authorization of each
 * method on them (one per method: the proxy gives every route under a resource the same method settings).
 */
export function gatewayResources(): readonly {
  readonly function: FunctionName;
  readonly resource: ApiResource;
  readonly methods: Readonly<Partial<Record<HttpMethod, RouteAuth>>>;
}[] {
  const result = [];
  for (const fn of functionList()) {
    if (fn.trigger.kind !== 'api') continue;
    for (const resource of fn.trigger.resources) {
      const methods: Partial<Record<HttpMethod, RouteAuth>> = {};
      for (const route of routesOf(fn.name)) {
        if (resourceOf(route.path, fn.trigger.resources) !== resource) continue;
        const auth = methods[route.method];
        if (auth !== undefined && auth !== route.auth) {
          throw new Error(`${route.method} routes under /${resource.path.join('/')} differ in authorization`);
        }
        methods[route.method] = route.auth;
      }
      result.push({ function: fn.name, resource, methods });
    }
  }
  return result;
}

/**
 * The resource (of those given) that serves a path template, the most specific when several do (as API
 * Gateway matches `/v1/registry/keys` before `/v1/registry/{proxy+}`); undefined when none does.
 */
export function resourceOf(path: string, resources: readonly ApiResource[]): ApiResource | undefined {
  return resources
    .filter((resource) => answersPath(resource, path))
    .sort((a, b) => b.path.length - a.path.length)[0];
}

/**
 * What the gateway answers by itself, before any function: `{"error": "…"}`, as TF Serving and the Open
 * Inference Protocol answer every error. A path no resource serves is a 404 and a method its resource does
 * not take a 405 naming those it does (in AWS a catch-all route of mock integrations: no function runs); the
 * others are API Gateway's own texts, which its gateway responses put in the same shape.
 */
export const GATEWAY_ERRORS = {
  noRoute: (method: string, path: string) => `no route for ${method} ${path}`,
  noMethod: (method: string, path: string, allowed: readonly string[]) =>
    `no route for ${method} ${path}: it takes ${allowed.join(', ')}`,
  /** No API key, or one the usage plan does not have. */
  forbidden: 'Forbidden',
  /** An IAM-authorized method called without a SigV4 signature. */
  unsigned: 'Missing Authentication Token',
  /** A SigV4 signature that does not check out (another key, another body, out of date). */
  badSignature:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  tooLarge: 'Request Too Long',
  throttled: 'Too Many Requests',
  internal: 'Internal server error',
} as const;
