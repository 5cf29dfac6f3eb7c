/**
 * Lambda's runtime, as much of it as the local platform needs: many invocations of the same function at once
 * in one process, each in its own invocation context — what Lambda itself does when a function runs more than
 * one invocation per execution environment (`AWS_LAMBDA_MAX_CONCURRENCY`, Lambda Managed Instances): the
 * runtime's InvokeStore (an AsyncLocalStorage) holds each invocation's request id, and Powertools keeps what a
 * handler appends to its logger (`appendKeys`) and adds to its metrics in that invocation's context. So a log
 * line names its own run and key, however many runs are in the same step at once; the handlers' code is the
 * code that runs in Lambda.
 *
 * Import this before anything calls the AWS SDK or Powertools: the InvokeStore is one per process, made by
 * whichever asks first.
 */
import { randomUUID } from 'node:crypto';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import { ENV } from '../core/contract.ts';

/** Set for this process, as Lambda sets it: Powertools scopes its state per invocation when it is set. */
export const CONCURRENCY_ENV = 'AWS_LAMBDA_MAX_CONCURRENCY';
process.env[CONCURRENCY_ENV] ??= '1024';
/** The predict handler's metrics, published once per event-loop turn: this process outlives its invocations. */
export const METRICS_BATCH_ENV = ENV.metricsBatch;
process.env[METRICS_BATCH_ENV] ??= '1';
const store = await InvokeStore.getInstanceAsync(true);

/** Runs one invocation of a handler in a context of its own (a fresh request id unless one is given). */
export function invokeInContext<T>(fn: () => Promise<T>, requestId: string = randomUUID()): Promise<T> {
  return store.run({ [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId }, fn);
}

/**
 * The environment for a child process (a training job, a bundled function run alone): this process's,
 * without the concurrency setting, which would make the child's Powertools look for a context it never gets,
 * nor the metrics batching (a child may exit right after its invocation).
 */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { [CONCURRENCY_ENV]: _concurrency, [METRICS_BATCH_ENV]: _batch, ...rest } = env;
  return rest;
}
