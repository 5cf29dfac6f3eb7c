/**
 * The local stand-in for API Gateway: an HTTP server on 127.0.0.1 that routes `/<resource>/{proxy+}` to the
 * same handlers (the most specific resource first), checks each method's authorization as the deployed API
 * does — an API key of the usage plan (local/api-keys.ts: the default key and those the registry created),
 * IAM — a SigV4 signature (service `execute-api`, this region) by the local platform's credentials, as IAM
 * checks one, or the admin key, which stands in for it — or none (the dashboard's static page) — and builds the same
 * REST proxy event, the key's id in its identity. What the deployed API answers by itself is answered here in
 * the same words (core/declaration.ts GATEWAY_ERRORS): `{"error": …}`, a 404 for a path no resource serves, a
 * 405 for a method its resource does not take.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { hasValidSignature } from '../aws/signing.ts';
import { API } from '../core/contract.ts';
import {
  type ApiResource,
  answersPath,
  GATEWAY_ERRORS,
  type HttpMethod,
  type RouteAuth,
} from '../core/declaration.ts';
import { invokeInContext } from './lambda-runtime.ts';
import { listenLocal } from './listen.ts';

/** API Gateway's own payload limit (10 MB). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** Request bodies the gateway holds at once, over all connections (25 bodies at the limit). */
const MAX_IN_FLIGHT_BYTES = 256 * 1024 * 1024;
/** A request, body included, arrives within API Gateway's integration timeout (29 s) or is a 408. */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;
/** Connections held at once; more are closed at once (the process's file descriptors are for its own work too). */
const MAX_CONNECTIONS = 1024;
const STAGE = 'local';

/**
 * One resource of the API (core/declaration.ts: `/<path>` itself and/or `/<path>/{proxy+}`): its handler and
 * each method's authorization.
 */
export interface LocalRoute {
  readonly resource: ApiResource;
  readonly methods: Readonly<Partial<Record<HttpMethod, RouteAuth>>>;
  readonly handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
}

export interface LocalApiOptions {
  readonly port: number;
  /** The API keys of the usage plan (local/api-keys.ts): the one a request carries, when it opens the API. */
  readonly keys: {
    accepted(header: string | string[] | undefined): { id: string; value: string } | undefined;
  };
  /** What the `x-nimbus-admin-key` header must carry for an IAM-authorized method (or a signature, below). */
  readonly adminKey: string;
  /**
   * The credentials whose SigV4 signature (service `execute-api`, `region`) opens an IAM-authorized method, as
   * IAM would (what `nimbus` signs with against a stack, and `nimbus dashboard` here).
   */
  readonly iam: {
    readonly region: string;
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
  };
  readonly routes: readonly LocalRoute[];
}

/** The principal an admin-key or signed request acts as (what IAM would name as the caller). */
export const LOCAL_ADMIN_ARN = 'arn:aws:iam::000000000000:user/local-admin';

export interface LocalApi {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const inFlight = { bytes: 0 };
  const adminKey = digest(options.adminKey);
  // API Gateway's own bounds on a client: a request (its body included) arrives within its 29 s or is a 408
  // (checked every second), and the process holds a bounded number of connections (an idle flood cannot use
  // up its file descriptors, which its own S3 and DynamoDB calls need).
  const server = createServer(
    {
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      handle(req, res, options, adminKey, inFlight).catch(() => {
        if (!res.headersSent) send(res, 500, { error: GATEWAY_ERRORS.internal });
        else res.end();
      });
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  return listenLocal(server, options.port);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: LocalApiOptions,
  adminKey: Buffer,
  inFlight: { bytes: number },
): Promise<void> {
  const url = requestUrl(req.url ?? '/');
  const method = req.method ?? 'GET';
  const route = routes(options).find(({ resource }) => answersPath(resource, url.pathname));
  // The deployed API's catch-all routes: a path no resource serves, or a method its resource does not take.
  if (!route) return send(res, 404, { error: GATEWAY_ERRORS.noRoute(method, url.pathname) });
  const authorization = route.methods[method as HttpMethod];
  if (!authorization) {
    const allowed = Object.keys(route.methods);
    const error = GATEWAY_ERRORS.noMethod(method, url.pathname, allowed);
    return send(res, 405, { error }, { Allow: allowed.join(', ') });
  }
  const prefix = `/${route.resource.path.join('/')}/`;
  const resource = url.pathname.startsWith(prefix) ? `${prefix}{proxy+}` : prefix.slice(0, -1);
  const key = authorization === 'apiKey' ? options.keys.accepted(req.headers[API.apiKeyHeader]) : undefined;
  if (authorization === 'apiKey' && !key) return send(res, 403, { error: GATEWAY_ERRORS.forbidden });
  const byAdminKey = authorization === 'iam' && sameKey(req.headers[API.adminKeyHeader], adminKey);
  if (authorization === 'iam' && !byAdminKey && req.headers.authorization === undefined) {
    // What API Gateway says to an unsigned request on an IAM-authorized method.
    return send(res, 403, { error: GATEWAY_ERRORS.unsigned });
  }

  const tooLong = { error: GATEWAY_ERRORS.tooLarge };
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return send(res, 413, tooLong);
  const read = await readBody(req, inFlight);
  if (read.refused !== undefined) {
    send(res, read.refused, read.refused === 413 ? tooLong : { error: GATEWAY_ERRORS.throttled });
    // As a reader that stops before the end does: the rest of the body is not read.
    req.destroy();
    return;
  }
  const { body } = read;
  // A signature covers the body: it is checked once the body is read (and bounded).
  if (authorization === 'iam' && !byAdminKey && !(await signedByIam(req, body, options.iam))) {
    return send(res, 403, { error: GATEWAY_ERRORS.badSignature });
  }
  const headers: Record<string, string> = {};
  for (const name of Object.keys(req.headers)) {
    const value = req.headers[name];
    headers[name] = Array.isArray(value) ? value.join(',') : (value ?? '');
  }
  const requestId = randomUUID();
  const event = proxyEvent({
    method,
    url,
    resource,
    headers,
    body,
    pathParameters: url.pathname.startsWith(prefix) ? { proxy: url.pathname.slice(prefix.length) } : null,
    identity: {
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      ...(key ? { apiKey: key.value, apiKeyId: key.id } : {}),
      ...(authorization === 'iam' ? { userArn: LOCAL_ADMIN_ARN } : {}),
    },
    protocol: `HTTP/${req.httpVersion}`,
    requestId,
  });
  const result = await invokeInContext(() => route.handler(event), requestId);
  const answered = stringHeaders(result.headers);
  answered['x-amzn-requestid'] = requestId;
  const payload = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  // As API Gateway answers: with the body's length, not chunked (one buffer to write, not three).
  if (
    method !== 'HEAD' &&
    result.statusCode !== 204 &&
    result.statusCode !== 304 &&
    !Object.keys(answered).some((name) => name.toLowerCase() === 'content-length')
  ) {
    answered['content-length'] = String(Buffer.byteLength(payload));
  }
  res.writeHead(result.statusCode, answered);
  res.end(payload);
}

/**
 * The body of a request as text (null when empty), read as it arrives; or the status that refuses it: 413 past
 * API Gateway's payload limit, 429 past the bytes the gateway holds at once over every connection (throttled,
 * as API Gateway throttles). A request that fails or closes before its end rejects.
 */
function readBody(
  req: IncomingMessage,
  inFlight: { bytes: number },
): Promise<{ body: string | null; refused?: undefined } | { refused: 413 | 429 }> {
  // Listeners stay on the request once it is settled, and do nothing then: a request lives one exchange. (No
  // named closures: tsx's keepNames gives each one a defineProperty call per request.)
  const state = { chunks: [] as Buffer[], size: 0, settled: false };
  return new Promise((resolve, reject) => {
    req.on('data', (chunk: Buffer) => {
      if (state.settled) return;
      state.size += chunk.length;
      inFlight.bytes += chunk.length;
      const refused =
        state.size > MAX_BODY_BYTES ? 413 : inFlight.bytes > MAX_IN_FLIGHT_BYTES ? 429 : undefined;
      if (refused === undefined) state.chunks.push(chunk);
      else resolve(settle(state, inFlight, { refused }));
    });
    req.on('end', () => {
      if (!state.settled) resolve(settle(state, inFlight, { body: bodyText(state.chunks) }));
    });
    req.on('error', (error: Error) => {
      if (!state.settled) reject(settle(state, inFlight, error));
    });
    req.on('close', () => {
      if (!state.settled) reject(settle(state, inFlight, new Error('the request closed before its end')));
    });
  });
}

/** Ends a body's read: its bytes no longer count as held. */
function settle<T>(state: { size: number; settled: boolean }, inFlight: { bytes: number }, outcome: T): T {
  state.settled = true;
  inFlight.bytes -= state.size;
  return outcome;
}

function bodyText(chunks: readonly Buffer[]): string | null {
  if (chunks.length === 0) return null;
  return (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8');
}

/**
 * A path with none of what URL parsing changes or reads apart (`.` segments, `%` escapes, a query, a
 * fragment, backslashes, `//` at the start, characters it escapes): its pathname is itself, with no query.
 */
const PLAIN_PATH = /^\/(?!\/)[\w\-~:@!$&'()*+,;=/]*$/;
const NO_QUERY = new URLSearchParams();

/** The request target as URL reads it (a plain path without the cost of parsing it). */
function requestUrl(target: string): Pick<URL, 'pathname' | 'searchParams'> {
  return PLAIN_PATH.test(target)
    ? { pathname: target, searchParams: NO_QUERY }
    : new URL(target, 'http://127.0.0.1');
}

/** What a REST proxy event is made of, as the gateway has it once it has read a request. */
export interface ProxyEventInit {
  readonly method: string;
  /** The request target, read as URL reads it. */
  readonly url: Pick<URL, 'pathname' | 'searchParams'>;
  /** The API resource that matched (`/v1/registry/{proxy+}`). */
  readonly resource: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
  readonly pathParameters: Record<string, string> | null;
  /** Who called: the address, and the API key or IAM principal the method's authorization accepted. */
  readonly identity: {
    readonly sourceIp: string;
    readonly apiKey?: string;
    readonly apiKeyId?: string;
    readonly userArn?: string;
  };
  readonly protocol: string;
  readonly requestId: string;
}

/** The API Gateway REST proxy event of a request (what the gateway hands a handler; tests build it too). */
export function proxyEvent(init: ProxyEventInit): APIGatewayProxyEvent {
  const query = init.url.searchParams.size > 0 ? Object.fromEntries(init.url.searchParams.entries()) : {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const name of Object.keys(init.headers)) multiValueHeaders[name] = [init.headers[name] as string];
  return {
    resource: init.resource,
    path: init.url.pathname,
    httpMethod: init.method,
    headers: init.headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: init.pathParameters,
    stageVariables: null,
    body: init.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: undefined,
      protocol: init.protocol,
      httpMethod: init.method,
      identity: init.identity,
      path: `/${STAGE}${init.url.pathname}`,
      stage: STAGE,
      requestId: init.requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: init.resource,
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
}

const sorted = new WeakMap<LocalApiOptions, readonly LocalRoute[]>();
/** The routes, the most specific resource first: API Gateway matches `/v1/registry/keys` before `/v1/registry/{proxy+}`. */
function routes(options: LocalApiOptions): readonly LocalRoute[] {
  let list = sorted.get(options);
  if (!list) {
    list = [...options.routes].sort((a, b) => b.resource.path.length - a.resource.path.length);
    sorted.set(options, list);
  }
  return list;
}

/**
 * Whether a header carries the key, in time that does not depend on how much of it is right: both sides are
 * hashed to the same length and compared with timingSafeEqual (`keyDigest`: the key's hash, made once).
 */
function sameKey(header: string | string[] | undefined, keyDigest: Buffer): boolean {
  if (typeof header !== 'string') return false;
  return timingSafeEqual(digest(header), keyDigest);
}

/** Whether a request carries a SigV4 signature for `execute-api` in this region by the local credentials. */
function signedByIam(
  req: IncomingMessage,
  body: string | null,
  iam: LocalApiOptions['iam'],
): Promise<boolean> {
  return hasValidSignature(
    { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: body ?? '' },
    iam,
    Date.now(),
    { service: 'execute-api', region: iam.region },
  );
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

function stringHeaders(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const name of Object.keys(headers ?? {})) strings[name] = String(headers?.[name]);
  return strings;
}

/**
 * The gateway's own answer, before (or instead of) reading the request's body: the connection closes after
 * it, so that a client does not send its next request on a socket still holding the rest of this body.
 */
function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', Connection: 'close' });
  res.end(JSON.stringify(body));
}
