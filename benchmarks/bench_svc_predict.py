"""Benchmark FastPredictSVC's predictions against libsvm's, on one fitted SVC.

The classical pipelines' SVC (``classical.FastPredictSVC``) is fitted once,
by libsvm, on the features of each pipeline; then the same model predicts
the test images both ways, alternately, ``--repeats`` times:
``SVC.predict`` (libsvm, one kernel value at a time) and
``FastPredictSVC.predict`` (the kernel in blocks of BLAS matrix products,
float64). It reports the median seconds per 1,000 images of each, their
ratio, and whether the labels agree (they must, ties of the one-vs-one
votes apart).

Both run with ``--n-threads`` BLAS threads (default 1: a worker of the
comparison).

Usage::

    python benchmarks/bench_svc_predict.py                  # 20,000 training images
    python benchmarks/bench_svc_predict.py --n-train 2000   # smoke run

Results: ``benchmarks/results/bench_svc_predict.json`` (with ``--n-train``
other than the default: ``bench_svc_predict_<n>.json``).
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
from _common import RESULTS_DIR, environment, load, write_report
from sklearn.base import clone
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from fmnist_estimators.classical import (
    make_patch_pca_svc_pipeline,
    make_pca_svc_pipeline,
)

DEFAULT_TRAIN = 20_000
PIPELINES = {
    "pca_svc": make_pca_svc_pipeline,
    "patch_pca_svc": make_patch_pca_svc_pipeline,
}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, default=DEFAULT_TRAIN)
    parser.add_argument("--n-test", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-threads", type=int, default=1)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--output", default=None)
    return parser.parse_args()


def fitted_bare(factory, X, y, random_state):
    """The pipeline's features, fitted, and its bare SVC fitted on them."""
    model = factory(probability=False, random_state=random_state)
    features, svc = model[:-1], clone(model[-1])
    start = time.perf_counter()
    Z = features.fit_transform(X, y)
    svc.fit(Z, y)
    return features, svc, time.perf_counter() - start


def seconds_per_1000(predict, Z):
    start = time.perf_counter()
    labels = predict(Z)
    return (time.perf_counter() - start) / len(Z) * 1000, labels


def run_one(name, args, data):
    X, y, X_test, y_test = data
    features, svc, fit_s = fitted_bare(PIPELINES[name], X, y, args.random_state)
    Z_test = features.transform(X_test)
    libsvm, blas = [], []
    for _ in range(args.repeats):
        libsvm_s, libsvm_labels = seconds_per_1000(
            lambda Z: SVC.predict(svc, Z), Z_test
        )
        blas_s, blas_labels = seconds_per_1000(svc.predict, Z_test)
        libsvm.append(libsvm_s)
        blas.append(blas_s)
    row = {
        "pipeline": name,
        "n_train": len(y),
        "n_test": len(y_test),
        "n_features": Z_test.shape[1],
        "n_support_vectors": int(svc.n_support_.sum()),
        "fit_s": fit_s,
        "libsvm_s_per_1000": statistics.median(libsvm),
        "blas_s_per_1000": statistics.median(blas),
        "labels_differ": int((libsvm_labels != blas_labels).sum()),
        "test_accuracy": float(np.mean(blas_labels == y_test)),
    }
    row["speedup"] = row["libsvm_s_per_1000"] / row["blas_s_per_1000"]
    print(
        f"{name:14s} {row['n_support_vectors']:6d} SVs x {row['n_features']:3d} "
        f"features: libsvm {row['libsvm_s_per_1000']:.3f} s/1000, "
        f"BLAS {row['blas_s_per_1000']:.3f} s/1000, {row['speedup']:.1f}x; "
        f"labels differ on {row['labels_differ']}, test accuracy "
        f"{row['test_accuracy']:.4f}",
        flush=True,
    )
    return row


def main():
    args = parse_args()
    load_before = os.getloadavg()
    data = load(n_train=args.n_train, n_test=args.n_test)
    with threadpool_limits(args.n_threads):
        rows = [run_one(name, args, data) for name in PIPELINES]
    machine = environment(load_before)
    machine["blas_threads"] = args.n_threads
    suffix = "" if args.n_train == DEFAULT_TRAIN else f"_{args.n_train}"
    output = args.output or RESULTS_DIR / f"bench_svc_predict{suffix}.json"
    report = {
        "results": rows,
        "machine": machine,
        "repeats": args.repeats,
        "command": " ".join(sys.argv),
    }
    write_report(report, output)


if __name__ == "__main__":
    main()
