"""Where DenseNetClassifier's epoch goes: compute, input pipeline, engine.

The network of ``bench_dense.py`` (784-128-10, Adam) on Fashion-MNIST's
training images, at batch 32 and 128. Each figure is seconds per epoch,
measured as the *marginal* epoch: (time of ``1 + epochs`` epochs - time of 1
epoch) / ``epochs``, so the fixed cost of a fit (building, tracing) is
reported apart. The variants peel one layer off at a time:

ours          ``DenseNetClassifier.fit`` (scikeras, our callbacks, Keras).
mlp           scikit-learn's ``MLPClassifier`` (same network, Adam, X / 255),
              for scale.
keras_arrays  The same compiled model, ``model.fit`` on the NumPy arrays
              (Keras shuffles and gathers each batch every epoch).
graph_loop    One ``tf.function`` per epoch that slices the batches from a
              tensor and runs forward, backward and the optimizer's update:
              the step's compute with no input pipeline and no fit loop.
gemm_floor    NumPy's float32 matrix products of the same steps (the
              machine's BLAS, all cores): the five products training needs
              (24.5 GFLOP per epoch at 60,000 images), and with the input's
              gradient too (36.6 GFLOP, the usual 3 x forward count).

Differences name the parts: the fit's engine and callbacks (ours -
keras_arrays), Keras's fit loop and input pipeline together (keras_arrays -
graph_loop; a ``tf.data`` dataset batched and cached in memory was no faster
than Keras's own pipeline on the arrays, so the two are not told apart), and
the step's distance from the GEMM floor (graph_loop / gemm_floor). Each
figure is the median of ``--repeats`` rounds. Prints a table and writes
``benchmarks/results/bench_dense_breakdown.json``.

Usage::

    python benchmarks/bench_dense_breakdown.py            # 60k images, ~6 min
    python benchmarks/bench_dense_breakdown.py --quick    # 10k images
"""

import argparse
import os
import time
import warnings

import numpy as np
from _common import RESULTS_DIR, environment, load, timed, write_report
from bench_dense import same_mlp, warm_up
from sklearn.exceptions import ConvergenceWarning

from fmnist_estimators import DenseNetClassifier

BATCH_SIZES = (32, 128)
HIDDEN = 128  # as bench_dense.py's network


def marginal_epoch(fit, epochs):
    """Seconds per epoch beyond the first, and the fixed cost of a fit."""
    one = timed(fit, 1)
    more = timed(fit, 1 + epochs)
    per_epoch = (more - one) / epochs
    return per_epoch, one - per_epoch


def ours_fit(X, y, batch_size, seed):
    def fit(epochs):
        DenseNetClassifier(
            (HIDDEN,), batch_size=batch_size, epochs=epochs, random_state=seed
        ).fit(X, y)

    return fit


def mlp_fit(X, y, batch_size, seed):
    """scikit-learn's MLPClassifier, same network, every epoch run."""
    X = X / np.float32(255)

    def fit(epochs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            same_mlp(batch_size, epochs, seed).fit(X, y)

    return fit


def keras_fit(model, data, **options):
    def fit(epochs):
        model.fit(*data, epochs=epochs, verbose=0, **options)

    return fit


def graph_epoch(model, X, y, batch_size):
    """A ``tf.function`` that trains ``model`` one epoch, in order, on batches
    sliced from tensors: forward, loss, gradients, the optimizer's update."""
    import keras
    import tensorflow as tf

    X, y = tf.constant(X), tf.constant(y)
    steps = -(-int(X.shape[0]) // batch_size)
    loss = keras.losses.SparseCategoricalCrossentropy()
    variables = model.trainable_variables

    @tf.function
    def epoch():
        for step in tf.range(steps):
            rows = slice(step * batch_size, (step + 1) * batch_size)
            with tf.GradientTape() as tape:
                value = loss(y[rows], model(X[rows], training=True))
            gradients = tape.gradient(value, variables)
            model.optimizer.apply_gradients(zip(gradients, variables))

    return epoch


def gemm_seconds(batch_size, n_features, input_gradient, repeats=400):
    """Seconds of one training step's float32 matrix products in NumPy."""
    rng = np.random.default_rng(0)
    x = rng.random((batch_size, n_features), dtype=np.float32)
    w1 = rng.random((n_features, HIDDEN), dtype=np.float32)
    h = rng.random((batch_size, HIDDEN), dtype=np.float32)
    w2 = rng.random((HIDDEN, 10), dtype=np.float32)
    out = rng.random((batch_size, 10), dtype=np.float32)

    def step():
        x @ w1, h @ w2  # forward
        h.T @ out, out @ w2.T, x.T @ h  # weights' and hidden layer's gradients
        if input_gradient:
            h @ w1.T

    for _ in range(repeats // 10):  # warm the caches and BLAS's threads
        step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def gflop_per_epoch(n_samples, n_features, input_gradient):
    forward = n_features * HIDDEN + HIDDEN * 10
    products = 3 * forward if input_gradient else 3 * forward - n_features * HIDDEN
    return 2 * n_samples * products / 1e9


def breakdown(X, y, batch_size, epochs, seed, repeats):
    """Seconds per epoch of each variant (medians of ``repeats`` rounds) and
    the parts they name."""
    # The model our fit compiled (optimizer, loss, steps_per_execution), with
    # none of our callbacks, for Keras's fit on the arrays and the graph loop.
    estimator = DenseNetClassifier((HIDDEN,), batch_size=batch_size, epochs=1)
    estimator.set_params(random_state=seed).fit(X, y)
    model, labels = estimator.model_, np.searchsorted(estimator.classes_, y)
    epoch = graph_epoch(model, X, labels, batch_size)
    epoch()  # trace
    rounds = {"ours": [], "fixed": [], "arrays": [], "graph": [], "mlp": []}
    for _ in range(repeats):  # alternate, so that the machine's drift hits all
        ours_s, fixed_s = marginal_epoch(ours_fit(X, y, batch_size, seed), epochs)
        rounds["ours"].append(ours_s)
        rounds["fixed"].append(fixed_s)
        arrays = keras_fit(model, (X, labels), batch_size=batch_size)
        rounds["arrays"].append(marginal_epoch(arrays, epochs)[0])
        rounds["graph"].append(timed(epoch))
        rounds["mlp"].append(marginal_epoch(mlp_fit(X, y, batch_size, seed), epochs)[0])
    medians = (np.median(v) for v in rounds.values())
    ours_s, fixed_s, arrays_s, graph_s, mlp_s = medians
    steps = -(-len(X) // batch_size)
    n_features = X.shape[1]
    floor_s = steps * gemm_seconds(batch_size, n_features, input_gradient=False)
    floor_dx_s = steps * gemm_seconds(batch_size, n_features, input_gradient=True)
    gflop = gflop_per_epoch(len(X), n_features, input_gradient=False)
    row = {
        "batch_size": batch_size,
        "steps_per_epoch": steps,
        "ours_epoch_s": ours_s,
        "ours_fixed_per_fit_s": fixed_s,
        "keras_arrays_epoch_s": arrays_s,
        "mlp_epoch_s": mlp_s,
        "ours_over_mlp": ours_s / mlp_s,
        "graph_loop_epoch_s": graph_s,
        "gemm_floor_epoch_s": floor_s,
        "gemm_floor_with_input_gradient_epoch_s": floor_dx_s,
        "engine_and_callbacks_s": ours_s - arrays_s,
        "fit_loop_and_input_s": arrays_s - graph_s,
        "step_compute_s": graph_s,
        "compute_over_floor": graph_s / floor_s,
        "gflop_per_epoch": gflop,
        "compute_gflops": gflop / graph_s,
        "floor_gflops": gflop / floor_s,
        "rounds": {k: [round(float(t), 4) for t in v] for k, v in rounds.items()},
    }
    return {
        k: round(float(v), 4) if isinstance(v, float) else v for k, v in row.items()
    }


def print_rows(rows):
    parts = [
        ("ours (fit)", "ours_epoch_s"),
        ("  engine and callbacks", "engine_and_callbacks_s"),
        ("  Keras's fit loop and input pipeline", "fit_loop_and_input_s"),
        ("  step compute (graph loop)", "step_compute_s"),
        ("GEMM floor (NumPy)", "gemm_floor_epoch_s"),
        ("GEMM floor with input gradient", "gemm_floor_with_input_gradient_epoch_s"),
        ("fixed cost per fit", "ours_fixed_per_fit_s"),
        ("MLPClassifier (scikit-learn)", "mlp_epoch_s"),
    ]
    print(
        f"\n{'seconds per epoch':40s}"
        + "".join(f"  batch {r['batch_size']:<5d}" for r in rows)
    )
    for label, key in parts:
        print(f"{label:40s}" + "".join(f"  {r[key]:11.3f}" for r in rows))
    print(
        f"{'compute / floor':40s}"
        + "".join(f"  {r['compute_over_floor']:11.2f}" for r in rows)
    )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 images")
    parser.add_argument("--epochs", type=int, default=3, help="epochs measured")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per figure")
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument(
        "--output", default=str(RESULTS_DIR / "bench_dense_breakdown.json")
    )
    return parser.parse_args()


def main():
    args = parse_args()
    X, y, _, _ = load("fashion", n_train=10_000 if args.quick else None, n_test=0)
    load_before = os.getloadavg()
    warm_up(X, y, args.random_seed)  # TensorFlow's start-up: in no figure
    rows = []
    for batch_size in BATCH_SIZES:
        print(f"batch {batch_size}: {len(X)} images, {args.epochs} epochs", flush=True)
        rows.append(
            breakdown(X, y, batch_size, args.epochs, args.random_seed, args.repeats)
        )
    print_rows(rows)
    report = {
        "settings": {
            "n_train": len(X),
            "epochs": args.epochs,
            "repeats": args.repeats,
            "hidden": HIDDEN,
        },
        "breakdown": rows,
        "machine": environment(load_before),
        "random_seed": args.random_seed,
    }
    write_report(report, args.output)


if __name__ == "__main__":
    main()
