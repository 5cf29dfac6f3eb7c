/**
 * A client process for bench/abuse.ts, so that no client shares the platform's event loop or memory:
 * - `valid`: sends valid 1-instance predicts one after another — `count` of them, or until stdin closes —
 *   and prints each one's start (epoch ms) and latency as a JSON line at the end;
 * - `hostile`: builds one shape of bench/abuse-shapes.ts, says `ready`, sends it `times` times one after
 *   another, and prints each send's window and answer.
 *
 *   node --import tsx bench/abuse-client.ts '{"role":"valid","url":…,"apiKey":…,"count":300}'
 */
import { SHAPES, VALID_BODY } from './abuse-shapes.ts';

export interface ClientOptions {
  readonly role: 'valid' | 'hostile';
  readonly url: string;
  readonly apiKey: string;
  readonly count?: number;
  readonly shape?: string;
  readonly times?: number;
}

export interface Timed {
  readonly start: number;
  readonly ms: number;
  readonly status: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as ClientOptions;
const now = () => performance.timeOrigin + performance.now();
const send = async (body: string, url = options.url): Promise<Timed> => {
  const start = now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': options.apiKey },
    body,
  });
  await response.arrayBuffer();
  return { start, ms: now() - start, status: response.status };
};

if (options.role === 'valid') {
  const done: Timed[] = [];
  let stop = false;
  process.stdin
    .on('data', () => undefined)
    .on('end', () => {
      stop = true;
    });
  for (let i = 0; !stop && (options.count === undefined || i < options.count); i++) {
    done.push(await send(VALID_BODY));
    if (i === 19) process.stdout.write('ready\n');
  }
  // Exit once the line is out: a pipe's write is asynchronous, and exit would cut a long one short.
  process.stdout.write(`${JSON.stringify(done)}\n`, () => process.exit(0));
} else {
  const shape = SHAPES[options.shape ?? ''];
  if (!shape) throw new Error(`no shape ${options.shape}`);
  const body = await shape.body();
  process.stdout.write('ready\n');
  const sent: Timed[] = [];
  const url = options.url.replace(/\/models\/[^/:]+:/, `/models/${shape.model ?? 'iris'}:`);
  for (let i = 0; i < (options.times ?? 1); i++) sent.push(await send(body, url));
  process.stdout.write(`${JSON.stringify(sent)}\n`, () => process.exit(0));
}
