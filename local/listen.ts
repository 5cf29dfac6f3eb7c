/**
 * What the local endpoints share: listening on 127.0.0.1 (a port, or 0 for any free one) and stopping, and
 * reading a control-plane request's body within a bound.
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { type AddressInfo, createServer, type Server as NetServer } from 'node:net';
import { hasValidSignature } from '../aws/signing.ts';

export interface LocalEndpoint {
  readonly url: string;
  /** Stops listening and closes every connection, idle or not. */
  stop(): Promise<void>;
}

/** A port another process holds: what `npm start` says in one line, naming the option that changes it. */
export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is already in use on 127.0.0.1`);
    this.name = 'PortInUseError';
  }
}

/** Listens on 127.0.0.1:`port` (an `error` while starting rejects: PortInUseError for a port in use). */
export function listenOn(server: NetServer, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new PortInUseError(port) : error);
    server.once('error', failed);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** Throws PortInUseError unless `port` (not 0) can be listened on now: for servers that cannot say so. */
export async function checkPortFree(port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await listenOn(probe, port);
  await new Promise((resolve) => probe.close(resolve));
}

export async function listenLocal(server: Server, port: number): Promise<LocalEndpoint> {
  await listenOn(server, port);
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * A request's body as text, or undefined once it passes `maxBytes` (by its Content-Length, or as it arrives):
 * the caller answers 413, and the connection should close.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Why a local AWS-style endpoint refused a request before reading it: each answers in its protocol's shape. */
export interface RefusedRequest {
  readonly refused: 413 | 403 | 400;
  /** The error's name in AWS's JSON protocols (`__type`). */
  readonly type: 'ValidationException' | 'UnrecognizedClientException' | 'SerializationException';
  readonly message: string;
}

/**
 * What the local stand-ins for AWS APIs (Step Functions, API Gateway's control plane, SageMaker's and Batch's
 * describe calls) take: a body of at most `maxBytes`, signed (SigV4) with the platform's local credentials —
 * as IAM would ask — and a JSON object (an empty body is `{}`). A 413 should close the connection.
 */
export async function readSignedJson(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
): Promise<{ readonly input: Record<string, unknown> } | RefusedRequest> {
  const body = await readBody(req, maxBytes);
  if (body === undefined) {
    // The rest of the body is unread: the connection closes after the answer.
    res.setHeader('Connection', 'close');
    return {
      refused: 413,
      type: 'ValidationException',
      message: `the request is larger than ${Math.round(maxBytes / 1024)} KB`,
    };
  }
  const signed = await hasValidSignature(
    { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
    credentials,
  );
  if (!signed) {
    return {
      refused: 403,
      type: 'UnrecognizedClientException',
      message: 'the request is not signed with the local platform credentials',
    };
  }
  let input: unknown;
  try {
    input = JSON.parse(body || '{}');
  } catch {
    input = undefined;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return {
      refused: 400,
      type: 'SerializationException',
      message: 'the request body must be a JSON object',
    };
  }
  return { input: input as Record<string, unknown> };
}
