/**
 * What a serving function reads of the model registry — whether a model exists, where an alias points, a
 * version's record, the list of versions — kept for `NIMBUS_ALIAS_CACHE_MS` (default 1 s), so that a promotion serves within that
 * and a busy endpoint reads the table about once a second per key, not once a request.
 *
 * Only what exists is kept: a model that does not exist, an alias that points nowhere, a version never
 * registered are read again on every ask, so the cache holds registered models' entries only however many
 * names clients make up (and at most `maxEntries` of them). A failed read is not kept either.
 */
import { BoundedCache } from '../core/cache.ts';
import { ENV } from '../core/contract.ts';
import type { AliasEntry, ModelVersion } from '../core/model-registry.ts';
import { currentAlias, getModelVersion, listModelVersions, modelExists } from './model-registry.ts';

/** The registry as a serving function sees it: each answer at most the cache's time to live old. */
export interface ServingRegistry {
  modelExists(model: string): Promise<boolean>;
  /** The alias's current entry; undefined when it points nowhere (or never existed). */
  currentAlias(model: string, alias: string): Promise<AliasEntry | undefined>;
  /** The version's record; undefined when it was never registered. */
  getModelVersion(model: string, version: number): Promise<ModelVersion | undefined>;
  /** Every version of the model with its status, oldest first. */
  listModelVersions(model: string): Promise<ModelVersion[]>;
}

const MAX_ENTRIES = 10_000;

/** A cached view of the registry; `ttlMs` defaults to `NIMBUS_ALIAS_CACHE_MS` as the process has it now. */
export function servingRegistry(
  ttlMs = Number(process.env[ENV.aliasCacheMs] ?? 1000),
  maxEntries = MAX_ENTRIES,
): ServingRegistry {
  const cache = new BoundedCache<unknown>(ttlMs, maxEntries);
  const cached = <T>(key: string, load: () => Promise<T>): Promise<T> =>
    cache.get(key, load, (value) => value !== undefined && value !== false) as Promise<T>;
  return {
    modelExists: (model) => cached(`model:${model}`, () => modelExists(model)),
    currentAlias: (model, alias) => cached(`alias:${model}:${alias}`, () => currentAlias(model, alias)),
    getModelVersion: (model, version) =>
      cached(`version:${model}:${version}`, () => getModelVersion(model, version)),
    listModelVersions: (model) => cached(`versions:${model}`, () => listModelVersions(model)),
  };
}
