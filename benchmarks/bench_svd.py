"""Benchmark the classical classifiers on full Fashion-MNIST and MNIST.

Fits every chosen classifier on the 60,000 training images, predicts the
10,000 test images, prints a table sorted by test error with the fit and
predict times, and writes the figures to ``benchmarks/results/``.

Classifiers
-----------
reference-numpy     per-class SVD residual classifier in plain numpy (full
                    SVDs, float64): the figure to beat
subspace-k30        SVDSubspaceClassifier(30, center=True), float32, default
                    (Gram eigh) solver
subspace-k30-rand   the same with svd_solver="randomized"
subspace-k30-f64    the same on float64 input
pca50-svc           make_pca_svc_pipeline(50): PCA(50) + RBF SVC, C=10
patch-pca-svc-fast  make_patch_pca_svc_pipeline(8, n_components=200)
patch-pca-svc       make_patch_pca_svc_pipeline(): 16 PCA patch filters,
                    pooling, PCA(300) + RBF SVC, C=10
patch-pca-svc-24    make_patch_pca_svc_pipeline(24, n_components=500), bare
                    SVC (probability=False)
patch-pca-svc-mirror
                    the same in MirrorAugmentedClassifier: trained on the
                    images and their mirror images (twice the images)

Usage::

    python benchmarks/bench_svd.py                          # everything
    python benchmarks/bench_svd.py --datasets fashion --classifiers subspace-k30
    python benchmarks/bench_svd.py --n-threads 1            # one BLAS thread
    python benchmarks/bench_svd.py --datasets fashion --validation \
        --classifiers patch-pca-svc-24 patch-pca-svc-mirror  # choose on training data

``--validation`` fits on five sixths of the training images and scores the
other sixth (the split of ``accuracy.py --validation``) instead of the test
set.

The data come from ``fmnist_estimators.datasets`` without downloading: the
files must be in the data home (``FMNIST_ESTIMATORS_DATA``, with ``mnist/``
and ``fashion-mnist/`` folders) or, for Fashion-MNIST, Debian's system copy.
"""

import argparse
import os
import sys
import time

import numpy as np
from _common import (
    DATASETS,
    RESULTS_DIR,
    as_float32,
    environment,
    load,
    validation_split,
    write_report,
)
from sklearn.metrics import log_loss
from threadpoolctl import threadpool_limits

from fmnist_estimators import SVDSubspaceClassifier
from fmnist_estimators.classical import (
    MirrorAugmentedClassifier,
    make_patch_pca_svc_pipeline,
    make_pca_svc_pipeline,
)


class NumpyReference:
    """The plain per-class SVD classifier the package improves on.

    Full ``np.linalg.svd`` of each centred class, float64, and residuals
    ``||(I - V V^T)(x - m)||`` computed class by class.
    """

    def __init__(self, n_components=30):
        self.n_components = n_components

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        self.classes_ = np.unique(y)
        self.means_, self.bases_ = [], []
        for label in self.classes_:
            X_c = X[y == label]
            mean = X_c.mean(axis=0)
            Vt = np.linalg.svd(X_c - mean, full_matrices=False)[2]
            self.means_.append(mean)
            self.bases_.append(Vt[: self.n_components])
        return self

    def predict(self, X):
        X = np.asarray(X, dtype=np.float64)
        residuals = []
        for mean, Vt in zip(self.means_, self.bases_):
            D = X - mean
            residuals.append(np.linalg.norm(D - (D @ Vt.T) @ Vt, axis=1))
        return self.classes_[np.argmin(np.stack(residuals, axis=1), axis=1)]


def _patch_24(random_state):
    """24 patch filters and 500 components: 93.91 % against 93.70 % for the
    defaults on the validation sixth (``--validation``)."""
    return make_patch_pca_svc_pipeline(
        24, n_components=500, probability=False, random_state=random_state
    )


# name -> (factory(random_state), input conversion)
ESTIMATORS = {
    "reference-numpy": (lambda rs: NumpyReference(30), None),
    "subspace-k30": (lambda rs: SVDSubspaceClassifier(30), as_float32),
    "subspace-k30-rand": (
        lambda rs: SVDSubspaceClassifier(30, svd_solver="randomized", random_state=rs),
        as_float32,
    ),
    "subspace-k30-f64": (lambda rs: SVDSubspaceClassifier(30), None),
    "pca50-svc": (lambda rs: make_pca_svc_pipeline(50, random_state=rs), None),
    "patch-pca-svc-fast": (
        lambda rs: make_patch_pca_svc_pipeline(8, n_components=200, random_state=rs),
        None,
    ),
    "patch-pca-svc": (lambda rs: make_patch_pca_svc_pipeline(random_state=rs), None),
    "patch-pca-svc-24": (_patch_24, None),
    "patch-pca-svc-mirror": (lambda rs: MirrorAugmentedClassifier(_patch_24(rs)), None),
}


def bench(name, dataset, X, y, X_test, y_test, random_state, repeat=1):
    """Fit and predict `repeat` times; report the fastest of each."""
    factory, convert = ESTIMATORS[name]
    fit_times, predict_times = [], []
    for _ in range(repeat):
        estimator = factory(random_state)
        start = time.perf_counter()
        X_fit = convert(X) if convert else X
        estimator.fit(X_fit, y)
        fit_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        X_pred = convert(X_test) if convert else X_test
        y_pred = estimator.predict(X_pred)
        predict_times.append(time.perf_counter() - start)
    row = {
        "dataset": dataset,
        "classifier": name,
        "accuracy": float(np.mean(y_pred == y_test)),
        "fit_s": round(min(fit_times), 3),
        "predict_s": round(min(predict_times), 3),
        "repeats": repeat,
    }
    if hasattr(estimator, "predict_proba"):
        row["test_log_loss"] = round(
            float(log_loss(y_test, estimator.predict_proba(X_pred))), 4
        )
    return row


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--classifiers", nargs="+", choices=ESTIMATORS, default=list(ESTIMATORS)
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=DATASETS,
        default=list(DATASETS),
    )
    parser.add_argument(
        "--mnist-classifiers",
        nargs="+",
        choices=ESTIMATORS,
        default=["subspace-k30", "patch-pca-svc"],
        help="classifiers run on MNIST (default: the subspace and the best one)",
    )
    parser.add_argument("--n-threads", type=int, default=None, help="BLAS threads")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each subspace classifier; the fastest time is kept",
    )
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score a validation sixth of the training set, not the test set",
    )
    parser.add_argument("--output", default=str(RESULTS_DIR / "bench_svd.json"))
    return parser.parse_args()


def run_all(args):
    """A row per dataset and classifier of ``args``, printed as it is measured."""
    rows = []
    with threadpool_limits(args.n_threads):
        for dataset in args.datasets:
            print(f"Loading {dataset}")
            X, y, X_test, y_test = load(dataset)
            if args.validation:
                X, y, X_test, y_test = validation_split(X, y)
            print(f"  {X.shape[0]} train, {X_test.shape[0]} test images")
            names = args.classifiers if dataset == "fashion" else args.mnist_classifiers
            for name in names:
                print(f"  fitting {name} ...", flush=True)
                repeat = args.repeat if name.startswith("subspace") else 1
                row = bench(
                    name, dataset, X, y, X_test, y_test, args.random_seed, repeat
                )
                print(
                    f"    accuracy {row['accuracy']:.4f}  fit {row['fit_s']:.2f} s  "
                    f"predict {row['predict_s']:.2f} s",
                    flush=True,
                )
                rows.append(row)
    return rows


def print_table(rows):
    print()
    header = f"{'dataset':8s} {'classifier':18s} {'fit (s)':>8s} {'pred (s)':>9s}"
    print(header + f" {'error':>7s} {'accuracy':>9s}")
    print("-" * (len(header) + 18))
    for row in sorted(rows, key=lambda r: (r["dataset"], -r["accuracy"])):
        print(
            f"{row['dataset']:8s} {row['classifier']:18s} {row['fit_s']:8.2f} "
            f"{row['predict_s']:9.2f} {1 - row['accuracy']:7.4f} {row['accuracy']:9.4f}"
        )


def main():
    args = parse_args()
    load_before = os.getloadavg()
    rows = run_all(args)
    print_table(rows)
    machine = environment(load_before)
    machine["blas_threads"] = args.n_threads
    report = {
        "results": rows,
        "machine": machine,
        "random_seed": args.random_seed,
        "command": " ".join(sys.argv),
    }
    write_report(report, args.output)


if __name__ == "__main__":
    main()
