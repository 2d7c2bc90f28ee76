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

Usage::

    python benchmarks/bench_svd.py                          # everything
    python benchmarks/bench_svd.py --datasets fashion --classifiers subspace-k30
    python benchmarks/bench_svd.py --n-threads 1            # one BLAS thread

The data come from ``fmnist_estimators.datasets`` (no download: the files must
be in the data folder or, for Fashion-MNIST, Debian's system copy), falling
back to reading the IDX files in ``--fashion-dir`` / ``--mnist-dir``.
"""

import argparse
import gzip
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.metrics import log_loss
from threadpoolctl import threadpool_limits

from fmnist_estimators import SVDSubspaceClassifier
from fmnist_estimators.classical import (
    make_patch_pca_svc_pipeline,
    make_pca_svc_pipeline,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DIRS = {
    "fashion": "/usr/share/datasets/fashion-mnist",
    "mnist": str(Path(__file__).resolve().parents[1] / "../shared/data/mnist"),
}


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


def _as_float32(X):
    return X.astype(np.float32)


# name -> (factory(random_state), input conversion)
ESTIMATORS = {
    "reference-numpy": (lambda rs: NumpyReference(30), None),
    "subspace-k30": (lambda rs: SVDSubspaceClassifier(30), _as_float32),
    "subspace-k30-rand": (
        lambda rs: SVDSubspaceClassifier(30, svd_solver="randomized", random_state=rs),
        _as_float32,
    ),
    "subspace-k30-f64": (lambda rs: SVDSubspaceClassifier(30), None),
    "pca50-svc": (lambda rs: make_pca_svc_pipeline(50, random_state=rs), None),
    "patch-pca-svc-fast": (
        lambda rs: make_patch_pca_svc_pipeline(8, n_components=200, random_state=rs),
        None,
    ),
    "patch-pca-svc": (lambda rs: make_patch_pca_svc_pipeline(random_state=rs), None),
}


def _read_idx(directory, prefix):
    directory = Path(directory)
    with gzip.open(directory / f"{prefix}-images-idx3-ubyte.gz") as f:
        X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(directory / f"{prefix}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return X, y


def load(dataset, directory):
    """Train and test arrays, from the package's fetchers or the IDX files."""
    try:
        from fmnist_estimators.datasets import fetch_fashion_mnist, fetch_mnist

        fetch = fetch_fashion_mnist if dataset == "fashion" else fetch_mnist
        X, y = fetch(subset="train", download_if_missing=False, return_X_y=True)
        X_test, y_test = fetch(
            subset="test", download_if_missing=False, return_X_y=True
        )
        return X, y, X_test, y_test, "fmnist_estimators.datasets"
    except (ImportError, OSError) as exc:
        print(f"  package fetcher unavailable ({exc.__class__.__name__}: {exc});")
        print(f"  reading IDX files from {directory}")
    X, y = _read_idx(directory, "train")
    X_test, y_test = _read_idx(directory, "t10k")
    return X, y, X_test, y_test, str(directory)


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--classifiers", nargs="+", choices=ESTIMATORS, default=list(ESTIMATORS)
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        choices=["fashion", "mnist"],
        default=["fashion", "mnist"],
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
    parser.add_argument("--fashion-dir", default=DEFAULT_DIRS["fashion"])
    parser.add_argument("--mnist-dir", default=DEFAULT_DIRS["mnist"])
    parser.add_argument("--output", default=str(RESULTS_DIR / "bench_svd.json"))
    args = parser.parse_args()

    load_before = os.getloadavg()
    rows = []
    with threadpool_limits(args.n_threads):
        for dataset in args.datasets:
            directory = args.fashion_dir if dataset == "fashion" else args.mnist_dir
            print(f"Loading {dataset}")
            X, y, X_test, y_test, source = load(dataset, directory)
            print(f"  {X.shape[0]} train, {X_test.shape[0]} test images from {source}")
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

    print()
    header = f"{'dataset':8s} {'classifier':18s} {'fit (s)':>8s} {'pred (s)':>9s}"
    print(header + f" {'error':>7s} {'accuracy':>9s}")
    print("-" * (len(header) + 18))
    for row in sorted(rows, key=lambda r: (r["dataset"], -r["accuracy"])):
        print(
            f"{row['dataset']:8s} {row['classifier']:18s} {row['fit_s']:8.2f} "
            f"{row['predict_s']:9.2f} {1 - row['accuracy']:7.4f} {row['accuracy']:9.4f}"
        )

    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "results": rows,
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "blas_threads": args.n_threads,
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "random_seed": args.random_seed,
        "command": " ".join(sys.argv),
    }
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {output}")


if __name__ == "__main__":
    main()
