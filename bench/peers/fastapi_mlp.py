"""A peer for bench/serving.ts: what a user would deploy instead of Nimbus for a small model.

FastAPI + uvicorn (one process, one worker) serving the iris MLP in PyTorch: 4 float features ->
Dense(32, relu) -> Dense(16, relu) -> Dense(3, softmax), the shape of Nimbus's DEFAULT_MLP
(core/hyperparameters.ts, hiddenUnits [32, 16]; dropout is a no-op at inference). Random weights
(seeded), a real torch forward pass under torch.no_grad() on every request.

    POST /v1/models/iris:predict
    {"instances": [{"sepal_length": 6.1, "sepal_width": 2.8, "petal_length": 4.7, "petal_width": 1.2}]}
 -> {"predictions": [{"label": "...", "probabilities": {"setosa": ..., ...}}], "model_version": 1}

Protocol (same as bench/serving-peer.ts): binds 127.0.0.1 on a free port, prints ONE JSON line on
stdout once listening -- {"url": "http://127.0.0.1:PORT", ...extra fields} -- and exits when its stdin
closes. Note the node peer answers any path; this one answers only the predict path, so the bench must
post to url + "/v1/models/iris:predict".

    python bench/peers/fastapi_mlp.py     # env PEER_ENDPOINT: async (default), sync (a plain `def`, run in the thread
                              # pool), fixed (diagnostic: no torch, a fixed answer)
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import sys
import threading

import torch
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from torch import nn

CLASSES = ("setosa", "versicolor", "virginica")
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
MODEL_VERSION = 1

# Tiny tensors: intra-op parallelism only adds thread hand-offs. One thread is the sensible default for a
# single-process server of a small model (and what torch docs recommend when serving many small requests).
torch.set_num_threads(1)
torch.manual_seed(42)


class Instance(BaseModel):
    sepal_length: float
    sepal_width: float
    petal_length: float
    petal_width: float


class PredictRequest(BaseModel):
    instances: list[Instance]


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    model_version: int


model = nn.Sequential(
    nn.Linear(len(FEATURES), 32),
    nn.ReLU(),
    nn.Linear(32, 16),
    nn.ReLU(),
    nn.Linear(16, len(CLASSES)),
    nn.Softmax(dim=-1),
).eval()


def predict(body: PredictRequest) -> PredictResponse:
    if not body.instances:
        raise HTTPException(status_code=400, detail="instances must not be empty")
    x = torch.tensor(
        [[i.sepal_length, i.sepal_width, i.petal_length, i.petal_width] for i in body.instances],
        dtype=torch.float32,
    )
    with torch.no_grad():
        probs = model(x).tolist()
    return PredictResponse(
        predictions=[
            Prediction(
                label=CLASSES[max(range(len(CLASSES)), key=row.__getitem__)],
                probabilities=dict(zip(CLASSES, row)),
            )
            for row in probs
        ],
        model_version=MODEL_VERSION,
    )


app = FastAPI(title="iris", docs_url=None, redoc_url=None, openapi_url=None)
PATH = "/v1/models/{model_name}:predict"

if os.environ.get("PEER_ENDPOINT") == "fixed":
    # Diagnostic only (not the peer): same route and body validation, a fixed answer, no torch -- the
    # framework's share of the cost.
    FIXED = predict(PredictRequest(instances=[Instance(**dict.fromkeys(FEATURES, 1.0))]))

    @app.post(PATH)
    async def predict_fixed(model_name: str, body: PredictRequest) -> PredictResponse:
        return FIXED

elif os.environ.get("PEER_ENDPOINT") == "sync":
    # A plain `def`: FastAPI runs it in the anyio thread pool (what many users write).
    @app.post(PATH)
    def predict_sync(model_name: str, body: PredictRequest) -> PredictResponse:
        if model_name != "iris":
            raise HTTPException(status_code=404, detail=f"no model {model_name}")
        return predict(body)

else:
    # `async def`: runs on the event loop; the forward pass is tens of microseconds, so blocking is fine.
    @app.post(PATH)
    async def predict_async(model_name: str, body: PredictRequest) -> PredictResponse:
        if model_name != "iris":
            raise HTTPException(status_code=404, detail=f"no model {model_name}")
        return predict(body)


def has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


async def main() -> None:
    # Warm-up: the first forward pass pays one-off costs.
    predict(PredictRequest(instances=[Instance(**dict.fromkeys(FEATURES, 1.0))]))

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    loop_impl = "uvloop" if has("uvloop") else "asyncio"
    http_impl = "httptools" if has("httptools") else "h11"
    config = uvicorn.Config(
        app,
        loop="none",  # the loop is already running (chosen in __main__)
        http=http_impl,
        workers=1,
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)

    loop = asyncio.get_running_loop()

    def watch_stdin() -> None:
        try:
            while sys.stdin.buffer.read(65536):
                pass
        finally:
            loop.call_soon_threadsafe(setattr, server, "should_exit", True)

    threading.Thread(target=watch_stdin, name="stdin-watch", daemon=True).start()

    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            serving.result()  # raises the startup error
            return
        await asyncio.sleep(0.01)
    line = {
        "url": f"http://127.0.0.1:{port}",
        "predict": f"http://127.0.0.1:{port}/v1/models/iris:predict",
        "loop": loop_impl,
        "http": http_impl,
        "endpoint": os.environ.get("PEER_ENDPOINT") or "async",
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()
    await serving


if __name__ == "__main__":
    if has("uvloop"):
        import uvloop

        uvloop.run(main())
    else:
        asyncio.run(main())
