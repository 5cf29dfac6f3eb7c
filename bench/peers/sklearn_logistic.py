"""Peer of bench/accuracy.ts: scikit-learn's LogisticRegression on the platform's own split.

Usage: python3 sklearn_logistic.py <dir>   (dir holds train.x/.y and test.x/.y: float32 rows, int32 labels,
and meta.json {"width": w}) -> prints one JSON line with the test accuracy and the library version.
The features are the platform's preprocessed ones (standardized, one-hot): the same rows, the same encoding.
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

folder = sys.argv[1]
width = json.load(open(f"{folder}/meta.json"))["width"]


def load(name):
    x = np.fromfile(f"{folder}/{name}.x", dtype=np.float32).reshape(-1, width)
    y = np.fromfile(f"{folder}/{name}.y", dtype=np.int32)
    return x, y


x_train, y_train = load("train")
x_test, y_test = load("test")
model = LogisticRegression(max_iter=5000).fit(x_train, y_train)
print(json.dumps({"accuracy": float(model.score(x_test, y_test)), "sklearn": sklearn.__version__}))
