/**
 * The platform, declared once: every function (its folder, what starts it, what it may read and write, what
 * its bundle carries, its memory and time), every route of the HTTPS API (method, path, authorization, the
 * function that answers it) and every event rule (what it matches, its target). Plain data with types.
 *
 * infra/ builds the CDK resources by looping over these lists; local/ wires the emulators from them; the
 * handlers register exactly the routes declared for them; the OpenAPI document (core/openapi.ts) is made from
 * them; bench/ and the tests enumerate them. There is no other list of functions, routes or rules: adding a
 * function is one entry here plus its folder under `functions/`.
 */
import { alarmEventPattern } from './alarms.ts';
import {
  API,
  type BucketRole,
  ENV,
  SUBSTITUTIONS,
  type SubstitutionKey,
  type TableRole,
} from './contract.ts';
import { batchEventPattern, executionEndedEventPattern, uploadEventPattern } from './events.ts';
import { KEYS } from './keys.ts';

/** Object access to one bucket: `name` only sets its variable (the function names objects, reads none). */
export type BucketAccess =
  | 'name'
  | {
      readonly access: 'read' | 'readWrite';
      /** Key pattern writes are limited to. @default '*' */
      readonly writeKeys?: string;
      /** Key pattern reads are limited to. @default '*' */
      readonly readKeys?: string;
    };

/** Item access to one table; `readUpdate` reads and conditionally updates items, never puts or deletes. */
export type TableAccess = 'read' | 'readWrite' | 'readUpdate';

/** What a function may do with the training pipeline's executions (and its callback tasks). */
export type PipelineAction = 'start' | 'describe' | 'stop' | 'answerTasks';

/**
 * Settings the platform's deployer chooses (CDK props, `npm start` options), passed as environment variables
 * to the functions that read them.
 */
export type PlatformSetting = 'gate' | 'trainingBudget' | 'captureRate' | 'alarmActions';

/** The variable that carries each setting. */
export const SETTING_ENV: Record<PlatformSetting, string> = {
  gate: ENV.gate,
  trainingBudget: ENV.trainingBudget,
  captureRate: ENV.captureRate,
  alarmActions: ENV.alarmActions,
};

/** What the function's bundle carries besides its code. */
export interface BundleExtras {
  /** tfjs-backend-wasm's .wasm binaries (functions that run a model). */
  readonly tfjs?: boolean;
  /** sharp, installed for the function's architecture (image decoding). */
  readonly images?: boolean;
  /** The web dashboard's built page, in the bundle's `page/` folder. */
  readonly dashboardPage?: boolean;
}

/** One resource of the REST API that proxies to a function: `/<path>` itself and/or `/<path>/{proxy+}`. */
export interface ApiResource {
  readonly path: readonly string[];
  /** The resource itself answers (not only what is under it). @default false */
  readonly exact?: boolean;
  /** Everything under the resource (`{proxy+}`) answers. @default true */
  readonly proxy?: boolean;
}

/** What starts a function. */
export type FunctionTrigger =
  /** Task states of the pipeline (the ASL names the function by its substitution). */
  | { readonly kind: 'states'; readonly states: readonly string[]; readonly substitution: SubstitutionKey }
  /** Routes of the API (ROUTES), through these gateway resources. */
  | { readonly kind: 'api'; readonly resources: readonly ApiResource[] }
  /** An event rule or schedule (RULES names it as its target). */
  | { readonly kind: 'rule' };

export interface FunctionDeclaration {
  /** Folder under `functions/` holding `handler.ts`. */
  readonly dir: string;
  /** What it does, in a line. */
  readonly summary: string;
  readonly trigger: FunctionTrigger;
  /** MB. */
  readonly memorySize: number;
  readonly timeoutSeconds: number;
  readonly bundle?: BundleExtras;
  readonly buckets?: { readonly [R in BucketRole]?: BucketAccess };
  readonly tables?: { readonly [R in TableRole]?: TableAccess };
  /** What it does with the pipeline's executions (it is given the state machine's ARN). */
  readonly pipeline?: readonly PipelineAction[];
  readonly settings?: readonly PlatformSetting[];
}

const read = { access: 'read' } as const;
const readWrite = { access: 'readWrite' } as const;

/** Every function of the platform. */
export const FUNCTIONS = {
  registerDataset: {
    dir: 'register-dataset',
    summary: 'Checks an upload (name, trigger, bytes) and records the dataset version and the run',
    trigger: {
      kind: 'states',
      states: ['RegisterDataset'],
      substitution: SUBSTITUTIONS.registerDatasetFunction,
    },
    memorySize: 1024,
    timeoutSeconds: 300,
    buckets: { datasets: { access: 'readWrite', writeKeys: `${KEYS.datasetVersionsPrefix}*` } },
    tables: { datasets: 'readWrite', runs: 'readWrite' },
  },
  preprocess: {
    dir: 'preprocess',
    summary: 'Validates the dataset version, fits the preprocessor and writes the splits',
    trigger: { kind: 'states', states: ['Preprocess'], substitution: SUBSTITUTIONS.preprocessFunction },
    memorySize: 3008,
    timeoutSeconds: 900,
    bundle: { images: true },
    buckets: { datasets: read, artifacts: readWrite },
    tables: { runs: 'readWrite' },
    settings: ['trainingBudget'],
  },
  search: {
    dir: 'search',
    summary: "Plans a hyperparameter search's trials and records their results",
    trigger: {
      kind: 'states',
      states: ['PlanTrials', 'RecordTrials'],
      substitution: SUBSTITUTIONS.searchFunction,
    },
    memorySize: 512,
    timeoutSeconds: 300,
    buckets: { artifacts: readWrite },
    tables: { runs: 'readWrite' },
  },
  evaluate: {
    dir: 'evaluate',
    summary: 'Scores the trained model on the held-out rows',
    trigger: { kind: 'states', states: ['Evaluate'], substitution: SUBSTITUTIONS.evaluateFunction },
    memorySize: 2048,
    timeoutSeconds: 900,
    bundle: { tfjs: true },
    buckets: { artifacts: readWrite },
    tables: { runs: 'readWrite' },
  },
  registerModel: {
    dir: 'register-model',
    summary: 'Records the trained model as a new version',
    trigger: {
      kind: 'states',
      states: ['RegisterModel'],
      substitution: SUBSTITUTIONS.registerModelFunction,
    },
    memorySize: 512,
    timeoutSeconds: 60,
    buckets: { artifacts: read },
    tables: { models: 'readWrite', runs: 'readWrite' },
  },
  gate: {
    dir: 'gate',
    summary: 'The champion/challenger gate, and the wait for a person to approve',
    trigger: {
      kind: 'states',
      states: ['Gate', 'WaitForApproval'],
      substitution: SUBSTITUTIONS.gateFunction,
    },
    memorySize: 512,
    timeoutSeconds: 60,
    tables: { models: 'readWrite', runs: 'readWrite' },
    settings: ['gate'],
  },
  deploy: {
    dir: 'deploy',
    summary: 'Moves the production alias (or starts a canary)',
    trigger: { kind: 'states', states: ['Deploy'], substitution: SUBSTITUTIONS.deployFunction },
    memorySize: 512,
    timeoutSeconds: 60,
    tables: { models: 'readWrite', runs: 'readWrite' },
  },
  markFailed: {
    dir: 'mark-failed',
    summary: "Records a run's failure and why",
    trigger: { kind: 'states', states: ['MarkFailed'], substitution: SUBSTITUTIONS.markFailedFunction },
    memorySize: 512,
    timeoutSeconds: 60,
    tables: { runs: 'readWrite' },
  },
  executionEnded: {
    dir: 'execution-ended',
    summary: 'Ends the run of an execution that failed, timed out or was stopped outside the pipeline',
    trigger: { kind: 'rule' },
    memorySize: 512,
    timeoutSeconds: 60,
    tables: { runs: 'readWrite' },
  },
  predict: {
    dir: 'predict',
    summary: "TF Serving's REST API: predictions, model status and metadata",
    trigger: { kind: 'api', resources: [{ path: API.modelsResource }] },
    memorySize: 1024,
    timeoutSeconds: 29,
    bundle: { tfjs: true, images: true },
    buckets: { artifacts: { access: 'readWrite', writeKeys: `${KEYS.capturePrefix}*` } },
    tables: { models: 'read' },
    settings: ['captureRate'],
  },
  registry: {
    dir: 'registry',
    summary: 'The registry API: models, versions, aliases, datasets, runs; changes with IAM',
    trigger: { kind: 'api', resources: [{ path: API.registryResource }] },
    memorySize: 512,
    timeoutSeconds: 29,
    // Version artifacts (metrics, card, baseline, schema) and training progress; dataset versions and their
    // validation reports.
    buckets: { artifacts: read, datasets: { access: 'read', readKeys: `${KEYS.datasetVersionsPrefix}*` } },
    // Runs: `retriedBy` on a run it retries, one conditional update.
    tables: { models: 'readWrite', runs: 'readUpdate', datasets: 'read' },
    // Approvals answer the pipeline's tasks; `runs/<id>/stop` describes and stops, `…/retry` starts.
    pipeline: ['answerTasks', 'describe', 'stop', 'start'],
  },
  monitoring: {
    dir: 'monitoring',
    summary: 'The monitoring API: alarm states and history, drift reports',
    trigger: { kind: 'api', resources: [{ path: API.monitoringResource }] },
    memorySize: 512,
    timeoutSeconds: 29,
    buckets: { artifacts: read },
    tables: { models: 'read' },
  },
  dashboard: {
    dir: 'dashboard',
    summary: "The web dashboard's page and files, and the API's OpenAPI document (no data, no key)",
    trigger: {
      kind: 'api',
      resources: [
        { path: API.dashboardResource, exact: true },
        { path: API.openApiResource, exact: true, proxy: false },
      ],
    },
    memorySize: 256,
    timeoutSeconds: 10,
    bundle: { dashboardPage: true },
  },
  batchPredict: {
    dir: 'batch-predict',
    summary: 'Predicts a CSV uploaded under batch/<model>/ with the model in production',
    trigger: { kind: 'rule' },
    memorySize: 2048,
    timeoutSeconds: 900,
    bundle: { tfjs: true },
    buckets: { datasets: read, artifacts: { access: 'readWrite', writeKeys: `${KEYS.batchPrefix}*` } },
    tables: { models: 'read' },
  },
  driftMonitor: {
    dir: 'drift-monitor',
    summary: 'Compares captured predictions with the baselines; writes drift reports and metrics',
    trigger: { kind: 'rule' },
    memorySize: 512,
    timeoutSeconds: 300,
    buckets: { artifacts: { access: 'readWrite', writeKeys: `${KEYS.monitoringPrefix}*` } },
    tables: { models: 'read' },
  },
  alarmState: {
    dir: 'alarm-state',
    summary: 'Records alarm state changes; rolls failing canaries back, retrains on drift',
    trigger: { kind: 'rule' },
    memorySize: 512,
    timeoutSeconds: 60,
    // Retraining starts the pipeline on an object of the datasets bucket: its name, no object access.
    buckets: { datasets: 'name' },
    tables: { models: 'readWrite', datasets: 'read' },
    pipeline: ['start'],
    settings: ['alarmActions'],
  },
} as const satisfies Record<string, FunctionDeclaration>;

export type FunctionName = keyof typeof FUNCTIONS;

/** Functions that are states of the pipeline. */
export type PipelineFunction = {
  [K in FunctionName]: (typeof FUNCTIONS)[K]['trigger']['kind'] extends 'states' ? K : never;
}[FunctionName];

export const PIPELINE_FUNCTIONS = (Object.keys(FUNCTIONS) as FunctionName[]).filter(
  (name): name is PipelineFunction => FUNCTIONS[name].trigger.kind === 'states',
);

/** Every function with its name, in declaration order. */
export function functionList(): readonly (FunctionDeclaration & { readonly name: FunctionName })[] {
  return (Object.keys(FUNCTIONS) as FunctionName[]).map((name) => ({ name, ...FUNCTIONS[name] }));
}

// ---- routes -------------------------------------------------------------------------------------------------

/**
 * How a route is authorized: an API key (under the usage plan), IAM (SigV4; the admin key stands in for it on
 * the local platform), or nothing (the dashboard's static files, the OpenAPI document).
 */
export type RouteAuth = 'apiKey' | 'iam' | 'none';
export type HttpMethod = 'GET' | 'POST';

export interface RouteDeclaration {
  readonly method: HttpMethod;
  /** OpenAPI path template under the stage, e.g. `/v1/registry/models/{model}`. */
  readonly path: string;
  readonly auth: RouteAuth;
  readonly function: FunctionName;
  readonly summary: string;
  /** The schema (core/api-types.ts) of a 200 answer's body; text answers name their media type. */
  readonly response: string;
  /** The schema of the request body, for routes that take one. */
  readonly body?: string;
  /** Query parameters: name → what it means. */
  readonly query?: Readonly<Record<string, string>>;
}

/** A route, named by its OpenAPI operation id. */
type Routes = Record<string, RouteDeclaration>;

const modelRoutes = (prefix: string, where: string) =>
  ({
    [`modelStatus${where}`]: {
      method: 'GET',
      path: prefix,
      auth: 'apiKey',
      function: 'predict',
      summary: `The status of the model's served versions (TF Serving's model status)${suffix(where)}`,
      response: 'ModelStatusResponse',
    },
    [`modelMetadata${where}`]: {
      method: 'GET',
      path: `${prefix}/metadata`,
      auth: 'apiKey',
      function: 'predict',
      summary: `The model's signature: its inputs and outputs (TF Serving's metadata)${suffix(where)}`,
      response: 'ModelMetadataResponse',
    },
    [`predict${where}`]: {
      method: 'POST',
      path: `${prefix}:predict`,
      auth: 'apiKey',
      function: 'predict',
      summary: `Predictions for instances (row format) or inputs (columnar format)${suffix(where)}`,
      body: 'PredictRequest',
      response: 'PredictResponse',
    },
  }) satisfies Routes;

function suffix(where: string): string {
  if (where === 'Version') return ', of one version';
  if (where === 'Label') return ', of the version an alias names';
  return ', of the version in production';
}

const registry = '/v1/registry';
const registryRead = (path: string, summary: string, response: string, query?: Record<string, string>) =>
  ({
    method: 'GET',
    path: `${registry}${path}`,
    auth: 'apiKey',
    function: 'registry',
    summary,
    response,
    ...(query ? { query } : {}),
  }) as const satisfies RouteDeclaration;
const registryChange = (path: string, summary: string, body: string, response: string) =>
  ({
    method: 'POST',
    path: `${registry}${path}`,
    auth: 'iam',
    function: 'registry',
    summary,
    body,
    response,
  }) as const satisfies RouteDeclaration;
const monitoringRead = (path: string, summary: string, response: string, query?: Record<string, string>) =>
  ({
    method: 'GET',
    path: `/v1/monitoring${path}`,
    auth: 'apiKey',
    function: 'monitoring',
    summary,
    response,
    ...(query ? { query } : {}),
  }) as const satisfies RouteDeclaration;
const page = (path: string, summary: string, response: string) =>
  ({ method: 'GET', path, auth: 'none', function: 'dashboard', summary, response }) as const;

/** Every route of the API, by operation id. */
export const ROUTES = {
  ...modelRoutes('/v1/models/{model}', ''),
  ...modelRoutes('/v1/models/{model}/versions/{version}', 'Version'),
  ...modelRoutes('/v1/models/{model}/labels/{label}', 'Label'),

  listModels: registryRead('/models', 'Every model, with its versions and aliases', 'ModelList'),
  getModel: registryRead('/models/{model}', 'One model: its aliases and versions', 'ModelDetail'),
  listVersions: registryRead('/models/{model}/versions', "A model's versions", 'VersionList'),
  getVersion: registryRead('/models/{model}/versions/{version}', 'One version of a model', 'ModelVersion'),
  getVersionArtifact: registryRead(
    '/models/{model}/versions/{version}/artifacts/{name}',
    "A JSON file of a version's folder: metrics, card, baseline or schema",
    'JsonDocument',
  ),
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

/** The resource (of those given) that serves a path template; undefined when none does. */
export function resourceOf(path: string, resources: readonly ApiResource[]): ApiResource | undefined {
  const parts = path.split('/').slice(1);
  return resources.find((resource) => {
    const base = resource.path;
    if (parts.length < base.length || base.some((part, i) => parts[i] !== part)) return false;
    const rest = parts.slice(base.length).filter((part, i, all) => !(part === '' && i === all.length - 1));
    return rest.length === 0
      ? resource.exact === true || parts.length > base.length
      : resource.proxy !== false;
  });
}

// ---- rules --------------------------------------------------------------------------------------------------

type PatternValue =
  | string
  | number
  | boolean
  | null
  | { readonly prefix: string }
  | { readonly wildcard: string };
/** An EventBridge event pattern, in the forms the platform's rules use. */
export interface EventPattern {
  readonly [field: string]: readonly PatternValue[] | EventPattern;
}

/** The names a rule's pattern is made of, known once the platform's resources are named. */
export interface RuleNames {
  readonly datasetsBucket: string;
  readonly stateMachineArn: string;
  /** The first part of every platform alarm's name. */
  readonly alarmPrefix: string;
}

export interface RuleDeclaration {
  readonly description: string;
  /** An event pattern, or `monitorInterval`: a schedule at the platform's monitoring interval. */
  readonly source:
    | { readonly pattern: (names: RuleNames) => EventPattern }
    | { readonly schedule: 'monitorInterval' };
  /** A function, or the training pipeline (a Step Functions execution with the event as input). */
  readonly target: FunctionName | 'pipeline';
  /** How often EventBridge retries delivering an event. */
  readonly retryAttempts: number;
  /** @default EventBridge's 24 hours */
  readonly maxEventAgeHours?: number;
  /** Events the target could not take after the retries land in a dead-letter queue. @default false */
  readonly deadLetterQueue?: boolean;
}

/** Every event rule and schedule of the platform. */
export const RULES = {
  upload: {
    description: 'A dataset uploaded under datasets/ starts the training pipeline',
    source: { pattern: ({ datasetsBucket }) => uploadEventPattern(datasetsBucket) },
    target: 'pipeline',
    retryAttempts: 185,
    maxEventAgeHours: 24,
  },
  batchUpload: {
    description: 'A CSV uploaded under batch/<model>/ is predicted by the model in production',
    source: { pattern: ({ datasetsBucket }) => batchEventPattern(datasetsBucket) },
    target: 'batchPredict',
    retryAttempts: 2,
    maxEventAgeHours: 6,
    deadLetterQueue: true,
  },
  executionEnded: {
    description: 'Pipeline executions that failed, timed out or were stopped → the run is marked FAILED',
    source: { pattern: ({ stateMachineArn }) => executionEndedEventPattern(stateMachineArn) },
    target: 'executionEnded',
    retryAttempts: 4,
  },
  alarmStateChange: {
    description: 'State changes of the platform alarms → the alarm-state function',
    source: { pattern: ({ alarmPrefix }) => alarmEventPattern(alarmPrefix) },
    target: 'alarmState',
    retryAttempts: 4,
  },
  driftSchedule: {
    description: 'Runs the drift monitor over the predictions captured since its last run',
    source: { schedule: 'monitorInterval' },
    target: 'driftMonitor',
    retryAttempts: 0,
  },
} as const satisfies Record<string, RuleDeclaration>;

export type RuleName = keyof typeof RULES;

/** Every rule with its name. */
export function ruleList(): readonly (RuleDeclaration & { readonly name: RuleName })[] {
  return (Object.keys(RULES) as RuleName[]).map((name) => ({ name, ...(RULES[name] as RuleDeclaration) }));
}
