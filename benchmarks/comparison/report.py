"""Tables of the comparison, written from the model records.

A record is the JSON-ready dict the comparison saves per model; everything
here and in :mod:`plots` reads records only, so a resumed run writes every
table and plot without refitting anything.
"""

import csv
import json
import math

import numpy as np

from fmnist_estimators.search import format_params

from .scoreboard import scoreboard, scoreboard_markdown, write_scoreboard_csv

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


def best_first(records):
    """``records``, the best test accuracy first."""
    return sorted(records, key=lambda r: -(r["test_accuracy"] or 0.0))


def proba_note(record):
    """Why ``record`` has no ROC AUC, log-loss or ECE; None when it has them."""
    if record.get("ece") is not None:
        return None
    return record.get("proba_note") or OLD_RECORD_NOTE


def _search_cell(record):
    """How the row was measured: the search and its candidates, or a single fit."""
    if record["cv_mean"] is None:
        return record["search"]
    return f"{record['search']} ({record['n_candidates']})"


def _cv_cell(record):
    if record["cv_mean"] is None:
        return "—"
    return f"{record['cv_mean']:.4f} ± {record['cv_std']:.4f}"


def _proba_cells(record):
    if proba_note(record):
        return ["—"] * len(PROBA_FIELDS)
    return [format(record[key], spec) for key, spec in PROBA_FIELDS.items()]


def markdown_table(records):
    """The comparison as a Markdown table, best test accuracy first.

    ROC AUC, log-loss and ECE read "—" for a model without probabilities;
    :func:`probability_notes` says why. A model fitted once without
    cross-validation reads "fit once, no CV" and has no CV score.
    """
    scorings = {r.get("scoring", "accuracy") for r in records}
    scoring = scorings.pop() if len(scorings) == 1 else "score"
    lines = [
        f"| model | search | CV {scoring} | test accuracy | macro P / R / F1 "
        "| ROC AUC (macro OvR) | log-loss | ECE "
        "| fit (s) | predict (s / 1000) | best params |",
        "|:---|:---|:---|---:|:---|---:|---:|---:|---:|---:|:---|",
    ]
    for r in best_first(records):
        params = r["best_params_text"] or "(defaults)"
        lines.append(
            f"| {r['model']} | {_search_cell(r)} | {_cv_cell(r)} "
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
    for r in best_first(records):
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


# How the rows of models fitted once were measured, when there are any.
FIT_ONCE_NOTE = (
    'A model marked "fit once, no CV" has nothing to tune (a preset, or a '
    "pipeline with fixed settings): it was fitted once on the whole training "
    "set, without cross-validation, and its fit time is that fit; "
    "`--cv-untuned` cross-validates the untuned models other than best_cnn "
    "and pretrained too."
)


def write_tables(records, out_dir, config, environment, notes=(), requested=()):
    """results.md, results.csv, scoreboard.csv and results.json in ``out_dir``.

    ``requested``: the models asked for, of which those without a record
    were skipped.
    """
    class_names = config["class_names"]
    classic = scoreboard(records, config["data"], requested)
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
    if any(r["cv_mean"] is None for r in records):
        md += [FIT_ONCE_NOTE, ""]
    md += [scoreboard_markdown(classic, config), ""]
    proba_lines = probability_notes(records, config["n_test"])
    if proba_lines:
        md += ["## Probabilities to check", ""]
        md += [f"- {line}" for line in proba_lines] + [""]
    md += [
        "## Most frequent confusions (true → predicted, count)",
        "",
    ]
    md += [
        f"- {r['model']}: {top_confusions(r, class_names)}" for r in best_first(records)
    ]
    if notes:
        md += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    (out_dir / "results.md").write_text("\n".join(md) + "\n")

    with open(out_dir / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for r in best_first(records):
            row = {
                key: round(r[key], 6) if isinstance(r.get(key), float) else r.get(key)
                for key in CSV_FIELDS
            }
            row["scoring"] = r.get("scoring", "accuracy")
            row["proba_note"] = proba_note(r)
            row["best_params"] = json.dumps(r["best_params"])
            writer.writerow(row)
    write_scoreboard_csv(classic, out_dir / "scoreboard.csv")

    summary = {
        "config": config,
        "environment": environment,
        "notes": list(notes),
        "models": best_first(records),
        "scoreboard": classic,
    }
    (out_dir / "results.json").write_text(json.dumps(json_ready(summary), indent=1))


def format_candidate(row):
    """One progress line per candidate."""
    text = format_params(row["params"]) or "(defaults)"
    if row.get("n_resources") is not None:
        text += f" [{row['n_resources']}]"
    return (
        f"{row['mean_test_score']:.4f} ± {row['std_test_score']:.4f}  {text}  "
        f"({row['mean_fit_time']:.1f} s/fit)"
    )
