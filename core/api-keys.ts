/**
 * API keys scoped to models: a key a team holds opens its own models' routes and no others. In AWS each key is
 * an API Gateway key in the API's usage plan (the gateway checks it, and throttles it as the plan says); the
 * models table keeps its scope by key id (aws/api-keys.ts), which the functions check against the model a
 * request names. A key in the usage plan without a scope record — the deployment's own default key, or one an
 * administrator added by hand — opens every model, as every key did before scopes.
 */
import { InvalidRequestError } from './errors.ts';
import { nameProblem } from './names.ts';

/** An API key's id as API Gateway makes them (ten letters and digits; the local platform's alike). */
export const KEY_ID_PATTERN = /^[A-Za-z0-9]{1,64}$/;

/** Every model, present and future. */
export const ALL_MODELS = '*';
/** The most models one key may name (more: use `*`, or another key). */
export const MAX_KEY_MODELS = 100;

export interface ApiKeyRecord {
  /** API Gateway's id of the key (not its value: that is shown once, when the key is created). */
  readonly id: string;
  readonly name: string;
  /** Model names, or `*` alone. */
  readonly models: readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
}

/** What a key may open: every model, or those named. */
export type KeyScope = { readonly all: true } | { readonly all: false; readonly models: ReadonlySet<string> };

export const UNSCOPED: KeyScope = { all: true };

export function scopeOf(record: ApiKeyRecord | undefined): KeyScope {
  if (!record) return UNSCOPED;
  if (record.revokedAt !== undefined) return { all: false, models: new Set() };
  return record.models.includes(ALL_MODELS) ? UNSCOPED : { all: false, models: new Set(record.models) };
}

export function scopeAllows(scope: KeyScope, model: string): boolean {
  return scope.all || scope.models.has(model);
}

/**
 * The refusal of a model the key does not open: the same words whether or not the model exists, so that a
 * key learns nothing of the models outside its scope.
 */
export function outOfScope(model: string): string {
  return `this API key does not open model "${model}"`;
}

/** A create request's scope: model names by the name rule (each once), or `*` alone; at most MAX_KEY_MODELS. */
export function parseKeyModels(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',').map((m) => m.trim()) : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidRequestError('"models" must list the models the key opens (or ["*"] for all)', 'models');
  }
  if (list.length > MAX_KEY_MODELS) {
    throw new InvalidRequestError(`a key names at most ${MAX_KEY_MODELS} models (or "*")`, 'models');
  }
  const models = [...new Set(list as unknown[])].map((model) => {
    if (typeof model !== 'string')
      throw new InvalidRequestError('"models" must be a list of names', 'models');
    if (model === ALL_MODELS) return model;
    const problem = nameProblem('model', model);
    if (problem) throw new InvalidRequestError(`"models": ${problem}`, 'models');
    return model;
  });
  if (models.includes(ALL_MODELS) && models.length > 1) {
    throw new InvalidRequestError('"*" opens every model: give it alone', 'models');
  }
  return models;
}
