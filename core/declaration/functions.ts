/**
 * Every function of the platform: its folder, what starts it, what it may read and write, what its bundle
 * carries, its memory and time (one part of the platform's declaration, core/declaration.ts).
 */
import {
  API,
  type BucketRole,
  ENV,
  SUBSTITUTIONS,
  type SubstitutionKey,
  type TableRole,
} from '../contract.ts';
import { ARTIFACTS, KEYS } from '../keys.ts';

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
  /** tfjs-backend-wasm's .wasm binaries (functions that run a model through tfjs). */
  readonly tfjs?: boolean;
  /**
   * tfjs in a file of its own beside the handler's (aws/tfjs-models.ts), loaded only for a model that is not
   * dense: a function that serves dense models never parses it.
   */
  readonly tfjsApart?: boolean;
  /** sharp, for the function's architecture (image decoding), in a layer of the stack's. */
  readonly images?: boolean;
  /** The web dashboard's built page, in the bundle's `page/` folder. */
  readonly dashboardPage?: boolean;
  /**
   * onnxruntime-node (its CPU build for the function's architecture), in a layer of the stack's: loaded only
   * for an imported ONNX model (aws/onnx-models.ts), so a function serving our own models never loads it.
   */
  readonly onnx?: boolean;
}

/** One resource of the REST API that proxies to a function: `/<path>` itself and/or `/<path>/{proxy+}`. */
export interface ApiResource {
  readonly path: readonly string[];
  /** The resource itself answers (not only what is under it). @default false */
  readonly exact?: boolean;
  /** Everything under the resource (`{proxy+}`) answers. @default true */
  readonly proxy?: boolean;
}

/** The gateway paths a resource answers, as API Gateway names them: `/<path>` and/or `/<path>/{proxy+}`. */
export function gatewayPaths(resource: ApiResource): { readonly exact?: string; readonly proxy?: string } {
  const path = `/${resource.path.join('/')}`;
  return {
    ...(resource.exact ? { exact: path } : {}),
    ...(resource.proxy === false ? {} : { proxy: `${path}/{proxy+}` }),
  };
}

/** Whether a request's path is one the resource answers (itself, or under it). */
export function answersPath(resource: ApiResource, pathname: string): boolean {
  const path = `/${resource.path.join('/')}`;
  return (
    (resource.proxy !== false && pathname.startsWith(`${path}/`)) ||
    (resource.exact === true && pathname === path)
  );
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
  /**
   * Creates and revokes API keys in the API's usage plan (core/api-keys.ts): it is given the REST API's id
   * (`NIMBUS_REST_API_ID`) and API Gateway's key operations.
   */
  readonly apiKeys?: 'manage';
  /**
   * Reads the training jobs' descriptions (SageMaker's DescribeTrainingJob, Batch's DescribeJobs and its
   * queue's compute environment): a run's cost.
   */
  readonly trainingJobs?: 'describe';
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
    // The version holding production, for a warm start.
    tables: { runs: 'readWrite', models: 'read' },
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
    // A stack's meta-model is fitted on its members' validation predictions (functions/search/handler.ts
    // fitMetaModel): dense members in plain JS, a CNN through tfjs kept in a file of its own, loaded only then;
    // the memory is for the validation split and one CNN member at a time.
    memorySize: 2048,
    timeoutSeconds: 300,
    bundle: { tfjs: true, tfjsApart: true },
    buckets: { artifacts: readWrite },
    tables: { runs: 'readWrite' },
    // RecordTrials prices each round's training jobs from their descriptions.
    trainingJobs: 'describe',
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
  importModel: {
    dir: 'import-model',
    summary:
      'Checks, probes and evaluates an ONNX file uploaded under models/<name>/ and writes its model folder',
    trigger: { kind: 'states', states: ['ImportModel'], substitution: SUBSTITUTIONS.importModelFunction },
    // The file (up to 100 MiB) read whole, its session, and an evaluation table of up to 64 MiB.
    memorySize: 2048,
    timeoutSeconds: 900,
    bundle: { onnx: true },
    buckets: {
      datasets: read,
      artifacts: { access: 'readWrite', writeKeys: 'artifacts/*/runs/*/model/*' },
    },
    // The model's versions (the same file imported again starts nothing); its run.
    tables: { models: 'read', runs: 'readWrite' },
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
    summary:
      "Predictions, model status and metadata: TF Serving's REST API and the Open Inference Protocol v2",
    trigger: {
      kind: 'api',
      resources: [{ path: API.modelsResource }, { path: API.v2Resource, exact: true }],
    },
    memorySize: 1024,
    timeoutSeconds: 29,
    bundle: { tfjs: true, tfjsApart: true, images: true, onnx: true },
    buckets: { artifacts: { access: 'readWrite', writeKeys: `${KEYS.capturePrefix}*` } },
    tables: { models: 'read' },
    settings: ['captureRate'],
  },
  registry: {
    dir: 'registry',
    summary: 'The registry API: models, versions, aliases, datasets, runs; changes with IAM',
    // API keys are IAM-authorized to read too (GET), so they are a resource of their own.
    trigger: {
      kind: 'api',
      resources: [{ path: API.registryResource }, { path: API.keysResource, exact: true }],
    },
    apiKeys: 'manage',
    // An ONNX export holds a version's weights (up to 100 MiB) about three times over while it is written.
    memorySize: 1024,
    timeoutSeconds: 29,
    // Version artifacts (metrics, card, baseline, schema) and training progress; dataset versions and their
    // validation reports. It writes one file: a version's ONNX export, kept in its folder.
    buckets: {
      artifacts: { access: 'readWrite', writeKeys: `artifacts/*/runs/*/model/${ARTIFACTS.onnxExport}` },
      datasets: { access: 'read', readKeys: `${KEYS.datasetVersionsPrefix}*` },
    },
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
    bundle: { tfjs: true, onnx: true },
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
