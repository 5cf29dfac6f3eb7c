/**
 * The JSON APIs' router (Powertools event handler) with the answers they share: 200 with the route's value,
 * the platform's errors as 400/404/409 with `{error, field?}`, 404/405 for routes and methods that do not
 * exist, and a 500 that names the request id but never the cause.
 */
import { Router } from '@aws-lambda-powertools/event-handler/http';
import type { RequestContext } from '@aws-lambda-powertools/event-handler/types';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { ConflictError, InvalidRequestError, NotFoundError } from '../core/errors.ts';

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
    handle: (event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> => {
      const bodyless = event.httpMethod === 'GET' || event.httpMethod === 'HEAD';
      const request = bodyless && event.body ? { ...event, body: null, isBase64Encoded: false } : event;
      return router.resolve(request, context ?? ({} as Context)) as Promise<APIGatewayProxyResult>;
    },
    get: (path: `/${string}`, fn: (ctx: Ctx) => Promise<unknown>) =>
      router.get(path, async (ctx) => json(200, await fn(ctx))),
    post: (path: `/${string}`, fn: (ctx: Ctx) => Promise<unknown>) =>
      router.post(path, async (ctx) => json(200, await fn(ctx))),
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
