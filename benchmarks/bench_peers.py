"""Time to accuracy against the peers: seven searches of one dense network.

Each tool tunes the same dense network over the same space (hidden units
64-512, dropout 0-0.4, batch size 32-256, a log-uniform learning rate
1e-4-1e-2: see ``_peers.py``) on the full training set, one after the
other on this machine, each with the same wall-clock budget:

hyperband_async  ``HyperbandSearchCV(promotion="async")``: warm-started
                 rounds, 27 -> 9 -> 3 -> 1 candidates at 1, 3, 9, 27 epochs
                 (factor 3) and a second Hyperband bracket, 3-fold CV,
                 ``n_jobs=2``.
hyperband_sync   the same search with ``promotion="sync"``.
hyperband_tpe    the asynchronous search with ``sampler="tpe"``: each
                 candidate drawn, as its first fit starts, from a model of
                 the results so far (BOHB's Parzen estimator).
hyperband_tpe_s  the same with ``sampler="tpe_per_second"``: the model's
                 expected improvement per predicted second of fitting.
halving          scikit-learn's ``HalvingRandomSearchCV`` on epochs (the
                 first bracket's rounds, retraining every survivor),
                 ``n_jobs=2``.
optuna           Optuna's ``OptunaSearchCV``: TPE, each trial trained epoch
                 by epoch (``partial_fit``) up to 27 epochs and pruned by
                 Optuna's Hyperband pruner, 3-fold CV, 2 trials at a time,
                 stopped at the budget (``timeout``).
keras_tuner      keras-tuner's ``Hyperband`` (max 27 epochs, factor 3) on one
                 validation split holding out a third of the images (it has
                 no CV), stopped at the budget. A benchmark-only extra:
                 ``pip install keras-tuner``.

Every tool runs in a process of its own (TensorFlow starts fresh; the time
counts its workers' start-up). Every validation score a tool computes is
logged with its wall-clock time; a candidate's score at some epochs counts
once all its folds are in. The report gives, for each tool, the best
validation score found against time, the search's wall time, its winner's
test accuracy (scored once on the 10,000 test images: the CV tools' winner
refit on all 60,000 images, keras-tuner's best model as trained), and for
each peer the time Hyperband takes to reach the peer's final best, as a
fraction of the time the peer took (target: at most 0.6, ending at or
above it).

Usage::

    python benchmarks/bench_peers.py                       # ~7 x 5 minutes
    python benchmarks/bench_peers.py --budget 60 --n-train 6000  # smoke run
    python benchmarks/bench_peers.py --tools hyperband_async optuna

Results: ``benchmarks/results/bench_peers.json`` and ``bench_peers.png``
(with ``--n-train``: ``bench_peers_<n>.*``); ``--figure`` also saves the
plot elsewhere (the docs' copy).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

from _common import RESULTS_DIR, environment, load, write_report
from _peers import FACTOR, MAX_EPOCHS, N_FOLDS, SPACE, TOOLS

# Our searches: (promotion, sampler).
OURS = {
    "hyperband_async": ("async", "random"),
    "hyperband_sync": ("sync", "random"),
    "hyperband_tpe": ("async", "tpe"),
    "hyperband_tpe_s": ("async", "tpe_per_second"),
}
TARGET = 0.6
LABELS = {
    "hyperband_async": "HyperbandSearchCV, async",
    "hyperband_sync": "HyperbandSearchCV, sync",
    "hyperband_tpe": "HyperbandSearchCV, async, TPE",
    "hyperband_tpe_s": "HyperbandSearchCV, async, TPE per second",
    "halving": "HalvingRandomSearchCV (epochs)",
    "optuna": "OptunaSearchCV (TPE + Hyperband pruner)",
    "keras_tuner": "keras-tuner Hyperband (1 split)",
}


# -- one tool, in a child process ---------------------------------------------
def run_tool(args):
    """Run ``args.child``'s search; write its outcome to ``args.out``."""
    import _peers

    X, y, X_test, y_test = load("fashion", n_train=args.n_train)
    common = dict(log=args.log, seed=args.random_seed)
    start = time.time()
    with warnings.catch_warnings():
        # A sampled learning rate may diverge (its score is NaN), Optuna's
        # searcher is experimental, and its storage prefers scalar choices.
        warnings.filterwarnings("ignore", message="One or more of the")
        warnings.filterwarnings("ignore", category=UserWarning, module="optuna")
        warnings.filterwarnings("ignore", message=".*experimental")
        if args.child in OURS:
            promotion, sampler = OURS[args.child]
            outcome = _peers.hyperband(
                promotion, X, y, X_test, y_test, **common, n_jobs=args.n_jobs,
                n_brackets=args.brackets, sampler=sampler,
            )  # fmt: skip
        elif args.child == "halving":
            outcome = _peers.halving(X, y, X_test, y_test, **common, n_jobs=args.n_jobs)
        elif args.child == "optuna":
            outcome = _peers.optuna_search(
                X, y, X_test, y_test, **common, n_jobs=args.n_jobs,
                budget=args.budget,
            )  # fmt: skip
        else:
            with tempfile.TemporaryDirectory() as directory:
                outcome = _peers.keras_tuner_search(
                    X, y, X_test, y_test, **common, budget=args.budget,
                    directory=directory,
                )  # fmt: skip
    result = {"start": start, **vars(outcome)}
    result["best_params"] = {k: str(v) for k, v in outcome.best_params.items()}
    Path(args.out).write_text(json.dumps(result))


def launch(tool, args, folder):
    """Run one tool in a fresh process; its outcome and its logged scores."""
    log, out = folder / f"{tool}.log", folder / f"{tool}.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if tool in (*OURS, "halving"):
        # Two worker processes on two cores: one TensorFlow thread each.
        env["FMNIST_ESTIMATORS_TF_THREADS"] = "1"
    command = [sys.executable, __file__, "--child", tool, "--log", str(log)]
    command += ["--out", str(out), *child_options(args)]
    # TensorFlow's start-up chatter goes to a file, shown if the tool fails.
    with open(folder / f"{tool}.stderr", "w+") as stderr:
        done = subprocess.run(command, env=env, stderr=stderr)
        if done.returncode:
            stderr.seek(0)
            sys.exit(f"{tool} failed:\n{stderr.read()[-5000:]}")
    events = [json.loads(line) for line in log.read_text().splitlines()]
    return json.loads(out.read_text()), events


def child_options(args):
    options = ["--budget", str(args.budget), "--n-jobs", str(args.n_jobs)]
    options += ["--brackets", str(args.brackets)]
    options += ["--random-seed", str(args.random_seed)]
    return options + (["--n-train", str(args.n_train)] if args.n_train else [])


# -- timelines ------------------------------------------------------------------
def timeline(events, start):
    """Best validation score found against seconds since ``start``.

    A (candidate, epochs) evaluation counts when its last fold is logged,
    with the mean of its folds' scores.
    """
    folds = defaultdict(list)
    done = []
    for event in sorted(events, key=lambda e: e["t"]):
        key = (event["candidate"], event["epochs"], event.get("trial"))
        folds[key].append(event["score"])
        if len(folds[key]) == event["folds"]:
            done.append((event["t"] - start, sum(folds[key]) / event["folds"]))
    curve, best = [], float("-inf")
    for seconds, score in done:
        if score > best:
            best = score
            curve.append((round(seconds, 2), round(score, 5)))
    return curve, len(done)


def time_to_reach(curve, score):
    """First second at which ``curve`` reaches ``score`` (None: never)."""
    return next((t for t, s in curve if s >= score - 1e-9), None)


def summarise(outcomes, curves):
    """Per tool: final best, when it was reached; ours against each peer."""
    rows = {}
    for tool, outcome in outcomes.items():
        curve = curves[tool]
        final = curve[-1][1] if curve else None
        rows[tool] = {
            "search_s": round(outcome["search_s"], 1),
            "refit_s": round(outcome["refit_s"], 1),
            "final_best_validation": final,
            "reached_at_s": curve[-1][0] if curve else None,
            "reported_best_score": round(outcome["best_validation"], 5),
            "test_accuracy": round(outcome["test_accuracy"], 4),
            "best_params": outcome["best_params"],
            "notes": outcome["notes"],
        }
    races = []
    for ours in (tool for tool in OURS if tool in rows):
        for peer in (tool for tool in rows if tool not in OURS):
            races.append(race(ours, peer, rows, curves))
    return rows, races


def race(ours, peer, rows, curves):
    """When ``ours`` reaches ``peer``'s final best, against the peer's time."""
    target = rows[peer]["final_best_validation"]
    reached = time_to_reach(curves[ours], target) if target is not None else None
    peer_s = rows[peer]["reached_at_s"]
    ratio = reached / peer_s if reached is not None and peer_s else None
    return {
        "ours": ours,
        "peer": peer,
        "peer_final_best": target,
        "peer_reached_at_s": peer_s,
        "peer_search_s": rows[peer]["search_s"],
        "ours_reaches_it_at_s": reached,
        "ratio": round(ratio, 3) if ratio is not None else None,
        "target_met": bool(
            ratio is not None
            and ratio <= TARGET
            and rows[ours]["final_best_validation"] >= target
        ),
    }


# -- report ---------------------------------------------------------------------
def print_summary(rows, races):
    print(f"\n{'tool':16s} {'search s':>9s} {'best val':>9s} {'at s':>7s} {'test':>7s}")
    print("-" * 52)
    for tool, row in rows.items():
        print(
            f"{tool:16s} {row['search_s']:9.1f} {row['final_best_validation']:9.4f} "
            f"{row['reached_at_s']:7.1f} {row['test_accuracy']:7.4f}"
        )
    print(f"\nours reaches the peer's final best, in seconds (target <= {TARGET}):")
    for r in races:
        when = r["ours_reaches_it_at_s"]
        print(
            f"  {r['ours']:16s} vs {r['peer']:12s} {r['peer_final_best']:.4f}: "
            f"{'never' if when is None else f'{when:.1f} s'} against "
            f"{r['peer_reached_at_s']:.1f} s, ratio {r['ratio']}, "
            f"{'met' if r['target_met'] else 'missed'}"
        )


def plot(curves, budget, paths):
    """Best validation score against wall time, one step line per tool."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for tool, curve in curves.items():
        if not curve:
            continue
        seconds, scores = zip(*curve)
        end = max(seconds[-1], budget)
        label = LABELS[tool]
        ax.step([*seconds, end], [*scores, scores[-1]], where="post", label=label)
    ax.axvline(budget, color="grey", linestyle=":", linewidth=1)
    finals = [curve[-1][1] for curve in curves.values() if curve]
    ax.set_ylim(min(finals) - 0.02, max(finals) + 0.005)
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("best validation accuracy found")
    ax.set_title("Dense network on Fashion-MNIST: one search space, one budget")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    for path in paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
        print(f"Wrote {path}")
    plt.close(fig)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--budget", type=float, default=300, help="seconds per tool")
    parser.add_argument("--n-train", type=int, help="training images (all 60000)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument(
        "--brackets", type=int, default=2, help="HyperbandSearchCV's brackets"
    )
    parser.add_argument("--random-seed", type=int, default=0)
    parser.add_argument("--figure", help="also save the plot here")
    parser.add_argument("--output", help="JSON file (default under results/)")
    # Internal: run one tool (a child process of the benchmark).
    parser.add_argument("--child", choices=TOOLS, help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    return parser.parse_args()


def main():
    args = parse_args()
    if args.child:
        return run_tool(args)
    load_before = os.getloadavg()
    n = args.n_train or 60_000
    print(f"{n} images, {args.budget:g} s per tool, tools: {', '.join(args.tools)}")
    outcomes, curves, counts = {}, {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for tool in args.tools:
            print(f"  {tool} ...", flush=True)
            outcome, events = launch(tool, args, Path(folder))
            outcomes[tool] = outcome
            curves[tool], counts[tool] = timeline(events, outcome["start"])
            print(
                f"    {outcome['search_s']:.1f} s, best validation "
                f"{curves[tool][-1][1]:.4f}, test {outcome['test_accuracy']:.4f}",
                flush=True,
            )
    rows, races = summarise(outcomes, curves)
    for tool in rows:
        rows[tool]["evaluations"] = counts[tool]
    print_summary(rows, races)
    stem = "bench_peers" + (f"_{args.n_train}" if args.n_train else "")
    figures = [RESULTS_DIR / f"{stem}.png", *filter(None, [args.figure])]
    plot(curves, args.budget, figures)
    report = {
        "settings": {
            "n_train": n,
            "budget_s": args.budget,
            "space": {name: str(values) for name, values in SPACE.items()},
            "max_epochs": MAX_EPOCHS,
            "factor": FACTOR,
            "folds": N_FOLDS,
            "n_jobs": args.n_jobs,
            "hyperband_brackets": args.brackets,
        },
        "tools": rows,
        "curves": curves,
        "races": races,
        "target_ratio": TARGET,
        "random_seed": args.random_seed,
        "machine": environment(load_before),
        "command": " ".join(sys.argv),
    }
    write_report(report, args.output or RESULTS_DIR / f"{stem}.json")


if __name__ == "__main__":
    main()
