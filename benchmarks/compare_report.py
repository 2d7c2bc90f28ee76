"""Tables and plots of ``benchmarks/compare.py``, written from the model records.

A record is the JSON-ready dict ``compare.py`` saves per model; everything
here reads records only, so a resumed run redraws every plot without
refitting anything.
"""

import csv
import json
import math

import numpy as np

from fmnist_estimators.search import format_params

CSV_FIELDS = [
    "model",
    "label",
    "search",
    "n_candidates",
    "cv_mean",
    "cv_std",
    "scoring",
    "test_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "roc_auc_ovr",
    "log_loss",
    "ece",
    "proba_note",
    "fit_time_s",
    "predict_time_per_1000_s",
    "search_time_s",
    "best_params",
]


def json_ready(value):
    """``value`` with numpy scalars, tuples and estimators made JSON types."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, int | str):
        return value
    return repr(value)


# The probability measures of a record, and how the tables write them.
PROBA_FIELDS = {"roc_auc_ovr": ".4f", "log_loss": ".3f", "ece": ".3f"}
# Why a record has no probability measures when it does not say.
OLD_RECORD_NOTE = "not measured (saved by an older compare.py; rerun this model)"
# Below this expected calibration error a model is not flagged as poorly
# calibrated: 3 points of confidence matter little, and on n test images even a
# calibrated model's ECE reaches about 0.4 * sqrt(n_bins / n) by chance (see
# fmnist_estimators.metrics.expected_calibration_error).
ECE_TOLERANCE = 0.03


def _sorted(records):
    return sorted(records, key=lambda r: -(r["test_accuracy"] or 0.0))


def proba_note(record):
    """Why ``record`` has no ROC AUC, log-loss or ECE; None when it has them."""
    if record.get("ece") is not None:
        return None
    return record.get("proba_note") or OLD_RECORD_NOTE


def _proba_cells(record):
    if proba_note(record):
        return ["—"] * len(PROBA_FIELDS)
    return [format(record[key], spec) for key, spec in PROBA_FIELDS.items()]


def markdown_table(records):
    """The comparison as a Markdown table, best test accuracy first.

    ROC AUC, log-loss and ECE read "—" for a model without probabilities;
    :func:`probability_notes` says why.
    """
    scorings = {r.get("scoring", "accuracy") for r in records}
    scoring = scorings.pop() if len(scorings) == 1 else "score"
    lines = [
        f"| model | search | CV {scoring} | test accuracy | macro P / R / F1 "
        "| ROC AUC (macro OvR) | log-loss | ECE "
        "| fit (s) | predict (s / 1000) | best params |",
        "|:---|:---|:---|---:|:---|---:|---:|---:|---:|---:|:---|",
    ]
    for r in _sorted(records):
        params = r["best_params_text"] or "(defaults)"
        lines.append(
            f"| {r['model']} | {r['search']} ({r['n_candidates']}) "
            f"| {r['cv_mean']:.4f} ± {r['cv_std']:.4f} "
            f"| {r['test_accuracy']:.4f} "
            f"| {r['precision_macro']:.3f} / {r['recall_macro']:.3f} / "
            f"{r['f1_macro']:.3f} "
            f"| {' | '.join(_proba_cells(r))} "
            f"| {r['fit_time_s']:.2f} | {r['predict_time_per_1000_s']:.3f} "
            f"| {params.replace('|', '/')} |"
        )
    return "\n".join(lines)


def calibration_tolerance(n_test, n_bins):
    """ECE above which a model on ``n_test`` images counts as poorly calibrated."""
    return max(ECE_TOLERANCE, 0.4 * math.sqrt(n_bins / n_test))


def _confidence_bias(record):
    """Mean top-label confidence minus accuracy over the test set."""
    curve = record["calibration"]
    counts = np.array(curve["count"], dtype=float)
    gap = np.array(curve["confidence"]) - np.array(curve["accuracy"])
    return float(counts @ gap / counts.sum())


def probability_notes(records, n_test):
    """A line per model without probabilities, or with poorly calibrated ones.

    A poorly calibrated model gets scikit-learn's fix: temperature scaling
    with :class:`~sklearn.calibration.CalibratedClassifierCV`, of the fitted
    network on held-out images (``FrozenEstimator``: no retraining), of any
    other model by cross-validation.
    """
    notes = []
    for r in _sorted(records):
        note = proba_note(r)
        if note:
            notes.append(f"{r['model']}: no ROC AUC, log-loss or ECE: {note}.")
            continue
        n_bins = r["calibration"]["n_bins"]
        tolerance = calibration_tolerance(n_test, n_bins)
        if r["ece"] <= tolerance:
            continue
        bias = _confidence_bias(r)
        kind = "overconfident" if bias > 0 else "underconfident"
        if r.get("family") == "network":
            fix = (
                "`CalibratedClassifierCV(FrozenEstimator(fitted), "
                'method="temperature").fit(X_held_out, y_held_out)` '
                "recalibrates the trained network without training it again"
            )
        else:
            fix = (
                '`CalibratedClassifierCV(model, method="temperature", cv=3, '
                "ensemble=False)` recalibrates it (three more fits on 2/3 of "
                "the data), or `FrozenEstimator` on held-out images"
            )
        notes.append(
            f"{r['model']}: ECE {r['ece']:.3f} (above {tolerance:.3f}), "
            f"{kind} by {abs(bias):.3f} on average: {fix}."
        )
    return notes


def top_confusions(record, class_names, n=3):
    """The ``n`` most frequent (true, predicted) mistakes of a model."""
    matrix = np.array(record["confusion_matrix"])
    off = matrix - np.diag(np.diag(matrix))
    order = np.argsort(off, axis=None)[::-1][:n]
    pairs = []
    for flat in order:
        true, pred = np.unravel_index(flat, off.shape)
        if off[true, pred]:
            pairs.append(
                f"{class_names[true]} → {class_names[pred]} ({off[true, pred]})"
            )
    return ", ".join(pairs)


def write_tables(records, out_dir, config, environment, notes=()):
    """results.md, results.csv and results.json in ``out_dir``."""
    class_names = config["class_names"]
    md = [
        f"# Model comparison on {config['data_description']}",
        "",
        f"{config['n_train']} training images, {config['n_test']} test images; "
        f"{config['cv']}-fold stratified cross-validation on the training set "
        f"(the same folds for every model), seed {config['random_state']}. "
        "Each model is tuned on the training set only and evaluated once on "
        "the test set. Fit time is the refit of the best candidate on the "
        "whole training set.",
        "",
        markdown_table(records),
        "",
        "ROC AUC (macro one-vs-rest), log-loss and the expected calibration "
        "error (ECE: the gap between the top label's probability and its "
        "accuracy, averaged over confidence bins) come from each model's "
        "`predict_proba` on the test set; `reliability.png` draws the "
        "calibration curves.",
        "",
    ]
    proba_lines = probability_notes(records, config["n_test"])
    if proba_lines:
        md += ["## Probabilities to check", ""]
        md += [f"- {line}" for line in proba_lines] + [""]
    md += [
        "## Most frequent confusions (true → predicted, count)",
        "",
    ]
    md += [
        f"- {r['model']}: {top_confusions(r, class_names)}" for r in _sorted(records)
    ]
    if notes:
        md += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    (out_dir / "results.md").write_text("\n".join(md) + "\n")

    with open(out_dir / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for r in _sorted(records):
            row = {
                key: round(r[key], 6) if isinstance(r.get(key), float) else r.get(key)
                for key in CSV_FIELDS
            }
            row["scoring"] = r.get("scoring", "accuracy")
            row["proba_note"] = proba_note(r)
            row["best_params"] = json.dumps(r["best_params"])
            writer.writerow(row)

    summary = {
        "config": config,
        "environment": environment,
        "notes": list(notes),
        "models": _sorted(records),
    }
    (out_dir / "results.json").write_text(json.dumps(json_ready(summary), indent=1))


# -- plots ------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(record, class_names, path):
    plt = _pyplot()
    matrix = np.array(record["confusion_matrix"], dtype=float)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, class_names)
    for i in ticks:
        for j in ticks:
            if matrix[i, j]:
                color = "white" if rates[i, j] > 0.5 else "black"
                ax.text(
                    j,
                    i,
                    int(matrix[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=color,
                )
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{record['model']}: test accuracy {record['test_accuracy']:.3f}")
    fig.colorbar(image, ax=ax, label="share of the true class")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_per_class(records, class_names, path):
    plt = _pyplot()
    records = _sorted(records)
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(records)
    x = np.arange(len(class_names))
    for k, r in enumerate(records):
        ax.bar(
            x + (k - (len(records) - 1) / 2) * width,
            r["per_class_accuracy"],
            width,
            label=r["model"],
        )
    ax.set_xticks(x, class_names, rotation=30, ha="right")
    ax.set_ylabel("test accuracy (recall) of the class")
    ax.set_ylim(0, 1)
    title = "Per-class test accuracy"
    if "Shirt" in class_names:
        title += ": shirts, T-shirts, pullovers and coats are the hard ones"
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=min(4, len(records)), loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_learning_curves(records, path):
    plt = _pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for r in records:
        history = r["history"]
        epochs = np.arange(1, len(history["loss"]) + 1)
        (line,) = ax_loss.plot(epochs, history["loss"], marker=".", label=r["model"])
        ax_acc.plot(
            epochs,
            history["accuracy"],
            marker=".",
            color=line.get_color(),
            label=f"{r['model']} (train)",
        )
        if "val_accuracy" in history:
            ax_acc.plot(
                epochs,
                history["val_accuracy"],
                ls="--",
                color=line.get_color(),
                label=f"{r['model']} (validation)",
            )
    ax_loss.set(xlabel="epoch", ylabel="training loss", title="Loss")
    ax_acc.set(
        xlabel="epoch",
        ylabel="accuracy",
        title="Accuracy (refit of the best candidate)",
    )
    ax_loss.legend(fontsize=8)
    ax_acc.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_reliability(records, path):
    """Reliability diagram: top-label accuracy against confidence, per model."""
    plt = _pyplot()
    fig, (ax, ax_count) = plt.subplots(
        2, 1, figsize=(6, 6.5), sharex=True, height_ratios=(3, 1)
    )
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label="perfectly calibrated")
    for r in _sorted(records):
        curve = r["calibration"]
        (line,) = ax.plot(
            curve["confidence"],
            curve["accuracy"],
            marker="o",
            ms=4,
            label=f"{r['model']} ({r['family']}): ECE {r['ece']:.3f}",
        )
        share = np.array(curve["count"]) / np.sum(curve["count"])
        ax_count.plot(curve["confidence"], share, marker=".", color=line.get_color())
    ax.set(
        ylabel="accuracy of the top label",
        xlim=(0, 1.02),
        ylim=(0, 1.02),
        title="Reliability on the test set (below the diagonal: overconfident)",
    )
    ax.legend(fontsize=8, loc="upper left")
    ax_count.set(
        xlabel="confidence (largest predicted probability), binned",
        ylabel="share of images",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _search_axis(candidates):
    """The parameter for the x axis: numeric with most values, else categorical."""
    names = []
    for row in candidates:
        names += [name for name in row["params"] if name not in names]

    def n_values(name):
        return len({json.dumps(row["params"].get(name)) for row in candidates})

    def numeric(name):
        return all(
            isinstance(row["params"].get(name), int | float)
            and not isinstance(row["params"].get(name), bool)
            for row in candidates
        )

    varying = [name for name in names if n_values(name) > 1]
    numeric_names = [name for name in varying if numeric(name)]
    if numeric_names:
        # The most finely explored, such as a log-uniform learning rate.
        return max(numeric_names, key=n_values), True
    return (varying[0], False) if varying else (None, False)


def plot_search(record, path):
    """CV accuracy of every candidate against one of its parameters."""
    plt = _pyplot()
    # Failed candidates (NaN scores, saved as null) have nothing to plot.
    candidates = [r for r in record["candidates"] if r["mean_test_score"] is not None]
    name, numeric = _search_axis(candidates)
    if name is None:
        return False
    fig, ax = plt.subplots(figsize=(6, 4))
    resources = sorted({row.get("n_resources") for row in candidates}, key=str)
    labels = sorted({json.dumps(row["params"][name]) for row in candidates})
    for resource in resources:
        rows = [row for row in candidates if row.get("n_resources") == resource]
        if numeric:
            x = [row["params"][name] for row in rows]
        else:
            x = [labels.index(json.dumps(row["params"][name])) for row in rows]
        label = None if resource is None else f"{resource} {record['resource']}"
        ax.errorbar(
            x,
            [row["mean_test_score"] for row in rows],
            yerr=[row["std_test_score"] or 0 for row in rows],
            fmt="o",
            capsize=3,
            label=label,
        )
    if numeric:
        values = [row["params"][name] for row in candidates]
        if min(values) > 0 and max(values) / min(values) > 20:
            ax.set_xscale("log")
    else:
        ax.set_xticks(range(len(labels)), labels, rotation=20)
    ax.set_xlabel(name.split("__")[-1])
    ax.set_ylabel(f"CV {record.get('scoring', 'accuracy')} (mean ± std over folds)")
    ax.set_title(f"{record['model']}: {record['search']}")
    if resources != [None]:
        ax.legend(fontsize=8, title="budget")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_model_plots(record, out_dir, class_names):
    """One model's own plots (confusion matrix, search); the files written.

    compare.py draws them as each model finishes, while the other models run.
    """
    try:
        _pyplot()
    except ImportError:
        return []
    path = out_dir / f"confusion_{record['model']}.png"
    plot_confusion(record, class_names, path)
    written = [path]
    if record["n_candidates"] > 1:
        path = out_dir / f"search_{record['model']}.png"
        if plot_search(record, path):
            written.append(path)
    return written


def write_plots(records, out_dir, class_names, drawn=None):
    """Every plot; returns the files written, or a note when matplotlib is absent.

    ``drawn`` maps a model's name to the files of its own plots, already
    written by :func:`write_model_plots`; the other models' are drawn here.
    """
    try:
        _pyplot()
    except ImportError:
        return [], ["matplotlib is not installed: no plots were drawn."]
    drawn = drawn or {}
    written = []
    for r in records:
        if r["model"] in drawn:
            written.extend(drawn[r["model"]])
        else:
            written.extend(write_model_plots(r, out_dir, class_names))
    path = out_dir / "per_class_accuracy.png"
    plot_per_class(records, class_names, path)
    written.append(path)
    calibrated = [r for r in records if r.get("calibration")]
    if calibrated:
        path = out_dir / "reliability.png"
        plot_reliability(calibrated, path)
        written.append(path)
    networks = [r for r in records if r.get("history")]
    if networks:
        path = out_dir / "learning_curves.png"
        plot_learning_curves(networks, path)
        written.append(path)
    return written, []


def format_candidate(row):
    """One progress line per candidate."""
    text = format_params(row["params"]) or "(defaults)"
    if row.get("n_resources") is not None:
        text += f" [{row['n_resources']}]"
    return (
        f"{row['mean_test_score']:.4f} ± {row['std_test_score']:.4f}  {text}  "
        f"({row['mean_fit_time']:.1f} s/fit)"
    )
