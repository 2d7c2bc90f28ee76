"""Benchmark DenseNetClassifier: speed against MLPClassifier, search, memory.

Three measurements on Fashion-MNIST, printed as tables and written to
``benchmarks/results/bench_dense.json``:

epochs   seconds per epoch of DenseNetClassifier((128,), adam), of
         scikit-learn's MLPClassifier((128,), solver="adam") and of the same
         network in plain Keras (Sequential, compile("adam"), model.fit) at
         batch 32 and 128 on the same images (raw uint8 for ours, X / 255 in
         float32 for the others), the ratios ours / MLP and ours / Keras, and
         test accuracies. Epoch time is fit wall time / epochs, so it includes
         building and tracing the network; the three fits alternate, and each
         figure is the median of ``repeats`` rounds, after one warm-up fit that
         absorbs TensorFlow's one-off start-up in the process.
grid     GridSearchCV over 4 candidates (hidden (64,), (128,) x dropout 0, 0.2;
         otherwise the defaults: batch 32, 10 epochs; cv=3), then over 8
         (the same x learning_rate 0.001, 0.002), each with n_jobs=1 and
         n_jobs=2: wall times and speed-up. The first n_jobs=2 search starts
         new worker processes, each of which imports TensorFlow (3-5 s, in
         parallel); a second one reuses them (warm). The start-up is paid
         once, so the larger grid shows how the speed-up grows with the
         size of the search.
memory   resident memory before and after many consecutive fits of a small
         network in one process: growth in total and per fit, for ours and
         for the same network built and fitted in plain Keras.

Usage::

    python benchmarks/bench_dense.py            # full: 60k images, 5 epochs
    python benchmarks/bench_dense.py --quick    # smoke run: 10k images, ~2 min
    python benchmarks/bench_dense.py --sections grid memory

The data come from ``fmnist_estimators.datasets.fetch_fashion_mnist`` without
downloading: the files must be in the data folder or Debian's system copy.
"""

import argparse
import functools
import os
import time
import warnings

import numpy as np
import psutil
from _common import RESULTS_DIR, environment, load, timed, write_report
from joblib.externals.loky import get_reusable_executor
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ParameterGrid
from sklearn.neural_network import MLPClassifier

from fmnist_estimators import DenseNetClassifier

# Sizes of the full benchmark and of the --quick smoke run.
SETTINGS = {
    "full": dict(
        n_train=60_000, epochs=5, repeats=3, grid_train=60_000, grid_epochs=10, fits=50
    ),
    "quick": dict(
        n_train=10_000, epochs=2, repeats=1, grid_train=5_000, grid_epochs=1, fits=10
    ),
}
BATCH_SIZES = (32, 128)
GRIDS = [
    {"hidden_layer_sizes": [(64,), (128,)], "dropout": [0.0, 0.2]},
    {
        "hidden_layer_sizes": [(64,), (128,)],
        "dropout": [0.0, 0.2],
        "learning_rate": [0.001, 0.002],
    },
]


def timed_fit(estimator, X, y):
    return timed(estimator.fit, X, y)


def warm_up(X, y, seed):
    """Seconds of one small fit, which pays TensorFlow's start-up in the process."""
    return timed_fit(
        DenseNetClassifier((128,), epochs=1, random_state=seed), X[:2000], y[:2000]
    )


def same_mlp(batch_size, epochs, seed):
    """scikit-learn's MLPClassifier of the same network (784-128-10, Adam)."""
    # tol=0 and patience past max_iter: the MLP runs every epoch, like ours.
    return MLPClassifier(
        (128,),
        solver="adam",
        batch_size=batch_size,
        max_iter=epochs,
        tol=0,
        n_iter_no_change=epochs + 1,
        early_stopping=False,
        random_state=seed,
    )


def user_keras_fit(X, y, batch_size, epochs, seed):
    """The same network as a Keras user writes it: ``model.fit`` on X / 255."""
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((X.shape[1],)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    model.fit(X, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return model


def bench_epochs(data, epochs, seed, repeats):
    """Seconds per epoch and test accuracy of ours, the MLP and plain Keras,
    per batch size.

    The three fits alternate within each of ``repeats`` rounds (the machine's
    drift hits them alike); each figure is the median, taken after one
    warm-up fit: the first Keras fit of a process also pays TensorFlow's
    one-off start-up (reported separately as ``process_warmup_s``).
    """
    X, y, X_test, y_test = data
    scaled, scaled_test = (X / np.float32(255)), (X_test / np.float32(255))
    warmup_s = warm_up(X, y, seed)
    print(f"  warm-up fit (2,000 images, 1 epoch): {warmup_s:.2f} s", flush=True)
    rows = []
    for batch_size in BATCH_SIZES:
        ours = DenseNetClassifier(
            (128,), batch_size=batch_size, epochs=epochs, random_state=seed
        )
        mlp = same_mlp(batch_size, epochs, seed)
        keras_fit = functools.partial(
            user_keras_fit, scaled, y, batch_size, epochs, seed
        )
        ours_s, mlp_s, keras_s = [], [], []
        for _ in range(repeats):
            ours_s.append(timed_fit(ours, X, y) / epochs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                mlp_s.append(timed_fit(mlp, scaled, y) / epochs)
            keras_s.append(timed(keras_fit) / epochs)
        ours_median, mlp_median = np.median(ours_s), np.median(mlp_s)
        keras_median = np.median(keras_s)
        rows.append(
            {
                "batch_size": batch_size,
                "ours_epoch_s": round(ours_median, 3),
                "mlp_epoch_s": round(mlp_median, 3),
                "keras_epoch_s": round(keras_median, 3),
                "ratio_ours_over_mlp": round(ours_median / mlp_median, 3),
                "ratio_ours_over_keras": round(ours_median / keras_median, 3),
                "ours_epoch_s_all": [round(t, 3) for t in ours_s],
                "mlp_epoch_s_all": [round(t, 3) for t in mlp_s],
                "keras_epoch_s_all": [round(t, 3) for t in keras_s],
                "ours_test_accuracy": round(float(ours.score(X_test, y_test)), 4),
                "mlp_test_accuracy": round(float(mlp.score(scaled_test, y_test)), 4),
                "process_warmup_s": round(warmup_s, 2),
            }
        )
        print_row(rows[-1])
    return rows


def bench_grid(X, y, grid, epochs, seed):
    """Wall time of the same search with one and with two processes."""
    estimator = DenseNetClassifier(epochs=epochs, random_state=seed)
    n_candidates = len(ParameterGrid(grid))
    print(f"GridSearchCV, {n_candidates} candidates x 3 folds on {len(X)} images")
    result = {"n_samples": len(X), "n_candidates": n_candidates, "cv": 3}
    result["epochs"] = epochs
    scores = {}
    for label, n_jobs in [("n_jobs_1", 1), ("n_jobs_2", 2), ("n_jobs_2_warm", 2)]:
        if label == "n_jobs_2":
            # Cold: new worker processes, which import TensorFlow. joblib
            # keeps them for the next search (warm).
            get_reusable_executor().shutdown(wait=True)
        search = GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs, refit=False)
        result[f"{label}_s"] = round(timed_fit(search, X, y), 2)
        scores[label] = search.cv_results_["mean_test_score"]
        print(f"  {label}: {result[f'{label}_s']:.1f} s", flush=True)
    result["speed_up"] = round(result["n_jobs_1_s"] / result["n_jobs_2_s"], 2)
    result["speed_up_warm"] = round(result["n_jobs_1_s"] / result["n_jobs_2_warm_s"], 2)
    result["best_score"] = round(float(scores["n_jobs_1"].max()), 4)
    # Thread counts change float summation order, so the scores may differ a bit.
    difference = np.abs(scores["n_jobs_1"] - scores["n_jobs_2"]).max()
    result["max_score_difference"] = round(float(difference), 4)
    return result


def rss_mb():
    return psutil.Process().memory_info().rss / 2**20


def bench_memory(X, y, n_fits, seed):
    """Resident memory growth over consecutive fits of a small network."""
    estimator = DenseNetClassifier((32,), epochs=1, random_state=seed)
    estimator.fit(X, y)  # TensorFlow's start-up memory is not a leak
    ours = rss_growth(lambda: estimator.fit(X, y), n_fits)
    # The same network built, compiled and fitted in plain Keras: how much of
    # the growth is Keras's own.
    keras_fit = functools.partial(plain_keras_fit, X * estimator.pixel_scale_, y)
    keras_fit()
    baseline = rss_growth(keras_fit, n_fits)
    return {"n_fits": n_fits, "n_samples": len(X), "ours": ours, "keras": baseline}


def rss_growth(fit, n_fits):
    before = rss_mb()
    start = time.perf_counter()
    for _ in range(n_fits):
        fit()
    seconds = time.perf_counter() - start
    after = rss_mb()
    return {
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "growth_mb": round(after - before, 1),
        "growth_per_fit_mb": round((after - before) / n_fits, 2),
        "seconds_per_fit": round(seconds / n_fits, 3),
    }


def plain_keras_fit(X, y):
    import keras

    from fmnist_estimators._keras._optimizers import STEPS_PER_EXECUTION

    inputs = keras.Input((X.shape[1],))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
    )
    model.fit(X.astype(np.float32), y, batch_size=32, epochs=1, verbose=0)


def print_row(row):
    print(
        f"  batch {row['batch_size']:4d}: ours {row['ours_epoch_s']:6.2f} s/epoch "
        f"({row['ours_test_accuracy']:.4f}), MLP {row['mlp_epoch_s']:6.2f} s/epoch "
        f"({row['mlp_test_accuracy']:.4f}), Keras {row['keras_epoch_s']:6.2f} "
        f"s/epoch; ours / MLP {row['ratio_ours_over_mlp']:.2f}, "
        f"ours / Keras {row['ratio_ours_over_keras']:.2f}",
        flush=True,
    )


def print_summary(report):
    print("\nsection  figure                             value")
    print("-" * 52)
    for row in report.get("epochs", []):
        name = f"s/epoch ours / MLP / Keras, batch {row['batch_size']}"
        value = (
            f"{row['ours_epoch_s']:.2f} / {row['mlp_epoch_s']:.2f} / "
            f"{row['keras_epoch_s']:.2f}"
        )
        print(f"epochs   {name:34s} {value}")
    for grid in report.get("grids", []):
        fits = f"{grid['n_candidates']} x {grid['cv']} fits"
        times = [
            grid[f"{label}_s"] for label in ("n_jobs_1", "n_jobs_2", "n_jobs_2_warm")
        ]
        value = " / ".join(f"{t:.1f}" for t in times)
        print(f"grid     {fits + ', s n_jobs=1 / 2 / 2 warm':34s} {value}")
        speed_up = f"{grid['speed_up']:.2f} ({grid['speed_up_warm']:.2f} warm)"
        print(f"grid     {fits + ', speed-up':34s} {speed_up}")
    if "memory" in report:
        memory = report["memory"]
        for source in ("ours", "keras"):
            growth = memory[source]
            name = f"RSS growth, {memory['n_fits']} fits, {source} (MB)"
            value = f"{growth['growth_mb']:.1f} ({growth['growth_per_fit_mb']:.2f}/fit)"
            print(f"memory   {name:34s} {value}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=["epochs", "grid", "memory"],
        default=["epochs", "grid", "memory"],
    )
    parser.add_argument("--epochs", type=int, help="epochs of the speed comparison")
    parser.add_argument("--n-fits", type=int, help="fits of the memory measurement")
    parser.add_argument("--repeats", type=int, help="fits per epoch-time figure")
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--output", default=str(RESULTS_DIR / "bench_dense.json"))
    return parser.parse_args()


def main():
    args = parse_args()
    settings = dict(SETTINGS["quick" if args.quick else "full"])
    settings["epochs"] = args.epochs or settings["epochs"]
    settings["fits"] = args.n_fits or settings["fits"]
    settings["repeats"] = args.repeats or settings["repeats"]
    seed = args.random_seed
    data = load("fashion", n_train=settings["n_train"])
    X, y = data[:2]
    load_before = os.getloadavg()

    report = {"settings": settings}
    if "epochs" in args.sections:
        print(f"Epoch time on {len(X)} images, {settings['epochs']} epochs")
        report["epochs"] = bench_epochs(
            data, settings["epochs"], seed, settings["repeats"]
        )
    if "grid" in args.sections:
        n = settings["grid_train"]
        # TensorFlow's start-up in this process is not part of the n_jobs=1 time.
        warm_up(X, y, seed)
        report["grids"] = [
            bench_grid(X[:n], y[:n], grid, settings["grid_epochs"], seed)
            for grid in GRIDS
        ]
    if "memory" in args.sections:
        print(f"Memory over {settings['fits']} fits on 2000 images, ours and Keras")
        report["memory"] = bench_memory(X[:2000], y[:2000], settings["fits"], seed)
    print_summary(report)

    report["machine"] = environment(load_before)
    report["random_seed"] = seed
    write_report(report, args.output)


if __name__ == "__main__":
    main()
