/**
 * The threaded SIMD build of tfjs's wasm backend, in Node. tfjs ships it
 * (`tfjs-backend-wasm-threaded-simd.{js,wasm}`) but turns it off in Node, for two reasons this module works
 * around while the backend starts, and only then:
 * - the emscripten glue starts its pthread workers from `blob:` URLs (the worker script, and the main script
 *   each worker imports), which Node's `Worker` refuses (ERR_WORKER_PATH). Here both scripts are written to a
 *   temporary folder instead: `Blob` is replaced by a subclass that keeps its text, `URL.createObjectURL`
 *   writes the worker's text to a file and returns its path, and the worker's import of the main script is
 *   pointed at that script's file (prefixed with the bundle's module-scope names it refers to);
 * - the backend caps its thread pool at half the logical cores (`init_with_threads_count` assumes two
 *   hyperthreads per core; `emscripten_num_logical_cores()` is `os.cpus().length` in Node), which is 1 on a
 *   2-core machine. Here `os.cpus()` reports twice the threads asked for while the pool is made.
 * The pool then has the threads asked for, at most the glue's 8 pre-started workers (a worker started later
 * would take the `blob:` path again). The kernels compute the same as on one thread; XNNPACK splits each
 * operation's output between the threads, so a result does not depend on how the work was scheduled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/** The workers the threaded glue starts with (its PTHREAD_POOL_SIZE). */
export const MAX_WASM_THREADS = 8;

const MAIN_SCRIPT_HEAD = 'var WasmBackendModuleThreadedSimd';
/** The worker's import of the main script: a string path, or a `blob:` URL made of a Blob it was sent. */
const WORKER_IMPORT =
  /if\(typeof e\.data\.urlOrBlob=="string"\)\{importScripts\(e\.data\.urlOrBlob\)\}else\{[^}]*\}/;
/** The names the bundle's main script refers to at its module scope (tf-backend-wasm.node.js). */
const MAIN_SCRIPT_PRELUDE =
  "var require$$0=require('fs'),require$$1=require('path'),require$$3=require('perf_hooks')," +
  "require$$4=require('os'),commonjsGlobal=globalThis;\n";

/**
 * Starts the wasm backend on `threads` threads (1: the single-threaded SIMD build, as tfjs picks in Node).
 * Must run before the wasm backend is first used in this process; returns the thread count it runs on.
 */
export async function startThreadedWasm(threads: number): Promise<number> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new RangeError(`wasm threads must be an integer from 1 to ${MAX_WASM_THREADS}, not ${threads}`);
  }
  if (threads === 1) {
    if (!(await tf.setBackend('wasm'))) return 0;
    await tf.ready();
    return getThreadsCount();
  }
  // The scripts are read as the glue starts its workers, all of them before the backend is ready.
  const folder = mkdtempSync(join(os.tmpdir(), 'nimbus-wasm-threads-'));
  const mainScript = join(folder, 'main.js');
  const workerScript = join(folder, 'worker.js');
  const NodeBlob = globalThis.Blob;
  const createObjectURL = URL.createObjectURL;
  const cpus = os.cpus;
  class TextBlob extends NodeBlob {
    readonly text_: string;
    constructor(...[parts, options]: ConstructorParameters<typeof Blob>) {
      super(parts, options);
      this.text_ = (parts ?? []).map(String).join('');
      if (this.text_.startsWith(MAIN_SCRIPT_HEAD))
        writeFileSync(mainScript, MAIN_SCRIPT_PRELUDE + this.text_);
    }
  }
  globalThis.Blob = TextBlob;
  URL.createObjectURL = (blob: Blob) => {
    if (!(blob instanceof TextBlob)) return createObjectURL(blob);
    const worker = blob.text_.replace(WORKER_IMPORT, `importScripts(${JSON.stringify(mainScript)});`);
    if (worker === blob.text_) throw new Error('the wasm worker script has no main-script import to point');
    writeFileSync(workerScript, worker);
    return workerScript;
  };
  os.cpus = () => {
    const real = cpus();
    return Array.from({ length: 2 * threads }, (_, i) => real[i % real.length] as os.CpuInfo);
  };
  try {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
    setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) return 0;
    await tf.ready();
  } finally {
    globalThis.Blob = NodeBlob;
    URL.createObjectURL = createObjectURL;
    os.cpus = cpus;
    rmSync(folder, { recursive: true, force: true });
  }
  // The pthread workers wait for work for the life of the process; they should not keep it alive.
  const { PThread } = (tf.backend() as unknown as { wasm: { PThread?: EmscriptenThreads } }).wasm;
  for (const worker of [...(PThread?.unusedWorkers ?? []), ...(PThread?.runningWorkers ?? [])])
    worker.unref();
  return getThreadsCount();
}

interface EmscriptenThreads {
  unusedWorkers: { unref(): void }[];
  runningWorkers: { unref(): void }[];
}
