/**
 * tfjs as the models use it: the namespace (imported through here, so the wasm backend and the training
 * kernels it lacks are registered before any backend starts), backend selection, and the library versions a
 * model card records.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigurationError } from './errors.ts';
import { registerWasmTrainingKernels } from './wasm-kernels.ts';

// Convolutional networks train on wasm only with the kernels it lacks (see wasm-kernels.ts).
registerWasmTrainingKernels();

export { tf };

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
/** Native bindings, best first. Optional: absent on most machines, present in the GPU container. */
const NATIVE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/**
 * Picks the best available backend (`tensorflow` → `wasm` → `cpu`), or exactly `preferred` when given.
 * Returns the backend in use.
 */
export async function selectBackend(preferred?: string): Promise<BackendName> {
  if (preferred !== undefined && preferred !== '' && !BACKENDS.includes(preferred as BackendName)) {
    throw new ConfigurationError(`unknown tfjs backend "${preferred}"; use one of ${BACKENDS.join(', ')}`);
  }
  const order = preferred ? [preferred as BackendName] : BACKENDS;
  for (const name of order) {
    if (name === 'tensorflow' && !(await loadNativeBinding())) continue;
    try {
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

/** Versions of the ML libraries, recorded in each model card. */
export function libraryVersions(): Record<string, string> {
  return { '@tensorflow/tfjs': tf.version.tfjs, backend: tf.getBackend() };
}
