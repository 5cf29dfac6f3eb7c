/** What the local endpoints share: listening on 127.0.0.1 (a port, or 0 for any free one) and stopping. */
import type { Server } from 'node:http';
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
