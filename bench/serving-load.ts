/**
 * The load generator of bench/serving.ts, in its own process so that the server under test keeps its event
 * loop to itself: autocannon against one URL (a warm-up first, not counted), its figures as one JSON line on
 * stdout.
 *
 *   node --import tsx bench/serving-load.ts '<LoadOptions as JSON>'
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  /** Latency percentiles, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly seconds: number;
}

async function load(options: LoadOptions, seconds: number): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: options.headers,
    body: options.body,
    connections: options.connections,
    duration: seconds,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
  };
}

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
if (options.warmupSeconds > 0) await load(options, options.warmupSeconds);
process.stdout.write(`${JSON.stringify(await load(options, options.seconds))}\n`);
