/**
 * The pipeline's Lambda Tasks on this machine: each state's handler called in-process as Lambda and Step
 * Functions call it (JSON in, JSON out, in an invocation context of its own), and the `.waitForTaskToken` state
 * answered through the local Step Functions API.
 */
import { WAIT_FOR_APPROVAL_STATE } from '../core/contract.ts';
import { FUNCTIONS, PIPELINE_FUNCTIONS } from '../core/declaration.ts';
import { loadHandler } from './handlers.ts';
import { invokeInContext } from './lambda-runtime.ts';
import type { TaskTokens } from './step-functions.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** What runs a Task state: its input in, its result out. */
export type TaskHandler = (input: JsonValue) => Promise<JsonValue>;
type LambdaHandler = (input: never) => Promise<unknown>;

/**
 * The handlers of the states the pipeline's functions serve, by state name. Imports the handlers: call it after
 * the environment is set (they read their configuration at load).
 */
export async function lambdaTaskHandlers(taskTokens: TaskTokens): Promise<Record<string, TaskHandler>> {
  const handlers: Record<string, TaskHandler> = {};
  for (const name of PIPELINE_FUNCTIONS) {
    const module = await loadHandler(name);
    for (const state of FUNCTIONS[name].trigger.states) {
      handlers[state] = (input) => invokeLikeLambda(module.handler, input);
    }
  }
  // `.waitForTaskToken`: the Lambda gets the Payload (with the token); the state ends when the token is answered.
  const gate = handlers[WAIT_FOR_APPROVAL_STATE];
  if (gate) {
    handlers[WAIT_FOR_APPROVAL_STATE] = async (input) => {
      const payload = (input as { Payload: { taskToken: string } & JsonValue }).Payload;
      const answered = taskTokens.wait(payload.taskToken);
      answered.catch(() => undefined);
      await gate(payload);
      return (await answered) as JsonValue;
    };
  }
  return handlers;
}

/**
 * Calls a handler the way Lambda and Step Functions do: JSON in, JSON out, in an invocation context of its
 * own (lambda-runtime.ts); an error becomes a States error named after its type with Lambda's Cause
 * (`{"errorType","errorMessage"}`).
 */
async function invokeLikeLambda(handler: LambdaHandler, input: JsonValue): Promise<JsonValue> {
  try {
    const event = JSON.parse(JSON.stringify(input)) as never;
    const result = await invokeInContext(() => handler(event));
    return JSON.parse(JSON.stringify(result ?? null)) as JsonValue;
  } catch (error) {
    const type = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const failure = new Error(JSON.stringify({ errorType: type, errorMessage: message }));
    failure.name = type;
    throw failure;
  }
}
