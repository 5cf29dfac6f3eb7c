/**
 * The web dashboard (`/dashboard/`): serves one static page — index.html, styles.css, favicon.svg and app.js,
 * its logic (web/src/app.ts with Chart.js, bundled for the browser). Loading it needs no key; the page asks for
 * the API key once and reads the registry and monitoring APIs on the same origin with it, so this function
 * touches no data.
 *
 * Where the page comes from — one rule, both substrates: the page folder next to this module (`page/`,
 * `import.meta.url`-relative; NimbusFunction's bundles define `import.meta.url` as the bundle's own file)
 * holds the built page, or there is none and the page is built from its sources (web/src/, web/build.ts).
 * - In Lambda, NodejsFunction's `afterBundling` hook (infra/function.ts) runs web/build.ts to write the page
 *   into the bundle's `page/` folder at synth time; the handler reads it (esbuild is not in the bundle).
 * - On one machine, local/platform.ts imports this module from the sources, where there is no `page/`: the
 *   first request builds the page with esbuild (web/build.ts), in memory, once per process.
 *
 * Answers: GET /dashboard → 301 to /dashboard/ (the page's URLs are relative to it); GET /dashboard/ →
 * index.html; GET /dashboard/<file> → that file; anything else 404 (JSON); a method other than GET, 405.
 * Every answer carries a strict Content-Security-Policy (scripts, styles and data from this origin only) and
 * `X-Content-Type-Options: nosniff`. index.html is revalidated on every load (ETag); it names the other files
 * with a `?v=<content hash>`, which may be cached for a year. The routes are the shared router's
 * (functions/http.ts, `textFileApi`), whose JSON answers the 404, 405 and 500 are.
 * It also answers GET /v1/openapi.json: the API described in OpenAPI 3.1 (static too, no key).
 * Input: API Gateway REST proxy event. Output: proxy result.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { API } from '../../core/contract.ts';
import { NotFoundError } from '../../core/errors.ts';
import openApi from '../../docs/openapi.json' with { type: 'json' };
import { APP_BUNDLE, PAGE_FILES, type PageFile } from '../../web/build.ts';
import { type Ctx, jsonApi, textFileApi } from '../http.ts';
import { createLogger } from '../logger.ts';

const logger = createLogger('dashboard');
/** The built page, in the Lambda bundle (see above). */
const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const INDEX = 'index.html';
/** The page's path, with the slash its files' paths continue it with. */
const PREFIX = `/${API.dashboardResource.join('/')}/`;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Same-origin only, no inline script or style, no framing. */
const SECURITY_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
} as const;

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

interface Asset {
  readonly body: string;
  readonly contentType: string;
  /** A prefix of the SHA-256 of the body: the ETag, and the `?v=` that index.html names the file with. */
  readonly hash: string;
}

let assets: Promise<ReadonlyMap<string, Asset>> | undefined;

/** The page's files, read (or built from the sources) once per process. */
export function loadPage(dir: string = PAGE_DIR): Promise<ReadonlyMap<string, Asset>> {
  assets ??= readPage(dir).catch((error: unknown) => {
    assets = undefined; // try again on the next request
    throw error;
  });
  return assets;
}

async function readPage(dir: string): Promise<ReadonlyMap<string, Asset>> {
  const built: ReadonlyMap<PageFile, string> = existsSync(join(dir, APP_BUNDLE))
    ? new Map(
        await Promise.all(
          PAGE_FILES.map(async (name) => [name, await readFile(join(dir, name), 'utf8')] as const),
        ),
      )
    : await (await import('../../web/build.ts')).buildPage();
  const files = new Map<string, Asset>();
  for (const [name, body] of built) if (name !== INDEX) files.set(name, asset(name, body));
  // index.html names each file with its content hash, so a new deployment is never served stale files.
  let index = built.get(INDEX) ?? '';
  for (const [name, file] of files) index = index.replaceAll(`"${name}"`, `"${name}?v=${file.hash}"`);
  files.set(INDEX, asset(INDEX, index));
  return files;
}

function asset(name: string, body: string): Asset {
  const extension = name.slice(name.lastIndexOf('.'));
  return {
    body,
    contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
    hash: createHash('sha256').update(body).digest('base64url').slice(0, 16),
  };
}

const { handle, get } = textFileApi(API.dashboardResource, logger, SECURITY_HEADERS);

/**
 * `/dashboard` and `/dashboard/` (one route: the router drops trailing slashes) are the page, at the URL with
 * the slash, which the page's relative URLs need; the event's path tells them apart.
 */
get('/', async (ctx) => {
  const { path } = ctx.event as APIGatewayProxyEvent;
  if (path.endsWith('/')) return serve(ctx, INDEX);
  return new Response(null, {
    status: 301,
    headers: { Location: `${path.slice(path.lastIndexOf('/') + 1)}/` },
  });
});

/** Any other path under `/dashboard/` names a file (matched as a whole, so that a deeper path is a 404 too). */
get(/\/.+/, async (ctx) => serve(ctx, new URL(ctx.req.url).pathname.slice(PREFIX.length)));

async function serve(ctx: Ctx, name: string): Promise<Response> {
  const file = (await loadPage()).get(name);
  if (!file) throw new NotFoundError(`no dashboard file ${(ctx.event as APIGatewayProxyEvent).path}`);
  const etag = `"${file.hash}"`;
  const versioned = name !== INDEX && new URL(ctx.req.url).searchParams.get('v') === file.hash;
  const headers = {
    'Content-Type': file.contentType,
    'Cache-Control': versioned ? IMMUTABLE : REVALIDATE,
    ETag: etag,
  };
  const known = ctx.req.headers.get('if-none-match')?.split(/\s*,\s*/) ?? [];
  if (known.includes(etag)) return new Response(null, { status: 304, headers });
  return new Response(file.body, { status: 200, headers });
}

/** The API's OpenAPI 3.1 document (docs/openapi.json, made by `npm run openapi`), bundled with the function. */
const document = jsonApi(API.openApiResource, logger);
document.get('/', async () => openApi);
const OPENAPI_PATH = `/${API.openApiResource.join('/')}`;

export const handler = (event: APIGatewayProxyEvent, context?: Context): Promise<APIGatewayProxyResult> =>
  event.path === OPENAPI_PATH ? document.handle(event, context) : handle(event, context);
