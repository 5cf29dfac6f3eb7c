/**
 * What the local endpoints share: listening on 127.0.0.1 (a port, or 0 for any free one) and stopping, and
 * reading a control-plane request's body within a bound.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalEndpoint {
  readonly url: string;
  /** Stops listening and closes every connection, idle or not. */
  stop(): Promise<void>;
}

export async function listenLocal(server: Server, port: number): Promise<LocalEndpoint> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
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
