"""The comparison beside the published figures of the classic studies.

Each classic result is stood for by one model of the roster, the one that
plays its part here; the scoreboard gives that model's test accuracy, the
published figure and the difference in points. A published range (the
pretrained backbones' 79-88 %) counts a result inside it as no difference,
and one outside by its distance to the nearer end.
"""

import csv
import dataclasses

# Training images of the full data, on which the classic figures were measured.
FULL_TRAIN = 60_000


@dataclasses.dataclass(frozen=True)
class ClassicResult:
    """A published test accuracy (in %, a range from ``low`` to ``high``)."""

    study: str
    low: float
    high: float
    data: str  # "fashion" (Fashion-MNIST) or "mnist"
    model: str  # the model of the roster that stands for it

    @property
    def figure(self):
        if self.low == self.high:
            return f"{self.low:g} %"
        return f"{self.low:g}–{self.high:g} %"


CLASSIC_RESULTS = (
    # DenseNetClassifier's defaults are the tutorial's 784-128-10 network.
    ClassicResult("tutorial MLP", 88.57, 88.57, "fashion", "dense"),
    ClassicResult(
        "tuned fully connected network", 90.11, 90.11, "fashion", "dense_tuned"
    ),
    ClassicResult('"SVD classifier"', 91.28, 91.28, "fashion", "svd"),
    ClassicResult("CNN with dropout", 91.1, 91.1, "fashion", "conv"),
    ClassicResult("grouped-convolution CNN", 93.7, 93.7, "fashion", "best_cnn"),
    ClassicResult("pretrained VGG/ResNet/Inception", 79, 88, "fashion", "pretrained"),
    ClassicResult("MNIST MLP", 98.18, 98.18, "mnist", "dense_tuned"),
)
# The comparison's data sets, as the classic results name them.
DATA_KIND = {"sample": "fashion", "full": "fashion", "mnist": "mnist"}
CSV_FIELDS = ["classic_study", "published", "model", "ours", "difference", "note"]


def difference(ours, low, high):
    """Points from the published range ``[low, high]`` to ``ours``; 0 inside it.

    Examples
    --------
    >>> round(difference(93.9, 93.7, 93.7), 2)
    0.2
    >>> difference(85.0, 79, 88)
    0.0
    >>> difference(77.0, 79, 88)
    -2.0
    """
    if ours > high:
        return ours - high
    if ours < low:
        return ours - low
    return 0.0


def scoreboard(records, data, requested=()):
    """A row per classic result of the data ``data``, with our stand-in's figure.

    Rows are dicts of :data:`CSV_FIELDS`: ``ours`` and ``difference`` in %
    and points, None (with a ``note``) where the stand-in has no record: it
    was not among the ``requested`` models, or it was and did not run (the
    pretrained network without its weights).
    """
    by_name = {r["model"]: r for r in records}
    rows = []
    for classic in CLASSIC_RESULTS:
        if classic.data != DATA_KIND[data]:
            continue
        record = by_name.get(classic.model)
        row = dict.fromkeys(CSV_FIELDS)
        row.update(
            classic_study=classic.study, published=classic.figure, model=classic.model
        )
        if record is None and classic.model in requested:
            row["note"] = "skipped in this run: its line in the log says why"
        elif record is None:
            row["note"] = f"not in this run: add {classic.model} to --models"
        else:
            ours = 100 * record["test_accuracy"]
            row.update(
                ours=ours, difference=difference(ours, classic.low, classic.high)
            )
            if classic.low != classic.high and row["difference"] == 0:
                row["note"] = "within the published range"
        rows.append(row)
    return rows


def scoreboard_notes(config):
    """What the reader needs to know to compare the rows fairly."""
    notes = []
    if config["n_train"] < FULL_TRAIN:
        notes.append(
            f"Ours from {config['n_train']:,} training images; the classic "
            f"figures come from the full {FULL_TRAIN:,}: compare after "
            "`--data full`."
        )
    if DATA_KIND[config["data"]] == "fashion":
        notes.append(
            "The MNIST MLP's 98.18 % is a figure on MNIST: `--data mnist` "
            "puts it beside ours."
        )
    else:
        notes.append(
            "The Fashion-MNIST studies' figures are left out on MNIST: "
            "`--data full` compares with them."
        )
    return notes


def _cells(row):
    if row["ours"] is None:
        return "—", "—"
    return f"{row['ours']:.2f} %", f"{row['difference']:+.2f}"


def scoreboard_markdown(rows, config):
    """The scoreboard as a Markdown section: a table, then its notes."""
    lines = [
        "## Against the classic studies",
        "",
        "| classic study | published | ours | model | difference (points) | note |",
        "|:---|---:|---:|:---|---:|:---|",
    ]
    for row in rows:
        ours, diff = _cells(row)
        lines.append(
            f"| {row['classic_study']} | {row['published']} | {ours} "
            f"| {row['model']} | {diff} | {row['note'] or ''} |"
        )
    lines.append("")
    lines += [f"- {note}" for note in scoreboard_notes(config)]
    return "\n".join(lines)


def write_scoreboard_csv(rows, path):
    """``scoreboard.csv``: the rows, with ours and the difference rounded."""
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for row in rows:
            rounded = {
                key: round(value, 2) if isinstance(value, float) else value
                for key, value in row.items()
            }
            writer.writerow(rounded)
