/**
 * Data capture: a sampled share of predictions (request, response, version, latency) buffered in memory and
 * written to S3 as JSON Lines, one object per flush, partitioned by model, date and hour and named by the
 * time of the write (KEYS.capture), so keys sort in the order objects were written.
 * The request whose record makes a flush due waits for it before it answers: Lambda freezes a container as
 * soon as its handler returns, and a write left running would stall until the next request, or be lost. A
 * write is given WRITE_TIMEOUT_MS (well inside predict's 29 s and the drift monitor's 30 s settle time, which
 * relies on no write landing later than that); a failed or timed-out flush is logged and its records dropped
 * (capture must never fail a prediction). What is buffered when a container is retired is lost: at most
 * `maxRecords` records or `flushMs` of traffic.
 */
import { randomUUID } from 'node:crypto';
import { KEYS } from '../core/keys.ts';
import { putBytes } from './object-store.ts';

/** How long one flush may take to write before it is given up. */
export const WRITE_TIMEOUT_MS = 5_000;

export interface CaptureRecord {
  readonly time: string;
  readonly requestId?: string;
  readonly model: string;
  readonly version: number;
  readonly alias?: string;
  readonly format: 'rows' | 'columns';
  readonly instances: readonly unknown[];
  readonly predictions: readonly unknown[];
  readonly latencyMs: number;
}

export interface DataCaptureOptions {
  readonly bucket: string;
  /** Share of predictions kept, 0–1. */
  readonly rate: number;
  /** Flush when the oldest buffered record is this old. @default 10000 */
  readonly flushMs?: number;
  /** Flush when this many records are buffered. @default 200 */
  readonly maxRecords?: number;
  readonly onError?: (error: unknown) => void;
  readonly random?: () => number;
}

export class DataCapture {
  private buffer: CaptureRecord[] = [];
  private oldest = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly options: DataCaptureOptions) {}

  /** Whether this prediction is kept (decided before the work, so nothing is built for the others). */
  sampled(): boolean {
    return this.options.rate > 0 && (this.options.random ?? Math.random)() < this.options.rate;
  }

  /** Buffers one record; when a flush is due, writes and resolves once it is written (else at once). */
  record(record: CaptureRecord): Promise<void> {
    if (this.buffer.length === 0) this.oldest = Date.now();
    this.buffer.push(record);
    const due =
      this.buffer.length >= (this.options.maxRecords ?? 200) ||
      Date.now() - this.oldest >= (this.options.flushMs ?? 10_000);
    return due ? this.write() : Promise.resolve();
  }

  /** Writes what is buffered (one object per model); resolves when every flush so far has finished. */
  flush(): Promise<void> {
    void this.write();
    return this.pending;
  }

  /** Writes what is buffered; resolves when this write has finished (or failed, or timed out). */
  private write(): Promise<void> {
    const records = this.buffer;
    this.buffer = [];
    if (records.length === 0) return Promise.resolve();
    const byModel = new Map<string, CaptureRecord[]>();
    for (const r of records) byModel.set(r.model, [...(byModel.get(r.model) ?? []), r]);
    const now = new Date();
    const abortSignal = AbortSignal.timeout(WRITE_TIMEOUT_MS);
    const writes = [...byModel].map(([model, items]) =>
      putBytes(
        this.options.bucket,
        KEYS.capture(model, now, randomUUID()),
        Buffer.from(`${items.map((item) => JSON.stringify(item)).join('\n')}\n`),
        'application/x-ndjson',
        { abortSignal },
      ),
    );
    const written = Promise.all(writes).then(
      () => undefined,
      (error: unknown) => this.options.onError?.(error),
    );
    this.pending = Promise.all([this.pending, written]).then(() => undefined);
    return written;
  }
}
