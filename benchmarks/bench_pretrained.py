"""PretrainedNetClassifier: seconds per epoch per backbone, and what caching saves.

For each backbone at its smallest input size, on ``--n-time`` training images
(timings scale linearly with the number of images, so the script reports
them per 60,000, the full training set):

- ``features``: one pass of the frozen backbone (what a frozen fit pays once,
  ``trainable="head"``), plus ``fit_overhead_s``, building the network, once
  per fit whatever the data (not scaled);
- ``head epoch``: one epoch of the head on those cached features (timed by a
  Keras callback);
- ``frozen epoch, no cache``: one epoch of the same network trained as one
  Keras model with the backbone frozen, the way a plain Keras script does it
  (a forward pass through the backbone per batch);
- ``fine-tune epoch``: one epoch with ``trainable="all"`` (forward and backward
  through the backbone).

Then, with ``--accuracy``, test accuracy on the full data of a frozen
backbone (``--accuracy-backbones``), with random weights: this machine has no
internet access for the ImageNet files. Writes ``results/bench_pretrained.json``.

Usage::

    python benchmarks/bench_pretrained.py [--n-time 1024] [--accuracy]
"""

import argparse
import os
import sys
import time

import numpy as np
from _common import RESULTS_DIR, environment, load, timed, write_report

FULL = 60_000
BACKBONES = [
    "mobilenet_v2",
    "efficientnet_b0",
    "resnet50",
    "resnet101",
    "resnet152",
    "vgg16",
    "vgg19",
    "inception_v3",
]


def epoch_timer():
    """A Keras callback recording each epoch's seconds in ``durations``.

    The estimator trains a copy of its callbacks; the list is shared.
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        durations = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.durations.append(time.perf_counter() - self._start)

    return EpochTimer()


def time_backbone(backbone, X, y, batch_size):
    """Seconds of each stage on ``X``; parameters of the network."""
    from fmnist_estimators import PretrainedNetClassifier

    common = dict(weights=None, batch_size=batch_size, random_state=0)
    frozen = PretrainedNetClassifier(backbone, epochs=1, **common)
    frozen.fit(X[: 2 * batch_size], y[: 2 * batch_size])  # first-time costs
    timer = epoch_timer()
    fit_1 = timed(lambda: frozen.set_params(callbacks=[timer]).fit(X, y))
    frozen.set_params(epochs=4).fit(X, y)
    # The head's own epochs, timed inside Keras (the first one traces).
    head_epoch = float(np.median(timer.durations[-3:]))
    # One pass through the backbone (and the head's few operations), traced.
    frozen.predict_proba(X)
    features = timed(lambda: frozen.predict_proba(X))
    overhead = fit_1 - features - head_epoch  # building the network: per fit

    # The plain Keras way: the same network (backbone frozen) compiled and
    # fitted as one model, images through the backbone at every epoch.
    model = frozen.model_
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    images = X.reshape(-1, 28, 28, 1)
    model.fit(images[:batch_size], y[:batch_size], epochs=1, verbose=0)  # trace
    no_cache = timed(
        lambda: model.fit(images, y, batch_size=batch_size, epochs=1, verbose=0)
    )

    tuned = PretrainedNetClassifier(backbone, trainable="all", epochs=1, **common)
    tuned.fit(X[:batch_size], y[:batch_size])  # build and trace once
    tuned.set_params(warm_start=True)
    fine_tune = timed(lambda: tuned.fit(X, y))
    features_model = tuned.model_.get_layer("features")
    return {
        "backbone": backbone,
        "input_size": int(features_model.get_layer("resize").height),
        "parameters": int(tuned.model_.count_params()),
        "fit_overhead_s": overhead,
        "features_s": features,
        "head_epoch_s": head_epoch,
        "frozen_epoch_no_cache_s": no_cache,
        "fine_tune_epoch_s": fine_tune,
    }


def accuracy(backbone, epochs, batch_size):
    from fmnist_estimators import PretrainedNetClassifier

    X, y, X_test, y_test = load("fashion")
    clf = PretrainedNetClassifier(
        backbone, weights=None, epochs=epochs, batch_size=batch_size, random_state=0
    )
    fit_s = timed(lambda: clf.fit(X, y))
    score = clf.score(X_test, y_test)
    return {
        "backbone": backbone,
        "weights": None,
        "trainable": "head",
        "epochs": epochs,
        "fit_s": fit_s,
        "test_accuracy": float(score),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # A multiple of the batch size: no last, smaller batch to trace anew.
    parser.add_argument("--n-time", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--backbones", nargs="+", default=BACKBONES)
    parser.add_argument("--accuracy", action="store_true")
    parser.add_argument(
        "--accuracy-backbones", nargs="+", default=["mobilenet_v2", "resnet50"]
    )
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    X, y, _, _ = load("fashion", n_train=args.n_time, n_test=0)
    scale = FULL / len(X)
    rows = []
    print(f"seconds per {FULL:,} images (measured on {len(X):,}, scaled x{scale:g})")
    print(
        f"{'backbone':16} {'size':>4} {'params':>11} {'features':>9} "
        f"{'head ep.':>9} {'no cache':>9} {'fine-tune':>10} {'build':>6}"
    )
    for backbone in args.backbones:
        row = time_backbone(backbone, X, y, args.batch_size)
        for key in list(row):
            if key.endswith("_s") and key != "fit_overhead_s":
                row[key.replace("_s", "_per_60k_s")] = row[key] * scale
        rows.append(row)
        print(
            f"{backbone:16} {row['input_size']:4d} {row['parameters']:11,d} "
            f"{row['features_per_60k_s']:9.0f} {row['head_epoch_per_60k_s']:9.1f} "
            f"{row['frozen_epoch_no_cache_per_60k_s']:9.0f} "
            f"{row['fine_tune_epoch_per_60k_s']:10.0f} {row['fit_overhead_s']:6.1f}",
            flush=True,
        )
    accuracies = []
    if args.accuracy:
        for backbone in args.accuracy_backbones:
            result = accuracy(backbone, args.epochs, args.batch_size)
            accuracies.append(result)
            print(
                f"{backbone}: random weights, frozen, {args.epochs} head epochs on "
                f"60,000 images: test {result['test_accuracy']:.4f}, fit "
                f"{result['fit_s']:.0f} s",
                flush=True,
            )
    write_report(
        {
            "config": vars(args),
            "environment": environment(load_before),
            "timings": rows,
            "accuracy": accuracies,
        },
        RESULTS_DIR / "bench_pretrained.json",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
