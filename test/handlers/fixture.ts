/**
 * A handler alone against the emulators: S3 and DynamoDB (local/emulators.ts) on free ports in a fresh data
 * folder, with the buckets and tables of the contract, and the environment pointed at them as local/platform.ts
 * points it (platformEnvironment) — no gateway, no pipeline, no monitoring. A handler reads its configuration
 * when it loads, so `load` imports it (as the platform does, local/handlers.ts) once the environment is set;
 * `invoke` calls it in an invocation context of its own, as the local gateway does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { ENV, type TableRole } from '../../core/contract.ts';
import type { FunctionName } from '../../core/declaration.ts';
import { LOCAL_ADMIN_ARN, proxyEvent } from '../../local/api-gateway.ts';
import { type Emulators, startEmulators } from '../../local/emulators.ts';
import { platformEnvironment } from '../../local/endpoints.ts';
import { loadHandler } from '../../local/handlers.ts';
import { invokeInContext } from '../../local/lambda-runtime.ts';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'NIMBUSHANDLERS', secretAccessKey: 'nimbus-handlers-secret' };
const BUCKETS = { datasetsBucket: 'handlers-datasets', artifactsBucket: 'handlers-artifacts' };
const TABLES: Record<TableRole, string> = {
  datasets: 'handlers-datasets',
  runs: 'handlers-runs',
  models: 'handlers-models',
};

type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** The emulators for one test file: started before its tests, stopped and removed after them. */
export function emulatorFixture() {
  const dataDir = mkdtempSync(join(tmpdir(), 'nimbus-handlers-'));
  const state = {} as { emulators: Emulators };
  before(async () => {
    state.emulators = await startEmulators({
      dataDir,
      s3Port: 0,
      dynamodbPort: 0,
      region: REGION,
      ...CREDENTIALS,
      buckets: Object.values(BUCKETS),
      tables: TABLES,
    });
    Object.assign(process.env, {
      ...platformEnvironment({
        s3: state.emulators.s3Endpoint,
        dynamodb: state.emulators.dynamodbEndpoint,
        region: REGION,
        ...CREDENTIALS,
        ...BUCKETS,
        tables: TABLES,
      }),
      [ENV.logLevel]: process.env[ENV.logLevel] ?? 'WARN',
    });
  });
  after(async () => {
    await state.emulators?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    get emulators() {
      return state.emulators;
    },
    /** A function's handler module, imported now (call it in a test or a `before`, after the emulators start). */
    load: (name: FunctionName) => loadHandler<{ handler: ApiHandler }>(name),
  };
}

/** Calls an API handler with an event in an invocation context of its own; the answer, its body parsed. */
export async function invoke(handler: ApiHandler, event: APIGatewayProxyEvent) {
  const result = await invokeInContext(() => handler(event));
  const type = Object.entries(result.headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type');
  const json =
    /json/.test(String(type?.[1] ?? '')) && result.body ? (JSON.parse(result.body) as unknown) : null;
  return { ...result, json };
}

/**
 * An API Gateway REST proxy event as the local gateway (local/api-gateway.ts) makes one: `admin` adds the IAM
 * principal a signed (or admin-key) request acts as, which registry changes need.
 */
export function apiEvent(
  method: 'GET' | 'POST' | 'PUT',
  pathAndQuery: string,
  init: { body?: unknown; admin?: boolean; resource?: string } = {},
): APIGatewayProxyEvent {
  const url = new URL(pathAndQuery, 'http://127.0.0.1');
  return proxyEvent({
    method,
    url,
    resource: init.resource ?? url.pathname,
    headers: {
      host: '127.0.0.1',
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? null : JSON.stringify(init.body),
    pathParameters: null,
    identity: { sourceIp: '127.0.0.1', ...(init.admin ? { userArn: LOCAL_ADMIN_ARN } : {}) },
    protocol: 'HTTP/1.1',
    requestId: 'handler-test',
  });
}
