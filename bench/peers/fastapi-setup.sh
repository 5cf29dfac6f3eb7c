#!/usr/bin/env bash
# Creates (or completes) the Python venv of the FastAPI peer of bench/serving.ts:
#   torch (CPU), fastapi, uvicorn[standard] (uvloop + httptools), numpy (quiets torch's warning).
# Idempotent: a complete venv is left alone. ~0.9 GB on disk.
#
#   bash bench/peers/fastapi-setup.sh            # env: NIMBUS_FASTAPI_VENV (default ~/.cache/nimbus-bench/fastapi-venv),
#                            #      PYTHON (default python3.11, else python3; torch needs a version it has wheels for)
set -euo pipefail

VENV="${NIMBUS_FASTAPI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/nimbus-bench/fastapi-venv}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
if [[ -z "$PY" ]]; then echo "fastapi-setup.sh: no python3 on PATH" >&2; exit 1; fi

check='import importlib.util as u, sys; m = [n for n in ("torch", "fastapi", "uvicorn", "pydantic", "uvloop", "httptools") if u.find_spec(n) is None]; print(" ".join(m)); sys.exit(1 if m else 0)'
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "$check" >/dev/null 2>&1; then
  echo "fastapi-setup.sh: $VENV is ready"; exit 0
fi

# Offline, with a local package mirror as pip's *extra* index, pip retries the unreachable public index for
# every package (minutes in all): set PIP_INDEX_URL to the mirror to make it the primary one.
mkdir -p "$(dirname "$VENV")"
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
for attempt in 1 2 3; do
  if "$VENV/bin/pip" install --quiet --disable-pip-version-check torch fastapi 'uvicorn[standard]' numpy; then break; fi
  echo "fastapi-setup.sh: pip failed (attempt $attempt)" >&2
  [[ $attempt == 3 ]] && exit 1
  sleep 2
done
"$VENV/bin/python" -c "$check"
echo "fastapi-setup.sh: $VENV is ready ($("$VENV/bin/python" -c 'import torch, fastapi, uvicorn; print(f"torch {torch.__version__}, fastapi {fastapi.__version__}, uvicorn {uvicorn.__version__}")'))"
