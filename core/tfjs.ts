/**
 * tfjs as the models use it: the namespace (imported through here, so the wasm backend and the training
 * kernels it lacks are registered before any backend starts), backend selection, and the library versions a
 * model card records.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { ConfigurationError } from './errors.ts';
import { registerWasmTrainingKernels } from './wasm-kernels.ts';
import { MAX_WASM_THREADS, startThreadedWasm } from './wasm-threads.ts';

// Convolutional networks train on wasm only with the kernels it lacks (see wasm-kernels.ts).
registerWasmTrainingKernels();

export { tf };

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
/** Native bindings, best first. Optional: absent on most machines, present in the GPU container. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

export interface BackendOptions {
  /**
   * Threads the wasm backend runs on (its threaded SIMD build, core/wasm-threads.ts), where it starts in this
   * call: the wasm backend starts once per process, and keeps the count it started with.
   * @default 1
   */
  readonly wasmThreads?: number;
}

/**
 * Picks the best available backend (`tensorflow` → `wasm` → `cpu`), or exactly `preferred` when given.
 * Returns the backend in use.
 */
export async function selectBackend(preferred?: string, options: BackendOptions = {}): Promise<BackendName> {
  if (preferred !== undefined && preferred !== '' && !BACKENDS.includes(preferred as BackendName)) {
    throw new ConfigurationError(`unknown tfjs backend "${preferred}"; use one of ${BACKENDS.join(', ')}`);
  }
  const order = preferred ? [preferred as BackendName] : BACKENDS;
  for (const name of order) {
    if (name === 'tensorflow' && !(await loadNativeBinding())) continue;
    try {
      if (name === 'wasm' && !tf.engine().registry.wasm) {
        if (await startThreadedWasm(options.wasmThreads ?? 1)) return name;
        continue;
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
    } catch {
      // fall through to the next backend
    }
  }
  throw new ConfigurationError(`tfjs backend ${order.join(' / ')} is not available`);
}

async function loadNativeBinding(): Promise<boolean> {
  for (const name of NATIVE_PACKAGES) {
    try {
      await import(name);
      return true;
    } catch {
      // not installed here
    }
  }
  return false;
}

/**
 * The wasm threads a setting asks for (`NIMBUS_TF_THREADS`, read by the caller): a whole number from 1 to 8,
 * or `all` for every core this machine has (at most 8). Unset or empty: 1 — measured on 2-core machines
 * (bench:training), 2 threads train the bench's MLP and CNN no faster than 1, and each threaded backend starts
 * 8 pthread workers (about 1.6 s and 150 MB), which several training processes at once oversubscribe.
 */
export function wasmThreadsSetting(value: string | undefined, cores: number): number {
  if (value === undefined || value.trim() === '') return 1;
  if (value.trim() === 'all') return Math.max(1, Math.min(cores, MAX_WASM_THREADS));
  const threads = Number(value);
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new ConfigurationError(`tfjs threads "${value}": use a whole number from 1 to ${MAX_WASM_THREADS}`);
  }
  return threads;
}

/** Data-parallel replicas a setting asks for (`NIMBUS_TF_REPLICAS`, read by the caller): 1–8, unset 1. */
export function replicasSetting(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 1;
  const replicas = Number(value);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_WASM_THREADS) {
    throw new ConfigurationError(
      `tfjs replicas "${value}": use a whole number from 1 to ${MAX_WASM_THREADS}`,
    );
  }
  return replicas;
}

/** Threads the backend in use computes on: the wasm backend's pool, 1 for cpu; undefined when not known. */
export function backendThreads(): number | undefined {
  const backend = tf.getBackend();
  if (backend === 'wasm') return getThreadsCount();
  return backend === 'cpu' ? 1 : undefined;
}

/** Versions of the ML libraries, recorded in each model card, with the backend and its thread count. */
export function libraryVersions(): Record<string, string> {
  const versions: Record<string, string> = { '@tensorflow/tfjs': tf.version.tfjs, backend: tf.getBackend() };
  const threads = backendThreads();
  if (threads !== undefined) versions.threads = String(threads);
  return versions;
}
