/**
 * The local stand-in for API Gateway: an HTTP server on 127.0.0.1 that checks the API key as a usage plan
 * does, builds the same REST proxy event, and calls the same predict handler.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { API } from '../core/contract.ts';

/** API Gateway's own payload limit (10 MB). */
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const STAGE = 'local';

export interface LocalApiOptions {
  readonly port: number;
  readonly apiKey: string;
  readonly handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;
}

export interface LocalApi {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const server = createServer((req, res) => {
    handle(req, res, options).catch(() => {
      if (!res.headersSent) send(res, 500, { message: 'Internal server error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, stop: () => close(server) };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: LocalApiOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const method = req.method ?? 'GET';
  const modelsPrefix = `/${API.modelsResource.join('/')}/`;
  // API Gateway answers an unknown route, or a method not configured, with this 403.
  if (!url.pathname.startsWith(modelsPrefix) || !['GET', 'POST'].includes(method)) {
    return send(res, 403, { message: 'Missing Authentication Token' });
  }
  if (req.headers[API.apiKeyHeader] !== options.apiKey) return send(res, 403, { message: 'Forbidden' });

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return send(res, 413, { message: 'Request Too Long' });
    chunks.push(chunk);
  }
  const body = chunks.length > 0 ? Buffer.concat(chunks).toString('utf8') : null;
  const headers = Object.fromEntries(
    Object.entries(req.headers).map(([name, value]) => [
      name,
      Array.isArray(value) ? value.join(',') : (value ?? ''),
    ]),
  );
  const query = Object.fromEntries(url.searchParams.entries());
  const requestId = randomUUID();
  const event: APIGatewayProxyEvent = {
    resource: `${modelsPrefix}{proxy+}`,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: url.pathname.slice(modelsPrefix.length) },
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: undefined,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: method,
      identity: { apiKey: options.apiKey, sourceIp: req.socket.remoteAddress ?? '127.0.0.1' },
      path: `/${STAGE}${url.pathname}`,
      stage: STAGE,
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: `${modelsPrefix}{proxy+}`,
    } as unknown as APIGatewayProxyEvent['requestContext'],
  };
  const result = await options.handler(event);
  res.writeHead(result.statusCode, { ...stringHeaders(result.headers), 'x-amzn-requestid': requestId });
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

function stringHeaders(headers: APIGatewayProxyResult['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
