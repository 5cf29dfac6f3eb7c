import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where functions/, containers/ and state-machines/ live (for infra/ and local/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
