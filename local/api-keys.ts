/**
 * The local stand-in for API Gateway's API keys and usage plan: the keys the local gateway accepts (the
 * platform's default key, and those the registry creates), kept in `<data-dir>/api-keys.json` (mode 0600, as
 * the default key's file), and the part of API Gateway's control plane the registry calls through the AWS SDK
 * (`AWS_ENDPOINT_URL_API_GATEWAY`): CreateApiKey, GetApiKey, DeleteApiKey, GetUsagePlans and
 * CreateUsagePlanKey, on API Gateway's REST paths, for SigV4 requests signed with the local credentials only.
 * A key opens the API once it is in the usage plan and enabled, as in AWS.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenLocal, readSignedJson } from './listen.ts';

/** The local REST API's id and stage, as the proxy events name them. */
export const LOCAL_API_ID = 'local';
export const LOCAL_STAGE = 'local';
const PLAN_ID = 'local-plan';
const DEFAULT_KEY_ID = 'local-default';
const MAX_BODY_BYTES = 64 * 1024;
/** Keys held at once (API Gateway's default quota is 10,000 per region). */
const MAX_KEYS = 10_000;

export interface LocalKey {
  readonly id: string;
  readonly value: string;
  readonly name: string;
  readonly description?: string;
  readonly enabled: boolean;
  readonly inPlan: boolean;
  readonly createdDate: number;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export class LocalApiKeys {
  private readonly keys = new Map<string, LocalKey>();
  /** By the SHA-256 of the value: a lookup whose time does not depend on how much of a guess is right. */
  private readonly byDigest = new Map<string, { readonly key: LocalKey; readonly digest: Buffer }>();

  constructor(
    private readonly file: string,
    defaultKey: string,
  ) {
    const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalKey[]) : [];
    for (const key of stored) this.remember(key);
    this.remember({
      id: DEFAULT_KEY_ID,
      value: defaultKey,
      name: 'default',
      enabled: true,
      inPlan: true,
      createdDate: 0,
    });
  }

  /** The key a request's header carries, when it opens the API (enabled, in the usage plan). */
  accepted(header: string | string[] | undefined): LocalKey | undefined {
    if (typeof header !== 'string' || header.length === 0 || header.length > 1024) return undefined;
    const hash = digest(header);
    const found = this.byDigest.get(hash.toString('hex'));
    if (!found || !timingSafeEqual(found.digest, hash)) return undefined;
    return found.key.enabled && found.key.inPlan ? found.key : undefined;
  }

  create(name: string, description: string | undefined, enabled: boolean, value?: string): LocalKey {
    if (this.keys.size >= MAX_KEYS)
      throw new ControlError(429, 'LimitExceededException', 'too many API keys');
    const key: LocalKey = {
      id: randomBytes(5).toString('hex'),
      value: value ?? randomBytes(30).toString('base64url'),
      name,
      ...(description === undefined ? {} : { description }),
      enabled,
      inPlan: false,
      createdDate: Math.floor(Date.now() / 1000),
    };
    if (this.byDigest.has(digest(key.value).toString('hex'))) {
      throw new ControlError(409, 'ConflictException', 'an API key with this value exists');
    }
    this.remember(key);
    this.save();
    return key;
  }

  get(id: string): LocalKey {
    const key = this.keys.get(id);
    if (!key) throw new ControlError(404, 'NotFoundException', `Invalid API Key identifier specified`);
    return key;
  }

  addToPlan(planId: string, id: string): LocalKey {
    if (planId !== PLAN_ID)
      throw new ControlError(404, 'NotFoundException', 'Invalid Usage Plan ID specified');
    const key = { ...this.get(id), inPlan: true };
    this.remember(key);
    this.save();
    return key;
  }

  delete(id: string): void {
    const key = this.get(id);
    if (key.id === DEFAULT_KEY_ID) {
      throw new ControlError(400, 'BadRequestException', 'the local platform keeps its default key');
    }
    this.keys.delete(id);
    this.byDigest.delete(digest(key.value).toString('hex'));
    this.save();
  }

  private remember(key: LocalKey): void {
    this.keys.set(key.id, key);
    const hash = digest(key.value);
    this.byDigest.set(hash.toString('hex'), { key, digest: hash });
  }

  private save(): void {
    const created = [...this.keys.values()].filter((key) => key.id !== DEFAULT_KEY_ID);
    writeFileSync(`${this.file}.tmp`, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${this.file}.tmp`, this.file);
  }
}

/** An error as API Gateway's control plane answers it: a status, its type header and `{"message"}`. */
class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const view = (key: LocalKey, includeValue: boolean) => ({
  id: key.id,
  name: key.name,
  ...(key.description === undefined ? {} : { description: key.description }),
  enabled: key.enabled,
  createdDate: key.createdDate,
  lastUpdatedDate: key.createdDate,
  stageKeys: [],
  ...(includeValue ? { value: key.value } : {}),
});

/** API Gateway's control-plane routes the registry uses, on its REST paths. */
function route(
  keys: LocalApiKeys,
  method: string,
  url: URL,
  body: Record<string, unknown>,
): [number, unknown] {
  const path = url.pathname;
  if (method === 'POST' && path === '/apikeys') {
    const name = typeof body.name === 'string' ? body.name : '';
    const description = typeof body.description === 'string' ? body.description : undefined;
    const value = typeof body.value === 'string' ? body.value : undefined;
    return [201, view(keys.create(name, description, body.enabled === true, value), true)];
  }
  const key = /^\/apikeys\/([^/]+)$/.exec(path);
  if (key?.[1] && method === 'GET') {
    return [200, view(keys.get(key[1]), url.searchParams.get('includeValue') === 'true')];
  }
  if (key?.[1] && method === 'DELETE') {
    keys.delete(key[1]);
    return [202, {}];
  }
  if (method === 'GET' && path === '/usageplans') {
    const plan = { id: PLAN_ID, name: 'local', apiStages: [{ apiId: LOCAL_API_ID, stage: LOCAL_STAGE }] };
    return [200, { item: [plan] }];
  }
  const planKeys = /^\/usageplans\/([^/]+)\/keys$/.exec(path);
  if (planKeys?.[1] && method === 'POST') {
    if (body.keyType !== 'API_KEY')
      throw new ControlError(400, 'BadRequestException', 'keyType must be API_KEY');
    const added = keys.addToPlan(planKeys[1], String(body.keyId ?? ''));
    return [201, { id: added.id, type: 'API_KEY', name: added.name }];
  }
  throw new ControlError(404, 'NotFoundException', `no local API Gateway operation for ${method} ${path}`);
}

export interface LocalApiGatewayControl {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startApiGatewayControl(
  keys: LocalApiKeys,
  port: number,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): Promise<LocalApiGatewayControl> {
  const answer = (res: ServerResponse, status: number, body: unknown, type?: string) => {
    if (res.headersSent) return res.end();
    res.writeHead(status, {
      'Content-Type': 'application/json',
      ...(type ? { 'x-amzn-ErrorType': type } : {}),
    });
    res.end(JSON.stringify(body));
  };
  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const request = await readSignedJson(req, res, MAX_BODY_BYTES, credentials);
    if ('refused' in request) {
      const type = request.refused === 403 ? 'UnrecognizedClientException' : 'BadRequestException';
      return answer(res, request.refused, { message: request.message }, type);
    }
    try {
      const [status, result] = route(
        keys,
        req.method ?? 'GET',
        new URL(req.url ?? '/', 'http://127.0.0.1'),
        request.input,
      );
      answer(res, status, result);
    } catch (error) {
      if (!(error instanceof ControlError)) throw error;
      answer(res, error.status, { message: error.message }, error.type);
    }
  };
  const server: Server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) =>
      answer(res, 500, { message: (error as Error).message }, 'InternalFailure'),
    );
  });
  return listenLocal(server, port);
}
