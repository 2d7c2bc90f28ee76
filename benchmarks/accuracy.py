"""Headline accuracy runs: each configuration trained end to end on full data.

Each configuration is one estimator on the full training set (60,000 images)
of Fashion-MNIST or MNIST, trained one epoch per ``partial_fit`` call (the
learning-rate schedule spans the estimator's ``epochs``, as in one ``fit``),
with the test accuracy (10,000 images, with the estimator's own predict, test-
time augmentation included) after every epoch. Training time is the sum of
the ``partial_fit`` calls: it includes each call's recomputation of batch
norm's statistics (a fraction of a second to ~1 s), which one ``fit`` pays
once, so it slightly overstates the time of one ``fit``; ``--one-fit`` trains
with one ``fit`` instead (the way F itself is timed) and scores only the final
network; a network trained with ``augmentation`` is then also scored with
each ``test_time_augmentation`` whose views it trained on (the same network:
the differences are the views' alone), into ``by_test_time_augmentation``.
Test evaluation is not counted. Every choice behind a configuration
was made on training data (cross-validation or a validation split); the test
set is only reported.

Times are given in units of F, the fit time of
``ConvNetClassifier.from_preset("fast", random_state=0)`` on the full
Fashion-MNIST training set, measured in the same run (``--measure-f``, or
read from ``results/accuracy_F.json`` written by an earlier run on this
machine). Results: ``benchmarks/results/accuracy_CONFIG_seedN.json``;
``--dense-study`` runs the ``dense_cpu`` study (a search on a validation
split of the training set) and scores its refit winner on the test set:
``results/accuracy_dense_study.json``. ``--plot`` draws test accuracy
against training time of every result file to ``results/accuracy.png``.

Usage::

    python benchmarks/accuracy.py --measure-f            # F only
    python benchmarks/accuracy.py best_cpu --seed 0      # one configuration
    python benchmarks/accuracy.py fast_plus --one-fit    # timed as F is
    python benchmarks/accuracy.py mnist_cnn mnist_dense  # several
    python benchmarks/accuracy.py --dense-study          # the dense search
    python benchmarks/accuracy.py --list
    python benchmarks/accuracy.py fast_plus_x3 --validation --one-fit  # ensemble
    python benchmarks/accuracy.py --plot
    python benchmarks/accuracy.py best_cpu --validation --set conv_dropout=0.0
    python benchmarks/accuracy.py fast --quick           # smoke run, ~1 min
"""

import argparse
import os
import sys
import time

import numpy as np
from _common import (
    RESULTS_DIR,
    accuracy_runs,
    environment,
    f_seconds,
    load,
    timed,
    train_by_epoch,
    validation_split,
    validation_splitter,
    write_report,
)
from sklearn.ensemble import VotingClassifier

from fmnist_estimators import ConvNetClassifier, DenseNetClassifier
from fmnist_estimators._images import TRAINED_VIEWS
from fmnist_estimators.studies import get_study

# name -> (data set, what it is, estimator factory taking random_state)
CONFIGURATIONS = {
    "fast": (
        "fashion",
        'ConvNetClassifier.from_preset("fast"): the unit of time F',
        lambda seed: ConvNetClassifier.from_preset("fast", random_state=seed),
    ),
    "fast_plus": (
        "fashion",
        'ConvNetClassifier.from_preset("fast_plus"): "fast" pooled before '
        "batch norm and whitened, block dropout 0.1, label smoothing 0.1, in "
        "about 1 F",
        lambda seed: ConvNetClassifier.from_preset("fast_plus", random_state=seed),
    ),
    "fast_plus_x3": (
        "fashion",
        'three ConvNetClassifier.from_preset("fast_plus") networks (seeds '
        "3N, 3N+1, 3N+2) averaged by scikit-learn's VotingClassifier"
        '(voting="soft"), in about 3 F',
        lambda seed: ensemble("fast_plus", 3, seed),
    ),
    "grouped_small": (
        "fashion",
        'ConvNetClassifier.from_preset("grouped_small"), 30 epochs',
        lambda seed: ConvNetClassifier.from_preset("grouped_small", random_state=seed),
    ),
    "best_cpu": (
        "fashion",
        'ConvNetClassifier.from_preset("best_cpu")',
        lambda seed: ConvNetClassifier.from_preset("best_cpu", random_state=seed),
    ),
    "dense_cpu": (
        "fashion",
        "DenseNetClassifier: the dense_cpu study's network with its winner's "
        "dropout, 0.2 (accuracy.py --dense-study, docs/benchmarks.rst)",
        lambda seed: get_study("dense_cpu").estimator.set_params(
            dropout=0.2, random_state=seed
        ),
    ),
    "mnist_cnn": (
        "mnist",
        'ConvNetClassifier.from_preset("digits")',
        lambda seed: ConvNetClassifier.from_preset("digits", random_state=seed),
    ),
    "mnist_cnn_best": (
        "mnist",
        'ConvNetClassifier.from_preset("digits_best")',
        lambda seed: ConvNetClassifier.from_preset("digits_best", random_state=seed),
    ),
    "mnist_dense": (
        "mnist",
        "DenseNetClassifier, two layers of 1,024, shifted digits",
        lambda seed: DenseNetClassifier(**MNIST_DENSE, random_state=seed),
    ),
}
# The study presets too, so that the frontier plot has every Fashion-MNIST
# preset a CPU can train ("grouped" is sized for a GPU).
CONFIGURATIONS |= {
    name: (
        "fashion",
        f'ConvNetClassifier.from_preset("{name}")',
        lambda seed, name=name: ConvNetClassifier.from_preset(name, random_state=seed),
    )
    for name in ("tf_tutorial", "two_block", "three_conv_bn")
}

MNIST_DENSE = dict(
    hidden_layer_sizes=(1024, 1024),
    dropout=0.3,
    batch_norm=True,
    augmentation="shift",
    learning_rate=0.002,
    batch_size=128,
    epochs=30,
)


def ensemble(preset, n_members, seed):
    """``n_members`` networks of ``preset``, seeds ``n_members * seed + i``,
    their probabilities averaged: scikit-learn's soft voting, fitted one
    member after the other (each member's fit uses every core)."""
    return VotingClassifier(
        [
            (
                f"seed{n_members * seed + i}",
                ConvNetClassifier.from_preset(
                    preset, random_state=n_members * seed + i
                ),
            )
            for i in range(n_members)
        ],
        voting="soft",
    )


def unfitted_networks(estimator):
    """The networks ``estimator`` will fit: itself, or an ensemble's members."""
    return [net for _, net in getattr(estimator, "estimators", [(None, estimator)])]


def networks(estimator):
    """The fitted networks of ``estimator``: itself, or an ensemble's members."""
    return getattr(estimator, "estimators_", [estimator])


YLIM = {"fashion": (88, 95), "mnist": (98, 100)}


def measure_f(quick):
    """Fit time of the fast preset on the full Fashion-MNIST training set."""
    X, y, X_test, y_test = load("fashion", n_train=3_000 if quick else None)
    estimator = ConvNetClassifier.from_preset("fast", random_state=0)
    f_s = timed(estimator.fit, X, y)
    accuracy = float(estimator.score(X_test, y_test))
    print(f"F = {f_s:.1f} s (fast preset, {len(X)} images, test {accuracy:.4f})")
    return {"F_s": round(f_s, 2), "test_accuracy": round(accuracy, 4), "n": len(X)}


def one_fit(estimator, X, y, X_test, y_test, scored="test"):
    """Train ``estimator`` with one ``fit``, as F is timed; its one row.

    A network trained with ``augmentation`` is also scored with each
    test-time augmentation of views it trained on: the same network, so the
    differences are those of the views alone (predict time, not fit time).
    """
    train_s = timed(estimator.fit, X, y)
    accuracy = float(estimator.score(X_test, y_test))
    print(f"  one fit {train_s:8.1f} s  {scored} accuracy {accuracy:.4f}", flush=True)
    members = networks(estimator)
    row = {
        "epoch": members[0].n_iter_,
        "train_s": round(train_s, 2),
        "test_accuracy": round(accuracy, 4),
        "train_loss": round(members[0].history_["loss"][-1], 4),
    }
    if len(members) > 1:
        row["members_accuracy"] = member_scores(estimator, X_test, y_test)
    kinds = TRAINED_VIEWS.get(getattr(estimator, "augmentation", None), ())
    if len(kinds) > 1:
        row["by_test_time_augmentation"] = tta_scores(estimator, kinds, X_test, y_test)
    return [row]


def member_scores(estimator, X_test, y_test):
    """Accuracy of each member of a soft-voting ensemble alone, and of each
    ensemble of its first k members (k >= 2), from the same predictions."""

    # The members trained on the ensemble's label codes 0..k-1, so the
    # ensemble's classes_ label their probability columns as well as its own.
    def accuracy(proba):
        labels = estimator.classes_[np.argmax(proba, axis=1)]
        return round(float(np.mean(labels == y_test)), 4)

    proba, scores = [], {}
    for (name, _), member in zip(estimator.estimators, estimator.estimators_):
        proba.append(member.predict_proba(X_test))
        scores[name] = accuracy(proba[-1])
        if len(proba) > 1:
            scores[f"first {len(proba)}"] = accuracy(np.mean(proba, axis=0))
    print(f"    members and first-k ensembles: {scores}")
    return scores


def tta_scores(estimator, kinds, X_test, y_test):
    """Accuracy and predict seconds of the fitted ``estimator`` per
    ``test_time_augmentation`` in ``kinds``; its own setting is restored."""
    own, scores = estimator.test_time_augmentation, {}
    for kind in kinds:
        estimator.set_params(test_time_augmentation=kind)
        start = time.perf_counter()
        accuracy = float(estimator.score(X_test, y_test))
        seconds = time.perf_counter() - start
        scores[str(kind)] = {
            "accuracy": round(accuracy, 4),
            "predict_s": round(seconds, 1),
        }
        print(
            f"    test_time_augmentation={kind!r:13s} {accuracy:.4f} ({seconds:.1f} s)"
        )
    estimator.set_params(test_time_augmentation=own)
    return scores


def train(
    name, seed, quick, epochs=None, overrides=None, validation=False, whole=False
):
    """Train one configuration epoch by epoch; its curve and final figures.

    With ``whole``, it trains with one ``fit`` (see :func:`one_fit`) and the
    curve has only the final row. With ``validation``, it trains on five
    sixths of the training set and scores the other sixth instead of the test
    set (to choose between configurations without looking at the test set);
    "test_accuracy" in the result then holds the validation accuracy.
    """
    dataset, description, make = CONFIGURATIONS[name]
    n_train, n_test = (3_000, 1_000) if quick else (None, None)
    X, y, X_test, y_test = load(dataset, n_train=n_train, n_test=n_test)
    if validation:
        X, y, X_test, y_test = validation_split(X, y)
    estimator = make(seed)
    members = unfitted_networks(estimator)
    if len(members) > 1 and not whole:
        sys.exit(f"{name} is an ensemble: it trains with --one-fit only.")
    for member in members:
        if epochs:
            member.set_params(epochs=epochs)
        if overrides:
            member.set_params(**overrides)
    if overrides:
        description += f", with {overrides}"
    print(f"{name} (seed {seed}): {description}; {members[0].epochs} epochs")
    scored = "validation" if validation else "test"
    trainer = one_fit if whole else train_by_epoch
    rows = trainer(estimator, X, y, X_test, y_test, scored=scored)
    params = estimator.get_params()
    return {
        "configuration": name,
        "description": description,
        "dataset": dataset,
        "random_state": seed,
        "params": {k: repr(v) for k, v in params.items()},
        "parameters": sum(net.model_.count_params() for net in networks(estimator)),
        "n_train": len(X),
        "n_test": len(X_test),
        "evaluated_on": "validation split" if validation else "test set",
        "trained_by": "one fit" if whole else "partial_fit, one epoch per call",
        "train_s": rows[-1]["train_s"],
        "test_accuracy": rows[-1]["test_accuracy"],
        "curve": rows,
    }


def _plain(value):
    return value if isinstance(value, (int, float, str)) else repr(value)


def run_dense_study(quick):
    """The dense_cpu study on a validation split of the training set, then its
    winner (refit on every training image) scored once on the test set."""
    from fmnist_estimators.search import format_table
    from fmnist_estimators.studies import run_study

    n_train, n_test = (3_000, 1_000) if quick else (None, None)
    X, y, X_test, y_test = load("fashion", n_train=n_train, n_test=n_test)
    # One split of 10,000 validation images (a sixth): four candidates cost
    # four trainings instead of twelve with 3-fold cross-validation.
    cv = validation_splitter()
    start = time.perf_counter()
    table, search = run_study(
        "dense_cpu", X, y, cv=cv, verbose=1, as_frame=False, return_search=True
    )
    search_s = time.perf_counter() - start
    print(format_table(table))
    accuracy = float(search.best_estimator_.score(X_test, y_test))
    print(
        f"dense_cpu: search {search_s:.0f} s (refit {search.refit_time_:.0f} s); "
        f"best {search.best_params_}: test accuracy {accuracy:.4f}"
    )
    return {
        "study": "dense_cpu",
        "cv": "one stratified split, 10,000 validation images",
        "n_train": len(X),
        "search_s": round(search_s, 1),
        "refit_s": round(search.refit_time_, 1),
        "best_params": {k: repr(v) for k, v in search.best_params_.items()},
        "validation_accuracy": round(float(search.best_score_), 4),
        "test_accuracy": round(accuracy, 4),
        "table": [
            {
                k: (v if isinstance(v, (int, float, str)) else repr(v))
                for k, v in row.items()
            }
            for row in table
        ],
    }


def plot(path):
    """Test accuracy against training time (in F) of every result file, each
    in units of the F measured in its own session."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, dataset in zip(axes, ("fashion", "mnist")):
        for _, report, f_run in accuracy_runs(dataset):
            curve = report["curve"]
            ax.plot(
                [row["train_s"] / f_run for row in curve],
                [100 * row["test_accuracy"] for row in curve],
                marker=".",
                label=f"{report['configuration']} (seed {report['random_state']})",
            )
        ax.set_title("Fashion-MNIST" if dataset == "fashion" else "MNIST")
        ax.set_xlabel("training time in F (the fast preset's fit time)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(
            90 if dataset == "fashion" else 98, 95 if dataset == "fashion" else 100
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"Wrote {path}")


def parse_overrides(items):
    """``["conv_dropout=0.0", ...]`` -> ``{"conv_dropout": 0.0, ...}``."""
    import ast

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            sys.exit(f"--set expects PARAM=VALUE, got {item!r}.")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configurations", nargs="*", help="see --list")
    parser.add_argument("--seed", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, help="override the epochs")
    parser.add_argument("--measure-f", action="store_true")
    parser.add_argument(
        "--dense-study", action="store_true", help="run the dense_cpu study"
    )
    parser.add_argument(
        "--set",
        nargs="+",
        action="extend",  # --set a=1 --set b=2 keeps both
        default=[],
        metavar="PARAM=VALUE",
        help="override constructor parameters (Python literals)",
    )
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score a validation sixth of the training set, not the test set",
    )
    parser.add_argument(
        "--one-fit",
        action="store_true",
        help="train with one fit (timed as F is), no per-epoch curve",
    )
    parser.add_argument("--quick", action="store_true", help="3,000 images")
    parser.add_argument("--plot", action="store_true")
    parser.add_argument("--list", action="store_true")
    return parser.parse_args()


def main():
    args = parse_args()
    unknown = set(args.configurations) - set(CONFIGURATIONS)
    if unknown:
        sys.exit(f"Unknown configuration(s) {sorted(unknown)}; see --list.")
    if args.list:
        for name, (dataset, description, _) in CONFIGURATIONS.items():
            print(f"{name:14s} {dataset:8s} {description}")
        return
    suffix = "_quick" if args.quick else ""
    overrides = parse_overrides(args.set)
    variant = "".join(f"_{k}={v}" for k, v in overrides.items())
    variant += f"_epochs={args.epochs}" if args.epochs else ""
    variant += "_val" if args.validation else ""
    variant += "_onefit" if args.one_fit else ""
    if args.measure_f:
        load_before = os.getloadavg()
        report = measure_f(args.quick)
        report["machine"] = environment(load_before)
        write_report(report, RESULTS_DIR / f"accuracy_F{suffix}.json")
    for name in args.configurations:
        for seed in args.seed:
            load_before = os.getloadavg()
            report = train(
                name,
                seed,
                args.quick,
                args.epochs,
                overrides,
                args.validation,
                whole=args.one_fit,
            )
            report["quick"] = args.quick
            report["machine"] = environment(load_before)
            report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
            if f_s := f_seconds():
                report["train_F"] = round(report["train_s"] / f_s, 2)
                print(f"  {report['train_s']:.0f} s = {report['train_F']:.2f} F")
            write_report(
                report,
                RESULTS_DIR / f"accuracy_{name}{variant}_seed{seed}{suffix}.json",
            )
    if args.dense_study:
        load_before = os.getloadavg()
        report = run_dense_study(args.quick)
        report["machine"] = environment(load_before)
        if f_s := f_seconds():
            report["search_F"] = round(report["search_s"] / f_s, 2)
            print(f"  search {report['search_F']:.2f} F")
        write_report(report, RESULTS_DIR / f"accuracy_dense_study{suffix}.json")
    if args.plot:
        plot(RESULTS_DIR / "accuracy.png")


if __name__ == "__main__":
    main()
