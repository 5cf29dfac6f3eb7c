/**
 * The peer of bench/serving.ts: a bare `node:http` server on 127.0.0.1 that reads each request's body and
 * answers a small fixed JSON (the shape and size of an iris prediction). The ceiling of any Node HTTP server
 * on this machine. Prints `{"url": ...}` once listening; stops when its stdin closes.
 *
 *   node --import tsx bench/serving-peer.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const answer = JSON.stringify({
  predictions: [
    {
      label: 'versicolor',
      probabilities: { setosa: 0.0112, versicolor: 0.9431, virginica: 0.0457 },
    },
  ],
  model_version: 1,
});

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  server.closeAllConnections();
  process.stdin.destroy();
});
