/**
 * The whole platform on one machine: emulators, the upload rule, the pipeline and the API, wired with the
 * contract's names. Handlers and the training container read the same environment variables as in AWS.
 *
 * The SDK clients in aws/ are created once per process, so a platform restarted in the same process must
 * keep its ports (as `npm start` does by default). Importing this module sets up Lambda's invocation
 * contexts (lambda-runtime.ts) when it loads, before anything can call the SDK or log with Powertools.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { type AlarmActions, type AlarmState, DEFAULT_ALARM_SETTINGS } from '../core/alarms.ts';
import { parseTrainingBudget, type TrainingBudget } from '../core/budget.ts';
import {
  API,
  type BucketRole,
  ENV,
  SUBSTITUTIONS,
  type SubstitutionKey,
  type TableRole,
  type TrainingPlatform,
} from '../core/contract.ts';
import {
  FUNCTIONS,
  type FunctionName,
  gatewayResources,
  PIPELINE_FUNCTIONS,
  type PipelineFunction,
  type RuleNames,
  ruleList,
} from '../core/declaration.ts';
import type { ObjectCreatedEvent } from '../core/events.ts';
import { REPO_ROOT } from '../core/repo.ts';
import { startLocalApi } from './api-gateway.ts';
import { LOCAL_API_ID, LocalApiKeys, startApiGatewayControl } from './api-keys.ts';
import { startEmulators } from './emulators.ts';
import { type LocalEndpoints, platformEnvironment } from './endpoints.ts';
import { LocalEventBus, toEventBridgeEvent, toExecutionStatusChangeEvent } from './event-bridge.ts';
import { loadHandler } from './handlers.ts';
import { invokeInContext } from './lambda-runtime.ts';
import { captureEmf, LocalMonitoring } from './monitoring.ts';
import { LocalPipeline } from './pipeline.ts';
import { startStepFunctionsApi } from './step-functions.ts';
import { startTrainingApi } from './training-api.ts';

export const LOCAL_ACCOUNT = '000000000000';

type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** Local resource names. */
const BUCKET_NAMES: Record<BucketRole, string> = {
  datasets: 'nimbus-datasets',
  artifacts: 'nimbus-artifacts',
};
const TABLE_NAMES: Record<TableRole, string> = {
  datasets: 'nimbus-datasets',
  runs: 'nimbus-runs',
  models: 'nimbus-models',
};

/** Fixed default ports, so that the printed `export` lines stay valid across restarts. */
export const DEFAULT_PORTS = {
  s3: 4569,
  dynamodb: 4567,
  api: 3080,
  stepFunctions: 4585,
  apiGateway: 4590,
  training: 4595,
} as const;

export interface LocalPlatformOptions {
  /** Where datasets, registries and the API key live between runs. */
  readonly dataDir: string;
  /** 0 for any free port. @default DEFAULT_PORTS */
  readonly ports?: {
    readonly s3: number;
    readonly dynamodb: number;
    readonly api: number;
    readonly stepFunctions: number;
    /** API Gateway's control plane (the registry's API keys). @default 0 when `ports` is given */
    readonly apiGateway?: number;
    /** SageMaker's and Batch's describe calls (a run's training cost). @default 0 when `ports` is given */
    readonly training?: number;
  };
  /** @default a random key, kept in the data folder */
  readonly apiKey?: string;
  /** The key registry changes need (IAM's stand-in). @default a random key, kept in the data folder */
  readonly adminKey?: string;
  /** Share of predictions written to the data capture. @default 0.1 */
  readonly captureRate?: number;
  /** Which training Task the pipeline takes. @default 'batch' */
  readonly trainingPlatform?: TrainingPlatform;
  /**
   * What one training job may spend: minutes (fractions allowed) and model parameters; a manifest's `budget`
   * may only lower it. @default DEFAULT_TRAINING_BUDGET (60 minutes, 10,000,000 parameters)
   */
  readonly trainingBudget?: Partial<TrainingBudget>;
  readonly region?: string;
  /** Retry waits in the pipeline, in ms. @default 1000 */
  readonly retryIntervalMs?: number;
  /** How often the drift monitor runs (and the drift alarm's period), in seconds. @default 900 */
  readonly monitorIntervalSeconds?: number;
  /** What alarms do besides changing state. @default rolls canaries back */
  readonly alarmActions?: AlarmActions;
  /** Longest time a captured prediction waits before it is written, in ms. @default 10000 */
  readonly captureFlushMs?: number;
  /**
   * How old a capture object must be before the drift monitor reads it, in ms. @default 0 here, so tests
   * and demos see drift at once (concurrent writes finishing out of order may then lose a few samples to the
   * monitor); 30000 in AWS (ENV.captureSettleMs)
   */
  readonly captureSettleMs?: number;
}

/** What `.nimbus/endpoints.json` holds: everything a client needs to reach the platform. */
export interface LocalPlatform {
  readonly endpoints: LocalEndpoints;
  readonly pipeline: LocalPipeline;
  /** The local CloudWatch: metrics from the handlers' EMF lines, alarms, the drift monitor's schedule. */
  readonly monitoring: LocalMonitoring;
  /** Writes the predictions the data capture holds now (as its flush interval would). */
  flushCapture(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const region = options.region ?? 'us-east-1';
  const ports = options.ports ?? DEFAULT_PORTS;
  const trainingBudget = parseTrainingBudget(options.trainingBudget);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const credentials = { accessKeyId: 'NIMBUSLOCAL', secretAccessKey: 'nimbus-local-secret' };
  const apiKey = options.apiKey ?? persistentKey(dataDir, 'api-key');
  const adminKey = options.adminKey ?? persistentKey(dataDir, 'admin-key');

  const emulators = await startEmulators({
    dataDir,
    s3Port: ports.s3,
    dynamodbPort: ports.dynamodb,
    region,
    ...credentials,
    buckets: Object.values(BUCKET_NAMES),
    tables: TABLE_NAMES,
  });

  // The substrate's one difference: where the SDK sends its requests.
  Object.assign(process.env, {
    ...platformEnvironment({
      s3: emulators.s3Endpoint,
      dynamodb: emulators.dynamodbEndpoint,
      region,
      ...credentials,
      datasetsBucket: BUCKET_NAMES.datasets,
      artifactsBucket: BUCKET_NAMES.artifacts,
      tables: TABLE_NAMES,
    }),
    [ENV.logLevel]: process.env[ENV.logLevel] ?? 'WARN',
    [ENV.captureRate]: String(options.captureRate ?? 0.1),
    ...(options.captureFlushMs === undefined ? {} : { [ENV.captureFlushMs]: String(options.captureFlushMs) }),
    [ENV.captureSettleMs]: String(options.captureSettleMs ?? 0),
    ...(options.alarmActions ? { [ENV.alarmActions]: JSON.stringify(options.alarmActions) } : {}),
    [ENV.trainingBudget]: JSON.stringify(trainingBudget),
  });

  const stateMachineArn = `arn:aws:states:${region}:${LOCAL_ACCOUNT}:stateMachine:nimbus-training-pipeline`;
  const pipeline = new LocalPipeline({
    repoRoot: REPO_ROOT,
    substitutions: localSubstitutions(region, options.trainingPlatform ?? 'batch'),
    stateMachineArn,
    ...(options.retryIntervalMs === undefined ? {} : { retryIntervalMs: options.retryIntervalMs }),
  });

  // A function invoked as a rule's target: here, the same handler in-process, tracked so that stopping waits
  // for it.
  const invocations = new Set<Promise<unknown>>();
  const invoke = (name: FunctionName, event: unknown): Promise<unknown> => {
    const done = loadHandler(name)
      .then((fn) => invokeInContext(() => fn.handler(event as never)))
      .finally(() => invocations.delete(done));
    invocations.add(done);
    return done;
  };
  const monitorIntervalSeconds =
    options.monitorIntervalSeconds || DEFAULT_ALARM_SETTINGS.monitorIntervalSeconds;
  const names: RuleNames = {
    datasetsBucket: BUCKET_NAMES.datasets,
    stateMachineArn,
    alarmPrefix: DEFAULT_ALARM_SETTINGS.prefix,
  };
  // The declared rules: patterns on the local bus, schedules on the monitoring's timer.
  const bus = new LocalEventBus(
    ruleList().flatMap((rule) =>
      'pattern' in rule.source
        ? [
            {
              name: rule.name,
              pattern: rule.source.pattern(names),
              deliver: (event: unknown) =>
                rule.target === 'pipeline'
                  ? Promise.resolve(pipeline.start(event as ObjectCreatedEvent))
                  : invoke(rule.target, event),
            },
          ]
        : [],
    ),
  );
  const scheduled = ruleList().filter((rule) => 'schedule' in rule.source);
  const publish = (event: unknown, what: string) =>
    void bus.publish(event).catch((error: unknown) => console.error(`${what} failed:`, error));

  pipeline.on('finished', (outcome) =>
    publish(
      toExecutionStatusChangeEvent(outcome, stateMachineArn, LOCAL_ACCOUNT, region),
      `recording the end of run ${outcome.runId}`,
    ),
  );
  const unsubscribe = emulators.onObjectEvent((record) => {
    const event = toEventBridgeEvent(record, LOCAL_ACCOUNT, region);
    if (event) publish(event, `the upload of ${event.detail.object.key}`);
  });

  let api: Awaited<ReturnType<typeof startLocalApi>>;
  let stepFunctions: Awaited<ReturnType<typeof startStepFunctionsApi>>;
  let apiGateway: Awaited<ReturnType<typeof startApiGatewayControl>>;
  let trainingApi: Awaited<ReturnType<typeof startTrainingApi>>;
  let predict: { handler: ApiHandler; flushCapture: () => Promise<void> };
  let monitoring: LocalMonitoring;
  let releaseStdout = () => {};
  try {
    await endOrphanedRuns();
    const { listAlarmStates } = await import('../aws/alarms.ts');
    const recorded = await listAlarmStates();
    monitoring = new LocalMonitoring({
      settings: { ...DEFAULT_ALARM_SETTINGS, prefix: names.alarmPrefix, monitorIntervalSeconds },
      initialStates: new Map<string, AlarmState>(recorded.map((a) => [a.name, a.state])),
      onStateChange: (event) => bus.publish(event),
      runDriftMonitor: () =>
        Promise.all(scheduled.map((rule) => invoke(rule.target as FunctionName, scheduledEvent(region)))),
      region,
      account: LOCAL_ACCOUNT,
    });
    releaseStdout = captureEmf(monitoring.metrics);
    const metrics = monitoring.metrics;
    pipeline.on('metrics', (line) => metrics.ingestLine(line));
    stepFunctions = await startStepFunctionsApi(pipeline.taskTokens, ports.stepFunctions, credentials);
    process.env.AWS_ENDPOINT_URL_SFN = stepFunctions.url;
    const keys = new LocalApiKeys(join(dataDir, 'api-keys.json'), apiKey);
    apiGateway = await startApiGatewayControl(keys, ports.apiGateway ?? 0, credentials);
    process.env.AWS_ENDPOINT_URL_API_GATEWAY = apiGateway.url;
    trainingApi = await startTrainingApi(pipeline.trainingLedger, ports.training ?? 0, {
      credentials,
      account: LOCAL_ACCOUNT,
      region,
    });
    process.env.AWS_ENDPOINT_URL_SAGEMAKER = trainingApi.url;
    process.env.AWS_ENDPOINT_URL_BATCH = trainingApi.url;
    process.env[ENV.restApiId] = LOCAL_API_ID;
    process.env[ENV.stateMachineArn] = stateMachineArn;
    predict = await loadHandler<typeof predict>('predict');
    const routes = [];
    for (const { function: name, resource, methods } of gatewayResources()) {
      const { handler } = await loadHandler<{ handler: ApiHandler }>(name);
      routes.push({ resource, methods, handler });
    }
    api = await startLocalApi({ port: ports.api, keys, adminKey, iam: { region, ...credentials }, routes });
    monitoring.start();
  } catch (error) {
    releaseStdout();
    unsubscribe();
    await emulators.stop();
    throw error;
  }

  const endpoints: LocalEndpoints = {
    s3: emulators.s3Endpoint,
    dynamodb: emulators.dynamodbEndpoint,
    api: api.url,
    stepFunctions: stepFunctions.url,
    apiGateway: apiGateway.url,
    training: trainingApi.url,
    region,
    ...credentials,
    apiKey,
    adminKey,
    datasetsBucket: BUCKET_NAMES.datasets,
    artifactsBucket: BUCKET_NAMES.artifacts,
    tables: TABLE_NAMES,
    stateMachineArn,
    dashboard: `${api.url}/${API.dashboardResource.join('/')}/`,
  };
  return {
    endpoints,
    pipeline,
    monitoring,
    flushCapture: () => predict.flushCapture(),
    async stop() {
      unsubscribe();
      await api.stop();
      await monitoring.stop();
      pipeline.taskTokens.abandon('the local platform stopped');
      await pipeline.idle();
      await Promise.allSettled([...invocations]);
      await stepFunctions.stop();
      await apiGateway.stop();
      await trainingApi.stop();
      await predict.flushCapture();
      releaseStdout();
      await emulators.stop();
    },
  };
}

/**
 * Runs left RUNNING by a platform that was killed (no execution survives its process): FAILED, with why, as
 * execution-ended records an execution that ends without the pipeline's say in AWS — and so are runs it killed
 * before they opened their record (a dataset version names them, no record exists), which would otherwise hold
 * their bytes as "starting" for ever. A record this cannot handle (written by another version, or broken) is
 * logged and left: start-up never fails on a record's shape.
 */
async function endOrphanedRuns(): Promise<void> {
  const { endUnfinishedRun, getRun, listRuns } = await import('../aws/runs.ts');
  const { scanDatasetVersions } = await import('../aws/dataset-versions.ts');
  const { runsOfVersion } = await import('../core/dataset.ts');
  const now = new Date().toISOString();
  const end = async (runId: string, fields: Parameters<typeof endUnfinishedRun>[1]) => {
    try {
      await endUnfinishedRun(runId, fields);
    } catch (error) {
      console.warn(
        `nimbus: could not end run ${JSON.stringify(runId)} left unfinished: ${(error as Error).message}`,
      );
    }
  };
  for (const run of await listRuns()) {
    if (run.status !== 'RUNNING') continue;
    await end(run.runId, {
      reason: `the local platform stopped while the run was in ${run.step ?? 'its first step'}`,
      dataset: run.dataset,
      datasetKey: run.datasetKey,
      startedAt: run.startedAt,
      finishedAt: now,
    });
  }
  for (const version of await scanDatasetVersions()) {
    for (const runId of runsOfVersion(version)) {
      if (!runId || (await getRun(runId))) continue;
      await end(runId, {
        reason: 'the local platform stopped before the run opened its record (in RegisterDataset)',
        dataset: version.name,
        datasetKey: version.key,
        startedAt: version.createdAt,
        finishedAt: now,
      });
    }
  }
}

/** The event EventBridge Scheduler sends a scheduled rule's target. */
function scheduledEvent(region: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [],
    detail: {},
  };
}

function localSubstitutions(region: string, platform: TrainingPlatform): Record<SubstitutionKey, string> {
  const arn = (service: string, resource: string) =>
    `arn:aws:${service}:${region}:${LOCAL_ACCOUNT}:${resource}`;
  const functions = Object.fromEntries(
    PIPELINE_FUNCTIONS.map((name) => [
      FUNCTIONS[name].trigger.substitution,
      arn('lambda', `function:nimbus-${FUNCTIONS[name].dir}`),
    ]),
  );
  return {
    ...(functions as Record<(typeof FUNCTIONS)[PipelineFunction]['trigger']['substitution'], string>),
    [SUBSTITUTIONS.trainingPlatform]: platform,
    [SUBSTITUTIONS.batchJobQueue]: arn('batch', 'job-queue/nimbus-training'),
    [SUBSTITUTIONS.batchJobDefinition]: arn('batch', 'job-definition/nimbus-training:1'),
    [SUBSTITUTIONS.sageMakerRole]: `arn:aws:iam::${LOCAL_ACCOUNT}:role/nimbus-sagemaker`,
    [SUBSTITUTIONS.sageMakerImage]: 'nimbus-training:local',
    [SUBSTITUTIONS.sageMakerInstanceType]: 'local',
    [SUBSTITUTIONS.artifactsBucket]: BUCKET_NAMES.artifacts,
  };
}

function persistentKey(dataDir: string, name: 'api-key' | 'admin-key'): string {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(24).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
