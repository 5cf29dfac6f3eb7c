/**
 * A second peer for bench/serving.ts: FastAPI + uvicorn serving the iris MLP in PyTorch (fastapi_mlp.py),
 * what a user would run instead of Nimbus for a small model. Same protocol as bench/serving-peer.ts (one
 * `{"url": ...}` line on stdout once listening; stops when its stdin closes) — but it answers only
 * `POST /v1/models/iris:predict`, so load it at `url + API.predictPath('iris')`, not at the bare url.
 *
 * Python is optional: `findFastapiPython()` is a fast check (~30 ms: a venv's python + `find_spec`, nothing
 * imported) that says why it skips; `BENCH_FASTAPI_SETUP=1` creates the venv first (setup.sh, ~30 s from
 * the local mirror, 0.9 GB).
 *
 * The server and its setup are bench/peers/fastapi_mlp.py and bench/peers/fastapi-setup.sh.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const peers = join(dirname(fileURLToPath(import.meta.url)), 'peers');
/** The server and its setup script. */
export const FASTAPI_SCRIPT = join(peers, 'fastapi_mlp.py');
export const FASTAPI_SETUP = join(peers, 'fastapi-setup.sh');
export const FASTAPI_VENV =
  process.env.NIMBUS_FASTAPI_VENV ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'nimbus-bench', 'fastapi-venv');

const MODULES = ['torch', 'fastapi', 'uvicorn', 'pydantic'] as const;
const CHECK =
  'import importlib.util as u; ' +
  `print(" ".join(n for n in ${JSON.stringify(MODULES)} if u.find_spec(n) is None))`;

/**
 * The python to run the peer with (NIMBUS_FASTAPI_PYTHON, else the venv's), or why there is none. With
 * BENCH_FASTAPI_SETUP=1 a missing or incomplete venv is created first.
 */
export function findFastapiPython(): { python: string } | { skip: string } {
  const python = process.env.NIMBUS_FASTAPI_PYTHON ?? join(FASTAPI_VENV, 'bin', 'python');
  const hint = `run \`bash ${FASTAPI_SETUP}\` (or BENCH_FASTAPI_SETUP=1), or set NIMBUS_FASTAPI_PYTHON`;
  if (process.env.BENCH_FASTAPI_SETUP === '1' && !process.env.NIMBUS_FASTAPI_PYTHON) {
    try {
      execFileSync('bash', [FASTAPI_SETUP], {
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: 15 * 60_000,
      });
    } catch (error) {
      return { skip: `setup failed (${String(error).split('\n')[0]})` };
    }
  }
  if (!existsSync(python)) return { skip: `no python at ${python}; ${hint}` };
  let missing: string;
  try {
    missing = execFileSync(python, ['-c', CHECK], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch (error) {
    return { skip: `${python} does not run (${String(error).split('\n')[0]}); ${hint}` };
  }
  if (missing) return { skip: `${python} lacks ${missing.split(' ').join(', ')}; ${hint}` };
  return { python };
}

export interface FastapiPeer {
  /** Base url; the model is at `${url}/v1/models/iris:predict`. */
  readonly url: string;
  /** The rest of the peer's line: loop (uvloop|asyncio), http (httptools|h11), torch and python versions. */
  readonly info: Record<string, string>;
  /** Spawn → listening, ms (torch's import dominates). */
  readonly startMs: number;
  stop(): Promise<void>;
}

/** Starts fastapi_mlp.py with `python`; resolves once it listens. */
export async function startFastapiPeer(python: string, env: NodeJS.ProcessEnv = {}): Promise<FastapiPeer> {
  const started = performance.now();
  const child = spawn(python, [FASTAPI_SCRIPT], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', ...env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const info = await new Promise<Record<string, string>>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the FastAPI peer did not listen within 60 s')), 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, string>);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the FastAPI peer exited (${code}) before listening`));
    });
  });
  const startMs = performance.now() - started;
  const { url, ...rest } = info;
  if (!url) throw new Error(`the FastAPI peer printed no url: ${JSON.stringify(info)}`);
  return {
    url,
    info: rest,
    startMs,
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill(), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
