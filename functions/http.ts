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
