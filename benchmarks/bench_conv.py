"""Benchmark ConvNetClassifier presets: epoch time, overhead, accuracy vs time.

Timing mode (default)
    For each preset, seconds per epoch of 60,000 images: one epoch on a slice
    (``--slice`` images) is timed after a warm-up epoch that builds and
    compiles the network, and scaled to 60,000. Networks are compiled as they
    would be for the full training set (XLA where the layers allow it). Each
    preset's forward work per image (2 x multiply-adds of its convolutions and
    dense layers) gives the GFLOP/s its training reaches (3 x forward work per
    image, the backward pass counted twice the forward), compared with NumPy's
    float32 matrix multiply on every core, measured in the same run. For
    ``--overhead-preset`` (default "fast") the same Keras model (architecture
    cloned from ``model_``, same optimizer, loss, metrics and
    ``steps_per_execution``) is also trained with plain ``model.fit`` on the
    same slice and batch size; the ratio of the two epoch times is the cost of
    the estimator around Keras. Plain Keras is timed twice: as it comes, and
    on the same kind of ``tf.data`` pipeline as Keras builds for arrays
    (shuffled indices, each batch gathered) without tf.data's autotuning, as
    the package trains, because the autotuning thread holds the end of
    many short fits until about 5 s after their start, which would count its
    stall against Keras. Results: ``benchmarks/results/bench_conv.json``.

Training mode (``--train PRESET``)
    Fits one preset on the training images (all 60,000 by default) one epoch
    per ``partial_fit`` call, printing test accuracy on the 10,000 test images
    and wall time after each epoch: accuracy against training time. Results:
    ``benchmarks/results/bench_conv_train_PRESET.json``.

Layers mode (``--layers PRESET``)
    Where a preset's training step goes: each layer of its network, alone,
    runs forward and backward (gradients of the input and of its weights,
    ``training=True``) on one batch of the activations it receives from real
    training images; the best of 5 rounds of 10 calls. The sum is compared
    with the step time of a warm epoch on the slice. Results:
    ``benchmarks/results/bench_conv_layers_PRESET.json``.

Usage::

    python benchmarks/bench_conv.py                      # timing, 6 presets
    python benchmarks/bench_conv.py --include-grouped    # also the wide one
    python benchmarks/bench_conv.py --train fast         # preset's own epochs
    python benchmarks/bench_conv.py --train grouped_small --epochs 15
    python benchmarks/bench_conv.py --quick              # smoke run, ~2 min
    python benchmarks/bench_conv.py --quick --train fast --epochs 2
    python benchmarks/bench_conv.py --layers fast_plus   # time of each layer

The data come from ``fmnist_estimators.datasets.fetch_fashion_mnist`` without
downloading.
"""

import argparse
import math
import os

import numpy as np
from _common import (
    RESULTS_DIR,
    environment,
    load,
    timed,
    train_by_epoch,
    write_report,
)

from fmnist_estimators import CONVNET_PRESETS, ConvNetClassifier

TIMED_PRESETS = [
    "tf_tutorial",
    "two_block",
    "three_conv_bn",
    "grouped_small",
    "fast",
    "fast_plus",
]
N_FULL = 60_000


def forward_flop_per_image(model):
    """Multiply-adds x 2 of one image's forward pass through convs and dense layers.

    A convolution counts 2 * H_out * W_out * k_h * k_w * C_in * C_out, a dense
    layer 2 * inputs * units; batch norm, activations and pooling (a few
    operations per value) are left out.
    """
    import keras

    flop = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output.shape[1:3]
            flop += 2 * height * width * math.prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Dense):
            flop += 2 * math.prod(layer.kernel.shape)
    return flop


def gemm_peak_gflops(size=2048, repeats=5):
    """float32 matrix-multiply GFLOP/s of NumPy's BLAS on every core (best of)."""
    rng = np.random.default_rng(0)
    a, b = (rng.random((size, size), dtype=np.float32) for _ in range(2))
    a @ b  # warm-up
    best = min(timed(np.matmul, a, b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def time_preset(name, X, y, seed, peak_gflops=None):
    """Warm-up and warm epoch times of one preset on ``X``, and its GFLOP/s."""
    estimator = ConvNetClassifier.from_preset(name, epochs=1, random_state=seed)
    warm_up_s = timed(estimator.fit, X, y)
    epoch_s = timed(estimator.set_params(warm_start=True).fit, X, y)
    forward = forward_flop_per_image(estimator.model_)
    # A training step: the forward pass and a backward pass of twice its work.
    gflops = 3 * forward * len(X) / epoch_s / 1e9
    row = {
        "preset": name,
        "random_state": seed,
        "parameters": estimator.model_.count_params(),
        "batch_size": estimator.batch_size,
        "jit_compile": bool(estimator.model_.jit_compile),
        "warm_up_s": round(warm_up_s, 2),
        "epoch_s": round(epoch_s, 3),
        "epoch_s_per_60k": round(epoch_s * N_FULL / len(X), 1),
        "forward_mflop_per_image": round(forward / 1e6, 2),
        "training_gflops": round(gflops, 1),
    }
    if peak_gflops:
        row["fraction_of_gemm_peak"] = round(gflops / peak_gflops, 3)
    label = name if seed is not None else f"{name}, unseeded"
    print(
        f"  {label:22s} {row['parameters']:>9,d} params  warm-up {warm_up_s:6.1f} s"
        f"  epoch {epoch_s:6.2f} s  -> {row['epoch_s_per_60k']:7.1f} s per 60k",
        flush=True,
    )
    return estimator, row


def plain_keras_epoch_s(estimator, X, y):
    """Warm epoch times of ``estimator.model_``'s architecture in plain Keras:
    on the arrays, and on a tf.data pipeline without autotuning."""
    import keras
    import tensorflow as tf

    from fmnist_estimators._keras._optimizers import STEPS_PER_EXECUTION

    source = estimator.model_
    model = keras.models.clone_model(source)
    model.compile(
        optimizer=keras.optimizers.deserialize(
            keras.optimizers.serialize(source.optimizer)
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=STEPS_PER_EXECUTION,
        jit_compile=source.jit_compile,
    )
    # The clone keeps the model's first layer, which scales the raw pixels.
    images = X.reshape(-1, *source.input_shape[1:])
    fit = dict(batch_size=estimator.batch_size, epochs=1, verbose=0, shuffle=True)
    timed(model.fit, images, y, **fit)  # warm-up: build and compile
    arrays_s = timed(model.fit, images, y, **fit)
    # Keras's own pipeline for arrays, without autotuning: shuffled indices
    # in batches, each batch gathered from the arrays.
    options = tf.data.Options()
    options.autotune.enabled = False
    images_t, y_t = tf.constant(images, tf.float32), tf.constant(y)
    pipeline = (
        tf.data.Dataset.range(len(images))
        .shuffle(len(images))
        .batch(estimator.batch_size)
        .map(lambda i: (tf.gather(images_t, i), tf.gather(y_t, i)))
        .prefetch(1)
        .with_options(options)
    )
    timed(model.fit, pipeline, epochs=1, verbose=0)  # warm-up: a new input
    return arrays_s, timed(model.fit, pipeline, epochs=1, verbose=0)


def run_timing(args, n_slice):
    X, y, _, _ = load("fashion", n_train=n_slice, n_test=0)
    presets = TIMED_PRESETS + ["grouped"] * args.include_grouped
    peak = gemm_peak_gflops()
    print(f"NumPy float32 matrix multiply, every core: {peak:.0f} GFLOP/s")
    print(f"Epoch time per preset, timed on {n_slice} images")
    rows, estimators = [], {}
    for name in presets:
        estimators[name], row = time_preset(name, X, y, args.random_seed, peak)
        rows.append(row)
    name = args.overhead_preset
    if name not in estimators:
        estimators[name], row = time_preset(name, X, y, args.random_seed)
        rows.append(row)
    report = {"n_slice": n_slice, "gemm_peak_gflops": round(peak, 1), "presets": rows}
    ours = next(row["epoch_s"] for row in rows if row["preset"] == name)
    # Seeding each fit costs time of its own (with XLA, a recompilation), so
    # the wrapper's overhead is also measured without a random_state.
    _, unseeded = time_preset(name, X, y, None)
    keras_s, untuned_s = plain_keras_epoch_s(estimators[name], X, y)
    report["overhead"] = {
        "preset": name,
        "ours_epoch_s": ours,
        "ours_unseeded_epoch_s": unseeded["epoch_s"],
        "keras_epoch_s": round(keras_s, 3),
        "keras_untuned_epoch_s": round(untuned_s, 3),
        "ratio_ours_over_keras": round(ours / keras_s, 3),
        "ratio_unseeded_over_keras": round(unseeded["epoch_s"] / keras_s, 3),
        "ratio_ours_over_keras_untuned": round(ours / untuned_s, 3),
    }
    print_timing(report)
    return report


def print_timing(report):
    print(
        f"\n{'preset':14s} {'params':>10s} {'s/epoch (60k)':>14s} "
        f"{'MFLOP/image':>12s} {'GFLOP/s':>8s} {'of peak':>8s}"
    )
    print("-" * 71)
    for row in sorted(report["presets"], key=lambda row: row["epoch_s_per_60k"]):
        print(
            f"{row['preset']:14s} {row['parameters']:>10,d} "
            f"{row['epoch_s_per_60k']:14.1f} {row['forward_mflop_per_image']:12.1f} "
            f"{row['training_gflops']:8.1f} {row.get('fraction_of_gemm_peak', 0):8.0%}"
        )
    overhead = report["overhead"]
    print(
        f"\noverhead of the estimator ({overhead['preset']}), s per epoch on the slice:"
    )
    print(
        f"  ours {overhead['ours_epoch_s']:.2f}, unseeded "
        f"{overhead['ours_unseeded_epoch_s']:.2f}, plain Keras "
        f"{overhead['keras_epoch_s']:.2f}; ratios "
        f"{overhead['ratio_ours_over_keras']:.2f} and "
        f"{overhead['ratio_unseeded_over_keras']:.2f}"
    )
    print(
        f"  plain Keras without tf.data's autotuning "
        f"{overhead['keras_untuned_epoch_s']:.2f}; ratio "
        f"{overhead['ratio_ours_over_keras_untuned']:.2f}"
    )


def layer_step_ms(layer, x, rounds=5, calls=10):
    """Milliseconds of one forward and backward pass of ``layer`` on ``x``
    (best of ``rounds`` rounds of ``calls`` calls)."""
    import tensorflow as tf

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(layer(x, training=True))
        return tape.gradient(total, [x, *layer.trainable_variables])

    def round_of_calls():
        for _ in range(calls):
            gradients = step(x)
        gradients[0].numpy()

    step(x)  # trace
    return min(timed(round_of_calls) for _ in range(rounds)) / calls * 1e3


def run_layers(args, n_slice):
    """Each layer's forward and backward time on one batch, against the
    training step of a warm epoch: where the preset's epoch goes."""
    import keras

    X, y, _, _ = load("fashion", n_train=n_slice, n_test=0)
    name = args.layers
    estimator, row = time_preset(name, X, y, args.random_seed)
    model, batch = estimator.model_, estimator.batch_size
    step_ms = row["epoch_s"] / math.ceil(len(X) / batch) * 1e3
    layers = [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    # The activations each layer receives from a batch of real images: ties,
    # zeros and ranges as in training.
    images = X[:batch].reshape(-1, *model.input_shape[1:]).astype(np.float32)
    inputs = keras.Model(model.inputs, [layer.input for layer in layers])([images])
    rows = []
    for layer, x in zip(layers, inputs):
        ms = layer_step_ms(layer, x)
        rows.append(
            {
                "layer": layer.name,
                "class": type(layer).__name__,
                "input_shape": list(x.shape),
                "ms": round(ms, 3),
            }
        )
    total = sum(row["ms"] for row in rows)
    print(f"\n{name}: forward + backward of each layer, batch {batch}")
    print(f"{'layer':28s} {'input':>18s} {'ms':>7s} {'share':>6s}")
    for row in rows:
        shape = "x".join(map(str, row["input_shape"][1:]))
        print(
            f"{row['class']:28s} {shape:>18s} {row['ms']:7.2f} {row['ms'] / total:6.0%}"
        )
    print(
        f"{'sum':28s} {'':>18s} {total:7.2f}\n"
        f"training step of a warm epoch on {len(X)} images: {step_ms:.1f} ms"
    )
    return {
        "preset": name,
        "batch_size": batch,
        "n_slice": len(X),
        "layers": rows,
        "sum_ms": round(total, 2),
        "training_step_ms": round(step_ms, 2),
    }


def run_training(args, n_train, n_test):
    X, y, X_test, y_test = load("fashion", n_train=n_train, n_test=n_test)
    name = args.train
    epochs = args.epochs or CONVNET_PRESETS[name].get("epochs", 10)
    estimator = ConvNetClassifier.from_preset(
        name, epochs=epochs, random_state=args.random_seed
    )
    print(f"Training {name} on {len(X)} images for {epochs} epochs")
    rows = train_by_epoch(estimator, X, y, X_test, y_test)
    train_s = rows[-1]["train_s"]
    return {
        "preset": name,
        "parameters": estimator.model_.count_params(),
        "n_train": len(X),
        "n_test": len(X_test),
        "epochs": epochs,
        "seconds_per_epoch": round(train_s / epochs, 2),
        "final_test_accuracy": rows[-1]["test_accuracy"],
        "curve": rows,
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--slice", type=int, help="images per timed epoch (6000)")
    parser.add_argument("--include-grouped", action="store_true")
    parser.add_argument("--overhead-preset", choices=CONVNET_PRESETS, default="fast")
    # One mode a run: training or the layers' times, else the epoch timing.
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--train", choices=CONVNET_PRESETS, metavar="PRESET")
    mode.add_argument("--layers", choices=CONVNET_PRESETS, metavar="PRESET")
    parser.add_argument("--epochs", type=int, help="with --train; preset's default")
    parser.add_argument("--n-train", type=int, help="with --train; default 60000")
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--output", help="JSON file (default under results/)")
    return parser.parse_args()


def main():
    args = parse_args()
    load_before = os.getloadavg()
    # Images per timed epoch, of the timing and the layers modes.
    n_slice = args.slice or (1_000 if args.quick else 6_000)
    if args.train:
        n_train = args.n_train or (3_000 if args.quick else N_FULL)
        report = run_training(args, n_train, 1_000 if args.quick else None)
        default_output = f"bench_conv_train_{args.train}.json"
    elif args.layers:
        report = run_layers(args, n_slice)
        default_output = f"bench_conv_layers_{args.layers}.json"
    else:
        report = run_timing(args, n_slice)
        default_output = "bench_conv.json"
    report["quick"] = args.quick
    report["random_seed"] = args.random_seed
    report["machine"] = environment(load_before)
    write_report(report, args.output or RESULTS_DIR / default_output)


if __name__ == "__main__":
    main()
