"""The accuracy frontier: test accuracy against fit time in F, every model.

Each point is one model fitted once on the full Fashion-MNIST training set
(60,000 images) and scored once on its test set (10,000), its fit time in
units of F: the fit time of ``ConvNetClassifier.from_preset("fast")`` in the
same session. Points come from two kinds of result files, each in the F of
its own run:

- ``accuracy.py`` runs: the presets. By default the runs summarised in
  ``docs/_static/frontier/accuracy_runs.json`` (the docs' plot); with
  ``--results``, this machine's ``results/accuracy_CONFIG_seedN.json``
  instead, in the F of ``results/accuracy_F.json`` or the one a run recorded;
- a ``compare.py --data full`` run (``results.json``; its F is the fit time
  of its ``conv`` model, the fast preset, fitted in the same run): every
  family, classical models included. Its models ran side by side, one
  thread each, so their times are one-thread times, F included.

The published figures our users know are drawn as reference lines. Writes
``results/frontier.png`` and the points to ``results/frontier.json``.

Usage::

    python benchmarks/frontier.py                      # the docs' plot
    python benchmarks/accuracy.py --measure-f tf_tutorial two_block
    python benchmarks/frontier.py --results --compare compare_results/results.json
"""

import argparse
import json
from pathlib import Path

from _common import F_FILE, RESULTS_DIR, accuracy_runs, f_report, write_report

DOCS_STATIC = Path(__file__).resolve().parents[1] / "docs/_static"
DOCS_COMPARE = DOCS_STATIC / "compare_full/results.json"
DOCS_RUNS = DOCS_STATIC / "frontier/accuracy_runs.json"

# The classic studies' test accuracies (%), as in the README.
REFERENCES = {
    "tutorial MLP": 88.57,
    "best MLP": 90.11,
    "SVD classifier": 91.28,
    "grouped-conv CNN": 93.7,
}

# compare.py's model names -> (kind, label); the others are skipped.
COMPARE_MODELS = {
    "conv": ("preset", '"fast"'),
    "best_cnn": ("preset", '"best_cpu"'),
    "dense": ("dense", "DenseNetClassifier()"),
    "dense_tuned": ("dense", "DenseNetClassifier, tuned"),
    "mlp": ("dense", "MLPClassifier, tuned"),
    "classical": ("classical", "patch PCA + SVC"),
    "svc": ("classical", "PCA + SVC, tuned"),
    "logreg": ("classical", "LogisticRegression"),
    "svd": ("classical", "SVDSubspaceClassifier"),
}


def compare_points(path):
    """Points of a full-data ``compare.py`` run, in units of its conv's fit time."""
    report = json.loads(Path(path).read_text())
    if report["config"]["data"] != "full":
        raise SystemExit(f"{path} is not a --data full run of compare.py.")
    models = {m["model"]: m for m in report["models"]}
    if "conv" not in models:
        raise SystemExit(f"{path} has no 'conv' model, so no F.")
    f_s = models["conv"]["fit_time_s"]
    return [
        {
            "kind": COMPARE_MODELS[name][0],
            "label": COMPARE_MODELS[name][1],
            "test_accuracy": model["test_accuracy"],
            "fit_s": round(model["fit_time_s"], 1),
            "F_s": round(f_s, 1),
            "fit_F": round(model["fit_time_s"] / f_s, 3),
            "source": str(path),
        }
        for name, model in models.items()
        if name in COMPARE_MODELS
    ]


def preset_point(configuration, seed, accuracy, train_s, f_s, source):
    """One preset's point, its time in units of its own session's F."""
    return {
        "kind": "preset",
        "label": f'"{configuration}" (seed {seed})',
        "test_accuracy": accuracy,
        "fit_s": train_s,
        "F_s": round(f_s, 1),
        "fit_F": round(train_s / f_s, 3),
        "source": source,
    }


def summary_points(path):
    """Points of the accuracy.py runs summarised in one JSON file; a run from
    another session than the file's ``F_s`` carries its own ``F_s``."""
    summary = json.loads(Path(path).read_text())
    return [
        preset_point(
            run["configuration"],
            run["random_state"],
            run["test_accuracy"],
            run["train_s"],
            run.get("F_s", summary["F_s"]),
            Path(path).name,
        )
        for run in summary["runs"]
    ]


def accuracy_points():
    """Final points of this machine's ``accuracy.py`` test-set runs."""
    points = [
        preset_point(
            report["configuration"],
            report["random_state"],
            report["test_accuracy"],
            report["train_s"],
            f_run,
            path.name,
        )
        for path, report, f_run in accuracy_runs("fashion")
        if f_run is not None  # no F to put it in units of
    ]
    fast = f_report()
    if fast.get("n") == 60_000:
        f_s = fast["F_s"]
        points.append(
            preset_point("fast", 0, fast["test_accuracy"], f_s, f_s, F_FILE.name)
        )
    return points


STYLE = {
    "preset": dict(marker="o", color="tab:blue", label="CNN presets"),
    "dense": dict(marker="s", color="tab:orange", label="fully connected"),
    "classical": dict(marker="^", color="tab:green", label="classical, no network"),
}


def _crowds(point, other):
    """Whether ``other`` sits where ``point``'s label would go: just above it,
    or level with it a little to its right (a label spans about a factor of
    two of fit time on the log axis)."""
    rise = other["test_accuracy"] - point["test_accuracy"]
    ratio = other["fit_F"] / point["fit_F"]
    above = 0 < rise < 0.0025 and 1 / 1.2 < ratio < 1.2
    beside = abs(rise) < 0.0015 and 1 < ratio < 2.2
    return above or beside


def plot(points, path):
    """Accuracy against fit time in F, log-scaled, with the reference lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5.2))
    for kind, style in STYLE.items():
        mine = [p for p in points if p["kind"] == kind]
        ax.scatter(
            [p["fit_F"] for p in mine],
            [100 * p["test_accuracy"] for p in mine],
            s=36,
            zorder=3,
            **style,
        )
        for p in mine:
            # A point crowded above or on its right is labelled on its left.
            left = any(_crowds(p, other) for other in points)
            ax.annotate(
                p["label"],
                (p["fit_F"], 100 * p["test_accuracy"]),
                xytext=(-5 if left else 5, -3),
                textcoords="offset points",
                ha="right" if left else "left",
                fontsize=7,
            )
    for name, value in REFERENCES.items():
        ax.axhline(value, color="grey", linestyle=":", linewidth=1)
        ax.text(0.0055, value + 0.08, f"{name} {value} %", fontsize=7, color="dimgrey")
    ax.set_xscale("log")
    ax.set_xlim(0.005, 30)
    ax.set_ylim(83.5, 95)
    ax.set_xlabel('fit time in F (F: the "fast" preset\'s fit time, same session)')
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Fashion-MNIST on a 2-core CPU: accuracy against fit time")
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"Wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--compare",
        type=Path,
        default=DOCS_COMPARE,
        help="results.json of a compare.py --data full run (default: the docs' one)",
    )
    parser.add_argument(
        "--results",
        action="store_true",
        help="this machine's accuracy.py results, not the docs' summary",
    )
    args = parser.parse_args()
    presets = accuracy_points() if args.results else summary_points(DOCS_RUNS)
    points = compare_points(args.compare) + presets
    for p in sorted(points, key=lambda p: p["fit_F"]):
        print(
            f"{p['label']:34s} {100 * p['test_accuracy']:6.2f} %  "
            f"{p['fit_s']:8.1f} s = {p['fit_F']:6.2f} F (F {p['F_s']} s)"
        )
    write_report(
        {"points": points, "references": REFERENCES}, RESULTS_DIR / "frontier.json"
    )
    plot(points, RESULTS_DIR / "frontier.png")


if __name__ == "__main__":
    main()
