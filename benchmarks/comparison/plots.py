"""Plots of the comparison, drawn from the model records alone.

matplotlib is optional: without it :func:`write_plots` says so in a note.
"""

import json

import numpy as np

from .report import best_first


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
    records = best_first(records)
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
    for r in best_first(records):
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
