"""PyTorch peer of bench/training.ts: the same MLP and CNN, data, epochs, batch size and optimizer, on CPU.

Usage: python3 torch_train.py '<json config>'  ->  prints one JSON line with samples/s and test accuracy.
The config's "threads" sets torch's intra-op thread count (else its default).
"""
import json
import sys
import time

import numpy as np
import torch
from torch import nn

cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg.get("threads", torch.get_num_threads()))
torch.manual_seed(cfg["seed"])
shape = cfg["sampleShape"]  # [784] or [28, 28, 1] (NHWC, as tfjs)


def load(prefix, n):
    x = np.fromfile(prefix + ".x", dtype=np.float32).reshape([n] + shape)
    y = np.fromfile(prefix + ".y", dtype=np.int32).astype(np.int64)
    x = torch.from_numpy(x)
    if len(shape) == 3:
        x = x.permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW, PyTorch's layout
    return x, torch.from_numpy(y)


x_train, y_train = load(cfg["train"], cfg["trainCount"])
x_test, y_test = load(cfg["test"], cfg["testCount"])
classes = cfg["classes"]

if cfg["model"] == "mlp":
    layers, width = [], shape[0]
    for units in cfg["hiddenUnits"]:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    model = nn.Sequential(*layers, nn.Linear(width, classes))
else:
    layers, channels, (h, w) = [], shape[2], shape[:2]
    for filters in cfg["blockFilters"]:
        layers += [nn.Conv2d(channels, filters, cfg["kernelSize"], padding="same"), nn.ReLU(), nn.MaxPool2d(2)]
        channels, h, w = filters, h // 2, w // 2
    layers.append(nn.Flatten())
    width = channels * h * w
    for units in cfg["denseUnits"]:
        layers += [nn.Linear(width, units), nn.ReLU()]
        width = units
    model = nn.Sequential(*layers, nn.Linear(width, classes))

optimizer = torch.optim.Adam(model.parameters(), lr=cfg["learningRate"])
loss_fn = nn.CrossEntropyLoss()
n, batch = x_train.shape[0], cfg["batchSize"]
started = time.perf_counter()
model.train()
for epoch in range(cfg["epochs"]):
    order = torch.randperm(n)
    for i in range(0, n, batch):
        idx = order[i : i + batch]
        optimizer.zero_grad()
        loss = loss_fn(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
seconds = time.perf_counter() - started
model.eval()
with torch.no_grad():
    accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
print(json.dumps({
    "samplesPerSecond": n * cfg["epochs"] / seconds,
    "seconds": seconds,
    "accuracy": accuracy,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
}))
