/**
 * `nimbus dashboard`: the web dashboard of a target (the local platform or a deployed stack) on
 * http://127.0.0.1:<port>, through a proxy that gives it the caller's rights. A browser cannot sign requests
 * with AWS credentials, and the deployed API takes registry changes only with IAM: the proxy forwards the
 * page's reads with the target's API key, and its changes (approve, promote, stop…) signed with the CLI's AWS
 * credentials (SigV4) — or, locally, with the admin key that stands in for IAM. The deployed API stays as it
 * is: nothing new is exposed.
 *
 * The proxy answers only:
 * - requests for 127.0.0.1/localhost at its own port (a DNS-rebound name is refused);
 * - paths and methods of the API's declared routes (core/declaration/routes.ts), else 404;
 * - for an API route, requests carrying the session's token (random, printed once in the page's link, which
 *   keeps it as its key): another page in the browser cannot read it, and a cross-origin request with the
 *   header needs a CORS preflight the proxy never grants. Whatever authorization the browser sent is dropped.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { API } from '../core/contract.ts';
import { ROUTES, type RouteDeclaration } from '../core/declaration/routes.ts';
import { listenOn, readBody } from '../local/listen.ts';
import { signRequest } from './api.ts';
import { apiKeyOf, type Target } from './target.ts';

/** The dashboard's changes are small JSON bodies; predict bodies are not the dashboard's. */
const MAX_BODY_BYTES = 64 * 1024;
/** API Gateway gives up on an integration after 29 s. */
const UPSTREAM_TIMEOUT_MS = 30_000;
/** What an answer keeps of the upstream's headers (the page's CSP among them). */
const KEPT_HEADERS = [
  'content-type',
  'cache-control',
  'content-security-policy',
  'x-content-type-options',
  'referrer-policy',
  'x-frame-options',
  'strict-transport-security',
];

interface CompiledRoute {
  readonly method: string;
  readonly pattern: RegExp;
  readonly auth: RouteDeclaration['auth'];
}

/** Every declared route as a method and a path pattern (a `{param}` is one segment). */
const COMPILED: readonly CompiledRoute[] = Object.values(ROUTES as Record<string, RouteDeclaration>).map(
  (route) => ({
    method: route.method,
    auth: route.auth,
    pattern: new RegExp(
      `^${route.path
        .split(/(\{[A-Za-z]+\})/)
        .map((part) => (/^\{[A-Za-z]+\}$/.test(part) ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('')}$`,
    ),
  }),
);

/** The declared route a request is for, if any. */
export function routeOf(method: string, pathname: string): CompiledRoute | undefined {
  return COMPILED.find((route) => route.method === method && route.pattern.test(pathname));
}

export interface DashboardProxy {
  /** The page's link, with the session's token (the page keeps it as its key, and takes it out of the bar). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export async function startDashboardProxy(
  target: Target,
  options: { readonly port: number; readonly token?: string },
): Promise<DashboardProxy> {
  const token = options.token ?? randomBytes(24).toString('base64url');
  const apiKey = await apiKeyOf(target);
  let port = options.port;
  const hosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const serve = async (req: IncomingMessage, res: ServerResponse) => {
    const refuse = (status: number, error: string) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ error }));
    };
    if (!hosts().has(req.headers.host ?? '')) return refuse(403, 'this proxy answers only for 127.0.0.1');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const method = req.method ?? 'GET';
    const route = routeOf(method, url.pathname);
    if (!route) return refuse(404, `no route for ${method} ${url.pathname}`);
    const headers: Record<string, string> = {};
    if (route.auth !== 'none') {
      // The page sends the session's token as its API key, and (for a change) as its admin key.
      const sent = route.auth === 'iam' ? req.headers[API.adminKeyHeader] : req.headers[API.apiKeyHeader];
      if (!sameToken(sent, token)) return refuse(403, 'the dashboard session token is missing or wrong');
    }
    const body = method === 'POST' ? await readBody(req, MAX_BODY_BYTES) : undefined;
    if (method === 'POST' && body === undefined) {
      res.setHeader('connection', 'close');
      return refuse(413, `the request is larger than ${MAX_BODY_BYTES / 1024} KB`);
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const upstream = `${target.api}${url.pathname}${url.search}`;
    if (route.auth === 'apiKey') headers[API.apiKeyHeader] = apiKey;
    if (route.auth === 'iam') {
      if (target.kind === 'local') {
        if (!target.adminKey) return refuse(403, `${target.source} has no admin key`);
        headers[API.adminKeyHeader] = target.adminKey;
      } else {
        Object.assign(
          headers,
          await signRequest({ url: upstream, method, headers, ...(body ? { body } : {}) }, target.region),
        );
      }
    }
    let answer: Response;
    try {
      answer = await fetch(upstream, {
        method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    } catch (error) {
      return refuse(502, `the platform at ${target.api} did not answer (${(error as Error).message})`);
    }
    const kept: Record<string, string> = {};
    for (const name of KEPT_HEADERS) {
      const value = answer.headers.get(name);
      if (value) kept[name] = value;
    }
    const location = answer.headers.get('location');
    if (location)
      kept.location = location.startsWith(target.api) ? location.slice(target.api.length) || '/' : location;
    res.writeHead(answer.status, kept);
    res.end(Buffer.from(await answer.arrayBuffer()));
  };

  const server: Server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.end();
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (error as Error).message }));
    });
  });
  await listenOn(server, port);
  port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/${API.dashboardResource.join('/')}/#key=${token}&admin=${token}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sameToken(sent: string | string[] | undefined, token: string): boolean {
  const value = Array.isArray(sent) ? sent[0] : sent;
  if (typeof value !== 'string') return false;
  const a = Buffer.from(value);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
