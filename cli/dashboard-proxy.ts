/**
 * `nimbus dashboard`'s server: the web dashboard and its APIs on 127.0.0.1, proxied to a platform with the
 * CLI's credentials, so that the page's actions (approve, promote, stop a run…) work against a deployed stack,
 * whose registry changes only IAM may make and a browser cannot sign.
 *
 * What it forwards, and how:
 * - Only the API's declared routes (ROUTES in core/declaration/routes.ts), by method and path template;
 *   anything else is a 404 (a method a path lacks, a 405), answered here and never sent on.
 * - A route with the API key gets the target's key; an IAM route is signed with SigV4 (service `execute-api`,
 *   the target's region) by the CLI's AWS credentials — a stack's default credential chain, or the local
 *   platform's credentials, which its gateway checks as IAM would; the page's own files go as they came.
 * - The browser's credentials are never forwarded: only `accept`, `content-type` and `if-none-match` are.
 *
 * Who may use it: the page of this session and no one else. Every API request carries the session's random
 * token, which the page holds as its "API key" (the URL printed, `…/dashboard/#key=<token>&admin=<token>`,
 * gives it), in `x-api-key` or `x-nimbus-admin-key` — a header, not a cookie, so another site cannot make a
 * browser send it (a cross-origin request with such a header needs a CORS preflight, which this server never
 * grants). The Host must be this server's (no DNS rebinding), and an Origin or Sec-Fetch-Site, when sent, this
 * origin's. Bodies are bounded as the API bounds them: a registry change's at 64 KiB, any other at API
 * Gateway's 10 MB.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API } from '../core/contract.ts';
import { type HttpMethod, ROUTES, type RouteAuth, type RouteDeclaration } from '../core/declaration.ts';
import { listenOn, readBody } from '../local/listen.ts';
import type { SignedRequest } from './api.ts';

/** API Gateway's payload limit: the largest body any route takes (a predict request). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** A registry change is a few fields and a reason (functions/registry/api.ts reads it within such bounds). */
const MAX_CHANGE_BODY_BYTES = 64 * 1024;
/** API Gateway gives up on an integration after 29 s. */
const UPSTREAM_TIMEOUT_MS = 30_000;
/** The request headers a browser's request keeps on its way: never a credential. */
const FORWARDED_HEADERS = ['accept', 'content-type', 'if-none-match'] as const;
/** Answer headers that belong to one connection, or that the buffered body no longer matches. */
const DROPPED_ANSWER_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-encoding',
  'content-length',
  'set-cookie',
]);

export interface DashboardProxyOptions {
  /** The API's base URL, without a trailing slash (the stage's, for a stack). */
  readonly api: string;
  /** 127.0.0.1's port to listen on (0: any free one). */
  readonly port: number;
  /** The API key that the API-key routes are sent with. */
  readonly apiKey: () => Promise<string>;
  /** Signs a request to an IAM route: the headers to send it with (Authorization, X-Amz-Date…). */
  readonly sign: (request: SignedRequest) => Promise<Record<string, string>>;
  /** The session token; default: 32 random bytes. */
  readonly token?: string;
}

export interface DashboardProxy {
  /** This server's origin, `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The session token the page sends. */
  readonly token: string;
  /** The page's address, with the token in its fragment (never sent to a server, kept out of logs). */
  readonly dashboardUrl: string;
  stop(): Promise<void>;
}

export async function startDashboardProxy(options: DashboardProxyOptions): Promise<DashboardProxy> {
  const token = options.token ?? randomBytes(32).toString('base64url');
  const state = { port: options.port };
  const server = createServer({ requestTimeout: UPSTREAM_TIMEOUT_MS * 2 }, (req, res) => {
    serve(req, res, options, token, state.port).catch((error: unknown) => {
      answer(res, 502, { error: `the proxy failed: ${(error as Error).message}` });
    });
  });
  await listenOn(server, options.port);
  state.port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${state.port}`;
  const page = `/${API.dashboardResource.join('/')}/`;
  return {
    url,
    token,
    dashboardUrl: `${url}${page}#key=${token}&admin=${token}`,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  options: DashboardProxyOptions,
  token: string,
  port: number,
): Promise<void> {
  const refusal = foreignRequest(req, port);
  if (refusal) return answer(res, 403, { error: refusal });
  const target = req.url ?? '/';
  const { path, search } = splitTarget(target);
  const method = req.method ?? 'GET';
  const match = path === undefined ? { methods: [] } : matchRoute(method, path);
  if (!match.route) {
    if (match.methods.length === 0)
      return answer(res, 404, { error: `no route for ${method} ${path ?? target}` });
    return answer(
      res,
      405,
      { error: `no route for ${method} ${path}: it takes ${match.methods.join(', ')}` },
      { Allow: match.methods.join(', ') },
    );
  }
  const auth: RouteAuth = match.route.auth;
  if (auth !== 'none' && !carriesToken(req, token)) {
    return answer(res, 403, {
      error: 'this proxy answers its own dashboard page only: open the address `nimbus dashboard` printed',
    });
  }
  const limit = auth === 'iam' ? MAX_CHANGE_BODY_BYTES : MAX_BODY_BYTES;
  const body = method === 'GET' ? '' : await readBody(req, limit);
  if (body === undefined) {
    return answer(res, 413, { error: `the request body is larger than ${limit / 1024} KiB` });
  }
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const url = `${options.api}${path}${search}`;
  if (auth === 'apiKey') headers[API.apiKeyHeader] = await options.apiKey();
  if (auth === 'iam') {
    Object.assign(headers, await options.sign({ url, method, headers: { ...headers }, body }));
  }
  let upstream: Response;
  try {
    upstream = await fetch(url, {
      method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      ...(method === 'GET' ? {} : { body }),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return answer(res, 502, { error: `cannot reach the platform at ${options.api} (${cause})` });
  }
  const payload = Buffer.from(await upstream.arrayBuffer());
  const answered: Record<string, string> = {};
  upstream.headers.forEach((value, name) => {
    if (!DROPPED_ANSWER_HEADERS.has(name) && !name.startsWith('access-control-')) answered[name] = value;
  });
  answered['content-length'] = String(payload.length);
  res.writeHead(upstream.status, answered);
  res.end(payload);
}

/**
 * Why a request is not this session's page's, or undefined: a Host that is not this server (a DNS-rebound
 * name), or an Origin or Sec-Fetch-Site of another site.
 */
function foreignRequest(req: IncomingMessage, port: number): string | undefined {
  const origins = [`127.0.0.1:${port}`, `localhost:${port}`];
  if (!origins.includes(req.headers.host ?? '')) {
    return `this proxy answers http://127.0.0.1:${port} only, not ${req.headers.host ?? 'a request without Host'}`;
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !origins.some((o) => origin === `http://${o}`)) {
    return `a request from ${origin} is refused: this proxy answers its own page only`;
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return `a ${site} request is refused: this proxy answers its own page only`;
  }
  return undefined;
}

/** Whether the request carries the session token (in either header the page sends its keys in). */
function carriesToken(req: IncomingMessage, token: string): boolean {
  const expected = Buffer.from(token);
  const given = [req.headers[API.apiKeyHeader], req.headers[API.adminKeyHeader]].filter(
    (value) => value !== undefined,
  );
  return (
    given.length > 0 &&
    given.every((value) => {
      const got = Buffer.from(typeof value === 'string' ? value : '');
      return got.length === expected.length && timingSafeEqual(got, expected);
    })
  );
}

/**
 * A request target's path and query (`?…`, or ''), or no path for one that is not a plain path: a `.` or `..`
 * segment, an escaped `/`, `\` or `.`, `//`, a backslash, or an absolute URL. Routes are matched on the path as
 * sent, and it is sent on as it came.
 */
function splitTarget(target: string): { path?: string; search: string } {
  const at = target.indexOf('?');
  const path = at === -1 ? target : target.slice(0, at);
  const search = at === -1 ? '' : target.slice(at);
  const plain =
    /^(\/[\w\-~:@!$&'()*+,;=%.]*)+$/.test(path) &&
    !/%(2f|5c|2e)/i.test(path) &&
    !path.split('/').some((segment) => segment === '.' || segment === '..') &&
    !path.includes('//') &&
    /^[\w\-~:@!$&'()*+,;=%./?]*$/.test(search);
  return plain ? { path, search } : { search };
}

interface CompiledRoute {
  readonly route: RouteDeclaration;
  readonly pattern: RegExp;
}

/** Each route's path template as a pattern: a `{parameter}` is one path segment. */
const COMPILED: readonly CompiledRoute[] = Object.values(ROUTES as Record<string, RouteDeclaration>).map(
  (route) => ({
    route,
    pattern: new RegExp(
      `^${route.path
        .split(/(\{[^}]+\})/)
        .map((part) => (/^\{[^}]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
        .join('')}$`,
    ),
  }),
);

/** The route of a method and path, or the methods the path takes (none: no route has the path). */
export function matchRoute(
  method: string,
  path: string,
): { route?: RouteDeclaration; methods: readonly HttpMethod[] } {
  const matching = COMPILED.filter(({ pattern }) => pattern.test(path));
  // A path may match a template with a parameter and a more specific one (`{model}` and `{model}:predict`):
  // the template with the fewest parameters is the route, as API Gateway picks the most specific resource.
  const route = matching
    .filter(({ route }) => route.method === method)
    .sort((a, b) => parameters(a.route.path) - parameters(b.route.path))[0]?.route;
  return { ...(route ? { route } : {}), methods: [...new Set(matching.map(({ route }) => route.method))] };
}

const parameters = (path: string): number => path.split('{').length - 1;

function answer(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  // The proxy's own answer may come before the body is read: the connection closes after it, so that a client
  // does not send its next request on a socket still holding the rest of this body.
  res.writeHead(status, { ...headers, 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify(body));
}
