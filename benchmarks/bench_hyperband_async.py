"""Benchmark HyperbandSearchCV's asynchronous promotion against its rounds.

One search, four ways: ``promotion="sync"`` and ``"async"``, each with
``n_jobs=1`` and ``n_jobs=2``, on the same 4 candidates (sampled with the
same ``random_state``), the same 3 stratified folds and the same network
seeds: ``DenseNetClassifier`` for 1 epoch, then the best 2 continued to 2
(factor 2). Both schedules train the same 18 (candidate, fold) epochs;
``"sync"`` waits for the slowest fit of each round before the next starts,
``"async"`` (ASHA) keeps every worker busy. It reports, as the median of
``--repeats`` runs of each, run alternately so that a drift of the machine
falls on all four alike:

- wall time of each search (no refit);
- the speed-up of ``n_jobs=2`` over ``n_jobs=1`` for each schedule (the
  target for ``"async"``: at least 1.85), and ``"async"`` over ``"sync"``
  at each ``n_jobs``;
- the best candidate of every run, and whether they agree (ASHA may promote
  another candidate than the rounds, and with ``n_jobs=2`` that can depend
  on which fit finishes first);
- the machine's own ceiling: the speed-up of ``n_jobs=2`` on the same kind
  of fit with nothing to wait for (six 1-epoch fits of the first candidate
  on the training folds, run by :class:`joblib.Parallel`), which no
  schedule can beat: two processes on two cores share their caches, memory
  bandwidth and clock;
- with ``--dask``, also ``"async"`` on a local Dask cluster of 2 worker
  processes of 1 thread (``dask_backend``), against ``n_jobs=1``.

Every fit trains with ``--threads`` TensorFlow and BLAS threads (default 1),
in this process with ``n_jobs=1`` and in each worker with ``n_jobs=2``, so
the speed-up measures the schedule, not a thread pool. The worker processes
start before any timing: a warm-up search on a few images before each
``n_jobs=2`` run keeps them alive (loky's workers leave after 300 s idle).

Usage::

    python benchmarks/bench_hyperband_async.py                 # 60,000 images
    python benchmarks/bench_hyperband_async.py --n-train 600   # smoke run

Results: ``benchmarks/results/bench_hyperband_async.json`` (with
``--n-train``: ``bench_hyperband_async_<n>.json``).
"""

import argparse
import os
import statistics
import sys
import time
import warnings

import numpy as np
from _common import RESULTS_DIR, environment, load, timed, write_report
from joblib import Parallel, delayed
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

# TensorFlow is imported by the first fit, after main() sets its threads.
from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.search import HyperbandSearchCV, dask_backend, format_params

CONFIGS = [("sync", 1), ("async", 1), ("sync", 2), ("async", 2)]
DASK = ("async", "dask")  # n_jobs=2 on a local cluster of 2 workers
SPACE = {
    # Parameters that do not change the cost of an epoch.
    "learning_rate": loguniform(1e-4, 3e-2),
    "dropout": [0.0, 0.1, 0.2, 0.3],
    "l2": [0.0, 1e-5, 1e-4],
}


def make_search(promotion, n_jobs, args):
    net = DenseNetClassifier(
        tuple(args.hidden), batch_size=args.batch_size, random_state=args.random_seed
    )
    return HyperbandSearchCV(
        net,
        SPACE,
        min_epochs=1,
        max_epochs=2,
        factor=2,
        n_candidates=4,
        cv=StratifiedKFold(3, shuffle=True, random_state=args.random_seed),
        refit=False,
        n_jobs=n_jobs,
        random_state=args.random_seed,
        promotion=promotion,
    )


def run(promotion, n_jobs, X, y, args):
    """Seconds and best candidate of one search."""
    if n_jobs == "dask":
        # A cluster of its own, started and warmed up untimed: idle workers
        # of a cluster left up beside the other runs slow them down.
        with dask_backend(n_workers=2, threads_per_worker=1):
            make_search(promotion, 2, args).fit(X[:300], y[:300])
            search = make_search(promotion, 2, args)
            return timed(search.fit, X, y), search
    if n_jobs > 1:
        # Start (or keep alive) this schedule's worker processes untimed.
        make_search(promotion, n_jobs, args).fit(X[:300], y[:300])
    search = make_search(promotion, n_jobs, args)
    seconds = timed(search.fit, X, y)
    return seconds, search


def _fit_and_score(net, X, y, train, test):
    return net.fit(X[train], y[train]).score(X[test], y[test])


def ceiling(X, y, args, n_fits=6):
    """Seconds of ``n_fits`` independent 1-epoch fits with 1 and 2 jobs."""
    search = make_search("sync", 1, args)
    net = search.estimator.set_params(epochs=1)
    folds = list(search.cv.split(X, y))
    tasks = [folds[i % len(folds)] for i in range(n_fits)]
    seconds = {}
    for n_jobs in (1, 2):
        with Parallel(n_jobs=n_jobs) as parallel:
            # TensorFlow's start in each worker, untimed.
            small = (np.arange(200), np.arange(200, 300))
            parallel(delayed(_fit_and_score)(clone(net), X, y, *small) for _ in folds)
            seconds[n_jobs] = timed(
                parallel, (delayed(_fit_and_score)(clone(net), X, y, *f) for f in tasks)
            )
    return seconds


def summarise(times, bests, scores, ceilings):
    """Median times, the speed-ups, and whether the best candidates agree."""
    median = {config: statistics.median(t) for config, t in times.items()}
    rows = [
        {
            "promotion": promotion,
            "n_jobs": n_jobs,
            "seconds": [round(t, 2) for t in times[promotion, n_jobs]],
            "median_seconds": round(median[promotion, n_jobs], 2),
            "best_params": bests[promotion, n_jobs],
            "best_score": scores[promotion, n_jobs],
        }
        for promotion, n_jobs in times
    ]
    ratios = {
        "sync_speedup_n_jobs_2": median["sync", 1] / median["sync", 2],
        "async_speedup_n_jobs_2": median["async", 1] / median["async", 2],
        "async_over_sync_n_jobs_1": median["sync", 1] / median["async", 1],
        "async_over_sync_n_jobs_2": median["sync", 2] / median["async", 2],
        "ceiling_speedup_n_jobs_2": statistics.median(
            one / two for one, two in zip(ceilings[1], ceilings[2])
        ),
    }
    if DASK in median:
        ratios["async_speedup_dask_2_workers"] = median["async", 1] / median[DASK]
    every_best = {best for runs in bests.values() for best in runs}
    return rows, {name: round(value, 3) for name, value in ratios.items()}, every_best


def print_summary(rows, ratios, every_best, ceilings):
    print(f"\n{'promotion':9s} {'n_jobs':>6s} {'median s':>9s}  runs (s)")
    print("-" * 60)
    for row in rows:
        runs = ", ".join(f"{t:.1f}" for t in row["seconds"])
        print(
            f"{row['promotion']:9s} {row['n_jobs']!s:>6s} "
            f"{row['median_seconds']:9.1f}  {runs}"
        )
    print()
    for name, value in ratios.items():
        print(f"{name:26s} {value:6.3f}")
    print(
        f"{'ceiling':9s} {'':6s} {'':9s}  no-dependency fits (ceiling, n_jobs 1 | 2): "
        + ", ".join(f"{a:.1f} | {b:.1f}" for a, b in zip(*ceilings.values()))
    )
    target = "met" if ratios["async_speedup_n_jobs_2"] >= 1.85 else "missed"
    print(f"target async n_jobs=2 >= 1.85 x n_jobs=1: {target}")
    print(f"best candidates: {len(every_best)} distinct")
    for best in sorted(every_best):
        print(f"  {best}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-train", type=int, help="training images (all 60000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--threads", type=int, default=1, help="TensorFlow and BLAS threads per fit"
    )
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument(
        "--dask", action="store_true", help="also async on a 2-worker Dask cluster"
    )
    parser.add_argument("--output", help="JSON file (default under results/)")
    args = parser.parse_args()
    if args.repeats < 1 or args.threads < 1:
        parser.error("--repeats and --threads must be at least 1")
    return args


def main():
    args = parse_args()
    # Before TensorFlow starts, here and in the workers (they inherit it).
    os.environ["FMNIST_ESTIMATORS_TF_THREADS"] = str(args.threads)
    threadpool_limits(args.threads)
    load_before = os.getloadavg()
    X, y, _, _ = load("fashion", n_train=args.n_train, n_test=0)
    print(
        f"{len(X)} images, 4 candidates x 3 folds, epochs 1 -> 2 (factor 2), "
        f"{args.repeats} run(s) of each of {len(CONFIGS) + args.dask} configurations",
        flush=True,
    )
    # TensorFlow's start-up in this process, untimed.
    make_search("sync", 1, args).fit(X[:300], y[:300])
    configs = CONFIGS + [DASK] if args.dask else CONFIGS
    times = {config: [] for config in configs}
    bests = {config: [] for config in configs}
    scores = {config: [] for config in configs}
    ceilings = {1: [], 2: []}
    start = time.perf_counter()
    with warnings.catch_warnings():
        # A sampled learning rate may diverge: that candidate scores NaN.
        warnings.filterwarnings("ignore", message="One or more of the")
        for repeat in range(args.repeats):
            # Alternate, and reverse every other pass: ABCD DCBA ...
            order = configs if repeat % 2 == 0 else configs[::-1]
            for promotion, n_jobs in order:
                seconds, search = run(promotion, n_jobs, X, y, args)
                best = format_params(search.best_params_)
                times[promotion, n_jobs].append(seconds)
                bests[promotion, n_jobs].append(best)
                scores[promotion, n_jobs].append(round(float(search.best_score_), 4))
                print(
                    f"  {promotion:5s} n_jobs={n_jobs}  {seconds:7.1f} s  "
                    f"best {best} ({search.best_score_:.4f})",
                    flush=True,
                )
            for n_jobs, seconds in ceiling(X, y, args).items():
                ceilings[n_jobs].append(round(seconds, 2))
            print(f"  ceiling: {ceilings[1][-1]:.1f} s | {ceilings[2][-1]:.1f} s")
    rows, ratios, every_best = summarise(times, bests, scores, ceilings)
    print_summary(rows, ratios, every_best, ceilings)
    report = {
        "settings": {
            "n_train": len(X),
            "candidates": 4,
            "folds": 3,
            "factor": 2,
            "epochs": [1, 2],
            "hidden": args.hidden,
            "batch_size": args.batch_size,
            "threads_per_fit": args.threads,
            "repeats": args.repeats,
        },
        "results": rows,
        "ceiling_seconds": {f"n_jobs_{n}": t for n, t in ceilings.items()},
        "ratios": ratios,
        "target_async_speedup": 1.85,
        "target_met": bool(ratios["async_speedup_n_jobs_2"] >= 1.85),
        "same_best_candidate": len(every_best) == 1,
        "seconds_in_all": round(time.perf_counter() - start, 1),
        "random_seed": args.random_seed,
        "machine": environment(load_before),
        "command": " ".join(sys.argv),
    }
    name = "bench_hyperband_async"
    name += f"_{args.n_train}.json" if args.n_train else ".json"
    write_report(report, args.output or RESULTS_DIR / name)


if __name__ == "__main__":
    main()
