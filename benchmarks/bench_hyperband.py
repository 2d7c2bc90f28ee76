"""Benchmark HyperbandSearchCV against HalvingRandomSearchCV on epochs.

Both searches run successive halving on the training epochs of
``DenseNetClassifier`` with the same candidates (sampled with the same
``random_state``), the same stratified folds and the same network seeds; the
only difference is that ``HyperbandSearchCV`` continues each survivor from the
previous round (warm start) where ``HalvingRandomSearchCV(resource="epochs")``
trains it again from scratch. For each configuration (factor eta, k rounds,
n = eta ** (k - 1) first-round candidates, 1 epoch in the first round) it
reports:

- epochs trained by each search, over all candidates and folds: retraining
  costs k * n * r, continuing n * r * (1 + (k - 1) * (1 - 1 / eta));
- wall time of each search (no refit), and the saving against its bound
  k / (1 + (k - 1) * (1 - 1 / eta)) (1.29 for eta=3, k=3; 1.6 for eta=2,
  k=4), with the target of 0.9 x the bound;
- the best candidate of each and its CV score, and whether they agree.

The candidates vary only parameters that do not change the cost of an epoch
(learning rate, dropout, L2), so epochs are comparable across candidates.
The learning rate is constant by default (``--lr-schedule``): continuing is
then the same training as restarting, up to the order of the batches.

Usage::

    python benchmarks/bench_hyperband.py            # 20,000 images, ~6 min
    python benchmarks/bench_hyperband.py --quick    # smoke run, ~1 min
    python benchmarks/bench_hyperband.py --configs eta3_k3 eta3_k4 --n-jobs 2

Results: ``benchmarks/results/bench_hyperband.json`` (``--quick``:
``bench_hyperband_quick.json``).
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from _common import RESULTS_DIR, environment, load, timed, write_report
from scipy.stats import loguniform
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingRandomSearchCV, StratifiedKFold
from threadpoolctl import threadpool_limits

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.search import HyperbandSearchCV, format_params

# name -> (factor, rounds); the first round trains 1 epoch.
CONFIGS = {"eta3_k3": (3, 3), "eta2_k4": (2, 4), "eta3_k4": (3, 4)}
SETTINGS = {
    "full": dict(n_train=20_000, cv=3, hidden=(128,), batch_size=32),
    # A smoke run: per-fit overheads dominate so few epochs, so its savings
    # fall short of the bound.
    "quick": dict(n_train=3_000, cv=2, hidden=(32,), batch_size=64),
}
SPACE = {
    "learning_rate": loguniform(1e-4, 3e-2),
    "dropout": [0.0, 0.1, 0.2, 0.3],
    "l2": [0.0, 1e-5, 1e-4],
}


def saving_bound(factor, k):
    """Epochs of retraining over epochs of continuing, for n = factor**(k-1)."""
    return k / (1 + (k - 1) * (1 - 1 / factor))


def make_searches(factor, k, settings, args):
    """Our Hyperband and scikit-learn's halving search, on the same candidates."""
    n_candidates, max_epochs = factor ** (k - 1), factor ** (k - 1)
    estimator = DenseNetClassifier(
        settings["hidden"],
        batch_size=settings["batch_size"],
        lr_schedule=args.lr_schedule,
        random_state=args.random_seed,
    )
    cv = StratifiedKFold(settings["cv"], shuffle=True, random_state=args.random_seed)
    common = dict(
        factor=factor,
        cv=cv,
        refit=False,
        n_jobs=args.n_jobs,
        random_state=args.random_seed,
    )
    ours = HyperbandSearchCV(
        estimator,
        SPACE,
        min_epochs=1,
        max_epochs=max_epochs,
        n_candidates=n_candidates,
        **common,
    )
    theirs = HalvingRandomSearchCV(
        estimator,
        SPACE,
        resource="epochs",
        min_resources=1,
        max_resources=max_epochs,
        n_candidates=n_candidates,
        **common,
    )
    return ours, theirs


def last_round_params(search):
    """The candidates of ``search``'s last round, as sorted strings."""
    results, last = search.cv_results_, max(search.n_resources_)
    return sorted(
        repr(params)
        for params, n_resources in zip(results["params"], results["n_resources"])
        if n_resources == last
    )


def run_config(name, X, y, settings, args):
    factor, k = CONFIGS[name]
    n_candidates = factor ** (k - 1)
    ours, theirs = make_searches(factor, k, settings, args)
    print(
        f"{name}: factor {factor}, {k} rounds, {n_candidates} candidates, "
        f"{settings['cv']} folds, {len(X)} images",
        flush=True,
    )
    seconds = {}
    for label, search in (("hyperband", ours), ("halving", theirs)):
        seconds[label] = timed(search.fit, X, y)
        print(f"  {label:9s} {seconds[label]:7.1f} s", flush=True)
    assert ours.n_resources_ == theirs.n_resources_, "the rounds differ"
    return summary(name, factor, k, ours, theirs, seconds, settings["cv"])


def summary(name, factor, k, ours, theirs, seconds, n_folds):
    """The row of one configuration: epochs, wall times, best candidates."""
    epochs_theirs = n_folds * int(np.dot(theirs.n_candidates_, theirs.n_resources_))
    bound = saving_bound(factor, k)
    saving = seconds["halving"] / seconds["hyperband"]
    same_best = ours.best_params_ == theirs.best_params_
    return {
        "config": name,
        "factor": factor,
        "rounds": k,
        "n_candidates": ours.n_candidates_,
        "n_resources": ours.n_resources_,
        "epochs_hyperband": int(ours.epochs_trained_),
        "epochs_halving": epochs_theirs,
        "epoch_ratio": round(epochs_theirs / ours.epochs_trained_, 3),
        "saving_bound": round(bound, 3),
        "target": round(0.9 * bound, 3),
        "seconds_hyperband": round(seconds["hyperband"], 2),
        "seconds_halving": round(seconds["halving"], 2),
        "wall_saving": round(saving, 3),
        "wall_saving_over_bound": round(saving / bound, 3),
        "target_met": bool(saving >= 0.9 * bound),
        "best_params_hyperband": format_params(ours.best_params_),
        "best_params_halving": format_params(theirs.best_params_),
        "best_score_hyperband": round(float(ours.best_score_), 4),
        "best_score_halving": round(float(theirs.best_score_), 4),
        "same_best_candidate": bool(same_best),
        "same_last_round_candidates": last_round_params(ours)
        == last_round_params(theirs),
        "score_difference": round(float(ours.best_score_ - theirs.best_score_), 4),
    }


def print_summary(rows):
    print(
        f"\n{'config':8s} {'epochs ours/theirs':>19s} {'ratio':>6s} "
        f"{'s ours/theirs':>15s} {'saving':>7s} {'bound':>6s} {'target':>7s} "
        f"{'same best':>9s} {'CV ours/theirs':>15s}"
    )
    print("-" * 100)
    for row in rows:
        epochs = f"{row['epochs_hyperband']}/{row['epochs_halving']}"
        seconds = f"{row['seconds_hyperband']:.0f}/{row['seconds_halving']:.0f}"
        scores = f"{row['best_score_hyperband']:.4f}/{row['best_score_halving']:.4f}"
        met = "met" if row["target_met"] else "missed"
        print(
            f"{row['config']:8s} {epochs:>19s} {row['epoch_ratio']:6.2f} "
            f"{seconds:>15s} {row['wall_saving']:7.2f} {row['saving_bound']:6.2f} "
            f"{met:>7s} {row['same_best_candidate']!s:>9s} {scores:>15s}"
        )


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument(
        "--configs", nargs="+", choices=CONFIGS, default=["eta3_k3", "eta2_k4"]
    )
    parser.add_argument("--n-train", type=int, help="training images (20000)")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel fits")
    parser.add_argument(
        "--lr-schedule", choices=["constant", "cosine"], default="constant"
    )
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--output", help="JSON file (default under results/)")
    return parser.parse_args()


def main():
    args = parse_args()
    settings = dict(SETTINGS["quick" if args.quick else "full"])
    settings["n_train"] = args.n_train or settings["n_train"]
    load_before = os.getloadavg()
    X, y, _, _ = load("fashion", n_train=settings["n_train"], n_test=0)
    # One BLAS thread, and TensorFlow's start-up paid before any timing.
    threadpool_limits(1)
    timed(DenseNetClassifier((8,), epochs=1).fit, X[:500], y[:500])
    rows = []
    start = time.perf_counter()
    with warnings.catch_warnings():
        # Some sampled learning rates diverge: those candidates score NaN.
        warnings.filterwarnings("ignore", message="One or more of the")
        for name in args.configs:
            rows.append(run_config(name, X, y, settings, args))
    print_summary(rows)
    report = {
        "quick": args.quick,
        "settings": {
            **settings,
            "hidden": list(settings["hidden"]),
            "lr_schedule": args.lr_schedule,
            "n_jobs": args.n_jobs,
        },
        "results": rows,
        "seconds_in_all": round(time.perf_counter() - start, 1),
        "random_seed": args.random_seed,
        "machine": environment(load_before),
        "command": " ".join(sys.argv),
    }
    name = "bench_hyperband_quick.json" if args.quick else "bench_hyperband.json"
    write_report(report, args.output or RESULTS_DIR / name)


if __name__ == "__main__":
    main()
