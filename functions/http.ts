/**
 * The JSON APIs' router (Powertools event handler) with the answers they share: 200 with the route's value,
 * the platform's errors as 400/404/409 with `{error, field?}`, 404/405 for routes and methods that do not
 * exist, and a 500 that names the request id but never the cause.
 */
import { Router } from '@aws-lambda-powertools/event-handler/http';
import type { HttpMethod, RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { type KeyScope, outOfScope, scopeAllows } from '../core/api-keys.ts';
import {
  FUNCTIONS,
  type FunctionName,
  type FunctionTrigger,
  type ResponseOf,
  ROUTES,
  type RouteDeclaration,
  type RouteName,
  routesOf,
} from '../core/declaration.ts';
import {
  ConflictError,
  ForbiddenError,
  InvalidRequestError,
  NotFoundError,
  UnsupportedMediaTypeError,
} from '../core/errors.ts';

export type Ctx = RequestContext;
type ErrorClass = new (...args: never[]) => Error;

export function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/json' } });
}

const problem = (status: number, error: Error & { field?: string }) =>
  json(status, { error: error.message, ...(error.field ? { field: error.field } : {}) });

/**
 * A router under `/<resource>` whose `get`/`post` routes answer the value their function returns. `errors`
 * maps more error classes to statuses (checked before the shared ones).
 */
export function jsonApi(
  resource: readonly string[],
  logger: Logger,
  errors: readonly (readonly [ErrorClass, number])[] = [],
) {
  const router = new Router({ prefix: `/${resource.join('/')}` });
  const name = resource.at(-1) ?? 'api';
  for (const [type, status] of [
    ...errors,
    [InvalidRequestError, 400],
    [ForbiddenError, 403],
    [NotFoundError, 404],
    [ConflictError, 409],
  ] as const) {
    router.errorHandler(type, async (error) => problem(status, error));
  }
  router.notFound(async (_error, ctx) =>
    problem(404, new Error(`no ${name} route for ${ctx.req.method} ${new URL(ctx.req.url).pathname}`)),
  );
  router.methodNotAllowed(async (_error, ctx) =>
    problem(405, new Error(`${ctx.req.method} is not allowed on ${new URL(ctx.req.url).pathname}`)),
  );
  router.errorHandler(Error, async (error, ctx) => {
    const requestId = (ctx.event as APIGatewayProxyEvent).requestContext?.requestId;
    logger.error(`${name} request failed`, { error, requestId });
    return json(500, { error: 'internal error', requestId });
  });
  return {
    router,
    /**
     * Answers one API Gateway event. A GET or HEAD may carry a body (API Gateway passes it on); it means
     * nothing to these routes and the router's Request refuses one, so it is dropped, as HTTP servers do.
     */
    handle: async (event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> => {
      const bodyless = event.httpMethod === 'GET' || event.httpMethod === 'HEAD';
      const request = bodyless && event.body ? { ...event, body: null, isBase64Encoded: false } : event;
      try {
        return (await router.resolve(request, context ?? ({} as Context))) as APIGatewayProxyResult;
      } catch (error) {
        // The routes' failures are answered inside the router: what escapes it is a request it could not
        // make a Request of (a Host or X-Forwarded-Proto that forms no URL, a header value outside Latin-1).
        logger.warn(`${name} request refused`, { error: error as Error });
        return {
          statusCode: 400,
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            error: 'the request cannot be read: a header (Host, X-Forwarded-Proto…) is not valid',
          }),
        };
      }
    },
    get: (path: `/${string}`, fn: (ctx: Ctx) => Promise<unknown>) =>
      router.get(path, async (ctx) => json(200, await fn(ctx))),
    post: (path: `/${string}`, fn: (ctx: Ctx) => Promise<unknown>) =>
      router.post(path, async (ctx) => json(200, await fn(ctx))),
  };
}

/**
 * The router of a function's declared routes (core/declaration.ts ROUTES), under the function's API resource:
 * `route(name, fn)` answers one of them with what `fn` returns, typed by the declaration (ResponseOf), and
 * `complete()` — called once the handler has registered its routes — fails at load when a declared route has
 * no answer. So a handler answers exactly its declared routes: the gateway, the handler and the OpenAPI
 * document cannot drift apart.
 */
export function declaredApi(
  fn: FunctionName,
  logger: Logger,
  /** The scope of a request's API key (functions/key-scope.ts): needed by a function with API-key routes. */
  keyScope: ((event: APIGatewayProxyEvent) => Promise<KeyScope>) | undefined,
  errors: readonly (readonly [ErrorClass, number])[] = [],
) {
  if (!keyScope && routesOf(fn).some((route) => route.auth === 'apiKey')) {
    throw new Error(`${fn} has API-key routes: it checks their scope (functions/key-scope.ts)`);
  }
  const trigger: FunctionTrigger = FUNCTIONS[fn].trigger;
  const resource = trigger.kind === 'api' ? trigger.resources[0]?.path : undefined;
  if (!resource) throw new Error(`${fn} is not a function of the API`);
  const api = jsonApi(resource, logger, errors);
  const prefix = `/${resource.join('/')}`;
  const registered = new Set<RouteName>();
  return {
    handle: api.handle,
    route<N extends RouteName>(name: N, answer: (ctx: Ctx) => Promise<ResponseOf<N>>): void {
      const route: RouteDeclaration = ROUTES[name];
      if (route.function !== fn) throw new Error(`route ${name} is answered by ${route.function}, not ${fn}`);
      const path = route.path.slice(prefix.length).replace(/\{(\w+)\}/g, ':$1') as `/${string}`;
      const guarded = route.auth === 'apiKey' && keyScope ? scoped(route, keyScope, answer) : answer;
      // A download answers its redirect as the route makes it; any other route, its value as JSON.
      if (route.response === 'download')
        api.router.get(path, async (ctx) => (await guarded(ctx)) as Response);
      else if (route.method === 'GET') api.get(path, guarded);
      else api.post(path, guarded);
      registered.add(name);
    },
    complete(): void {
      const missing = routesOf(fn).filter((route) => !registered.has(route.name));
      if (missing.length > 0) {
        throw new Error(`${fn} answers no ${missing.map((route) => route.name).join(', ')}`);
      }
    },
  };
}

/**
 * An API-key route checked against the key's scope (core/api-keys.ts): a route of one model answers only a
 * key that opens it (a 403 in the same words whether or not the model exists); a route over every model
 * (runs, alarms, datasets) answers only an unscoped key, unless its declaration says it filters its answer by
 * the scope (`keyScope: 'filtered'`).
 */
function scoped<T>(
  route: RouteDeclaration,
  keyScope: (event: APIGatewayProxyEvent) => Promise<KeyScope>,
  answer: (ctx: Ctx) => Promise<T>,
) {
  const ofModel = route.path.includes('{model}');
  return async (ctx: Ctx): Promise<T> => {
    const scope = await keyScope(ctx.event as APIGatewayProxyEvent);
    if (ofModel) {
      const model = ctx.params.model ?? '';
      if (!scopeAllows(scope, model)) throw new ForbiddenError(outOfScope(model));
    } else if (route.keyScope !== 'filtered' && !scope.all) {
      throw new ForbiddenError('this API key opens only the routes of its models');
    }
    return answer(ctx);
  };
}

/** Response header names as answers spell them (the router's Headers hold every name in lower case). */
const HEADER_NAMES = ['Allow', 'Cache-Control', 'Content-Type', 'ETag', 'Location'] as const;

/**
 * A router for text files under `/<resource>` (the web dashboard's page), on jsonApi's answers for what is not
 * a file: a route answers a `Response` of any text type; a method other than GET is a 405 with `Allow: GET`;
 * a failure, a 500 naming the request id. Every answer carries `headers` (say, a Content-Security-Policy).
 *
 * What the router answers is reshaped for an API Gateway REST proxy as a handler would write it: header names
 * spelled as `headers` and HEADER_NAMES spell them, one value per header (the router splits Cache-Control
 * at its commas into `multiValueHeaders`, which the local gateway does not read), and bodies as text
 * (never base64, which the router picks for image/ types, SVG included, and which a REST API without binary
 * media types would send as it is). An event as a test or the Lambda console writes it may leave out the
 * fields API Gateway always sends (null or false there).
 */
export function textFileApi(
  resource: readonly string[],
  logger: Logger,
  headers: Readonly<Record<string, string>>,
) {
  const api = jsonApi(resource, logger);
  const names = new Map([...HEADER_NAMES, ...Object.keys(headers)].map((name) => [name.toLowerCase(), name]));
  api.router.use(async ({ reqCtx, next }) => {
    if (reqCtx.req.method !== 'GET') {
      const { path } = reqCtx.event as APIGatewayProxyEvent;
      const answer = json(405, { error: `${reqCtx.req.method} is not allowed on ${path}` });
      answer.headers.set('Allow', 'GET');
      return answer;
    }
    reqCtx.isBase64Encoded = false;
    // The router's placeholder answer (an empty text/plain) lends its headers to the route's: a bodyless
    // answer (a redirect) has no Content-Type.
    reqCtx.res.headers.delete('content-type');
    await next();
  });
  return {
    router: api.router,
    handle: async (event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> => {
      const result = await api.handle(completeEvent(event), context);
      const answered: Record<string, string> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) {
        answered[names.get(name) ?? name] = String(value);
      }
      for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
        answered[names.get(name) ?? name] = values.map(String).join(', ');
      }
      const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
      return { statusCode: result.statusCode, headers: { ...headers, ...answered }, body };
    },
    get: (path: `/${string}` | RegExp, fn: (ctx: Ctx) => Promise<Response>) => api.router.get(path, fn),
  };
}

/** The event with the fields API Gateway always sends, where it leaves them out. */
function completeEvent(event: APIGatewayProxyEvent): APIGatewayProxyEvent {
  return {
    ...event,
    resource: event.resource ?? event.path,
    headers: event.headers ?? {},
    multiValueHeaders: event.multiValueHeaders ?? {},
    queryStringParameters: event.queryStringParameters ?? null,
    multiValueQueryStringParameters: event.multiValueQueryStringParameters ?? null,
    pathParameters: event.pathParameters ?? null,
    stageVariables: event.stageVariables ?? null,
    body: event.body ?? null,
    isBase64Encoded: event.isBase64Encoded ?? false,
    requestContext: event.requestContext ?? ({} as APIGatewayProxyEvent['requestContext']),
  };
}

// ---- APIs whose routes answer API Gateway results of their own (the predict API) --------------------------

/** A JSON answer as an API Gateway proxy result, with any more headers the route sets. */
export function jsonResult(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/**
 * A request header's value as API Gateway passed it (the last one sent, untrimmed), whatever case the client
 * wrote its name in: `name` is in lower case (HTTP header names, as the registry keeps a sticky header's).
 */
export function eventHeader(event: Pick<APIGatewayProxyEvent, 'headers'>, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name) return value ?? undefined;
  }
  return undefined;
}

/** The request body as text (a base64-encoded one decoded), or what the event has when there is none. */
export function eventBody(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): string | null {
  return event.isBase64Encoded && event.body
    ? Buffer.from(event.body, 'base64').toString('utf8')
    : event.body;
}

/**
 * The 415 a body sent as something other than JSON gets (`application/json` and `+json` types are JSON, as
 * is a request that names no type) — when it turns out not to be JSON: a client that sends JSON under another
 * type (curl's `-d` sends `application/x-www-form-urlencoded`) is read, as TF Serving reads it. Undefined for
 * a JSON type.
 */
export function nonJsonContent(
  event: Pick<APIGatewayProxyEvent, 'headers'>,
): UnsupportedMediaTypeError | undefined {
  const value = eventHeader(event, 'content-type');
  if (value === undefined || value === '') return undefined;
  const type = value.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) return undefined;
  return new UnsupportedMediaTypeError(`send the request as application/json, not ${type}`, 'content-type');
}

/** What a route of `proxyApi` is given: the event as API Gateway gave it, the handler's state, the router's context. */
export interface ProxyRequest<S> {
  readonly event: APIGatewayProxyEvent;
  readonly state: S;
  readonly ctx?: Ctx;
}
export type ProxyRoute<S> = (request: ProxyRequest<S>) => Promise<APIGatewayProxyResult>;

export interface ProxyApiOptions {
  /** The path its routes are under (`['v1', 'models']`). */
  readonly resource: readonly string[];
  readonly logger: Logger;
  /** What an unexpected error is logged as; it is answered 500 `{error: 'internal error', requestId}`. */
  readonly failure: string;
  /** Error classes and their statuses: the first the error is an instance of answers; any other is a 500. */
  readonly errors: readonly (readonly [ErrorClass, number])[];
  /** The body of a mapped error's answer. */
  readonly problem: (error: Error, status: number) => unknown;
  /** The error for a path no route takes (answered as `errors` say). */
  readonly notFound: (event: APIGatewayProxyEvent) => Error;
}

/** The methods the router takes: it answers any other with an empty 405 of its own, before any route. */
export const ROUTER_METHODS: readonly HttpMethod[] = [
  'GET',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'HEAD',
  'OPTIONS',
];
const routerMethods: ReadonlySet<string> = new Set(ROUTER_METHODS);

/**
 * A router (Powertools event handler) for an API whose routes answer proxy results themselves — statuses,
 * headers and error bodies of their own — and read the request from the event as API Gateway gave it. The
 * router is handed only the method and the path (an event without headers, query or body: it builds a web
 * Request of what it is handed, so a GET with a body, a header or a Host it cannot parse never reaches it,
 * and a body is not copied into a Request nobody reads). The route's state (what the handler records of the
 * request, say) travels with the event. Errors answer as `errors` says, through the router or not
 * (`direct`, for a method the router does not take or a route answered without it).
 */
export function proxyApi<S>(options: ProxyApiOptions) {
  const router = new Router({ prefix: `/${options.resource.join('/')}` });
  const requests = new WeakMap<object, ProxyRequest<S>>();
  const { problem } = options;

  const answerError = (error: unknown, event: APIGatewayProxyEvent): APIGatewayProxyResult => {
    for (const [type, status] of options.errors) {
      if (error instanceof type) return jsonResult(status, problem(error, status));
    }
    const requestId = event.requestContext?.requestId;
    options.logger.error(options.failure, { error: error as Error, requestId });
    return jsonResult(500, { error: 'internal error', requestId });
  };
  const original = (ctx: { event: unknown }): ProxyRequest<S> => {
    const request = requests.get(ctx.event as object);
    if (!request) throw new Error('a request the router was not handed by proxyApi');
    return request;
  };
  router.errorHandler(Error, async (error, ctx) => answerError(error, original(ctx).event));
  router.notFound(async (_error, ctx) => {
    const { event } = original(ctx);
    return answerError(options.notFound(event), event);
  });

  const direct = async (request: ProxyRequest<S>, fn: ProxyRoute<S>): Promise<APIGatewayProxyResult> => {
    try {
      return await fn(request);
    } catch (error) {
      return answerError(error, request.event);
    }
  };

  return {
    router,
    /** Routes `methods` on `path` (a RegExp matched after the resource; no named groups: the route parses). */
    route(methods: readonly HttpMethod[], path: RegExp, fn: ProxyRoute<S>): void {
      router.route(async (ctx) => fn({ ...original(ctx), ctx }), { method: [...methods], path });
    },
    /** Answers one event: through the router, or `fallback` directly when the router cannot take it (its method, its path). */
    handle(
      event: APIGatewayProxyEvent,
      state: S,
      fallback: ProxyRoute<S>,
      context?: Context,
    ): Promise<APIGatewayProxyResult> {
      if (!routerMethods.has(event.httpMethod)) return direct({ event, state }, fallback);
      const routed: APIGatewayProxyEvent = {
        resource: event.resource ?? event.path,
        path: event.path,
        httpMethod: event.httpMethod,
        headers: {},
        multiValueHeaders: {},
        queryStringParameters: null,
        multiValueQueryStringParameters: null,
        pathParameters: null,
        stageVariables: null,
        body: null,
        isBase64Encoded: false,
        requestContext: event.requestContext ?? ({} as APIGatewayProxyEvent['requestContext']),
      };
      requests.set(routed, { event, state });
      // The router refuses an event it cannot make a Request of (a path no URL can hold) before any route:
      // `fallback` answers it as it answers any other.
      return (router.resolve(routed, context ?? ({} as Context)) as Promise<APIGatewayProxyResult>).catch(
        () => direct({ event, state }, fallback),
      );
    },
    /** Answers with `fn` directly, with the same error answers as through the router. */
    direct: (event: APIGatewayProxyEvent, state: S, fn: ProxyRoute<S>) => direct({ event, state }, fn),
  };
}
