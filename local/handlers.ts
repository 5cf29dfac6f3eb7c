/**
 * The platform's handlers, loaded on this machine as Lambda loads them: by the function's declared folder
 * (core/declaration.ts), once the environment is set (handlers read their configuration when they load).
 */
import { join } from 'node:path';
import { FUNCTIONS, type FunctionName } from '../core/declaration.ts';
import { REPO_ROOT } from '../core/repo.ts';

/** What every handler module exports: `handler(event)`, and whatever else the platform calls (`flushCapture`). */
export type HandlerModule = {
  readonly handler: (event: never) => Promise<unknown>;
  readonly [name: string]: unknown;
};

/** The module of a function's handler (`functions/<dir>/handler.ts`). */
export async function loadHandler<T extends HandlerModule = HandlerModule>(name: FunctionName): Promise<T> {
  return (await import(join(REPO_ROOT, 'functions', FUNCTIONS[name].dir, 'handler.ts'))) as T;
}
