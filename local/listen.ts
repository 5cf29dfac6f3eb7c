/**
 * What the local endpoints share: listening on 127.0.0.1 (a port, or 0 for any free one) and stopping, and
 * reading a control-plane request's body within a bound.
 */
import type { IncomingMessage, Server } from 'node:http';
import { type AddressInfo, createServer, type Server as NetServer } from 'node:net';

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
