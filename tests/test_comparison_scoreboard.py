"""The report's scoreboard against the classic studies, on fabricated records."""

import csv
import json

import pytest

from benchmarks.comparison import report, scoreboard

CLASSES = [str(k) for k in range(10)]


def _record(model, accuracy, *, cv=True):
    """A saved record of ``model`` with test accuracy ``accuracy``."""
    matrix = [[100 if i == j else 0 for j in range(10)] for i in range(10)]
    return {
        "model": model,
        "family": "network",
        "search": "GridSearchCV" if cv else "fit once, no CV",
        "n_candidates": 1,
        "cv_mean": 0.9 if cv else None,
        "cv_std": 0.01 if cv else None,
        "scoring": "accuracy",
        "test_accuracy": accuracy,
        "precision_macro": accuracy,
        "recall_macro": accuracy,
        "f1_macro": accuracy,
        "roc_auc_ovr": None,
        "log_loss": None,
        "ece": None,
        "calibration": None,
        "proba_note": "no predict_proba (fabricated)",
        "fit_time_s": 1.0,
        "predict_time_per_1000_s": 0.1,
        "search_time_s": 3.0,
        "best_params": {},
        "best_params_text": "",
        "confusion_matrix": matrix,
    }


RECORDS = [
    _record("dense", 0.8891),
    _record("dense_tuned", 0.8925),
    _record("svd", 0.8404),
    _record("conv", 0.9302),
    _record("best_cnn", 0.9402, cv=False),
    _record("classical", 0.9340),
]


def _config(data="full", n_train=60_000):
    return {
        "data": data,
        "data_description": "Fashion-MNIST",
        "n_train": n_train,
        "n_test": 10_000,
        "cv": 3,
        "random_state": 0,
        "class_names": CLASSES,
    }


def test_each_classic_result_beside_the_model_that_stands_for_it():
    rows = {row["classic_study"]: row for row in scoreboard.scoreboard(RECORDS, "full")}
    assert list(rows) == [
        "tutorial MLP",
        "tuned fully connected network",
        '"SVD classifier"',
        "CNN with dropout",
        "grouped-convolution CNN",
        "pretrained VGG/ResNet/Inception",
    ]
    tutorial = rows["tutorial MLP"]
    assert tutorial["model"] == "dense" and tutorial["published"] == "88.57 %"
    assert tutorial["ours"] == pytest.approx(88.91)
    assert tutorial["difference"] == pytest.approx(0.34)
    assert rows["tuned fully connected network"]["difference"] == pytest.approx(-0.86)
    assert rows['"SVD classifier"']["difference"] == pytest.approx(-7.24)
    assert rows["CNN with dropout"]["difference"] == pytest.approx(1.92)
    grouped = rows["grouped-convolution CNN"]
    assert grouped["model"] == "best_cnn"
    assert grouped["difference"] == pytest.approx(0.32)
    pretrained = rows["pretrained VGG/ResNet/Inception"]
    assert pretrained["published"] == "79–88 %" and pretrained["ours"] is None
    assert pretrained["note"] == "not in this run: add pretrained to --models"


def test_a_published_range_counts_the_distance_to_its_nearer_end():
    for accuracy, expected, note in [
        (0.85, 0.0, "within the published range"),
        (0.90, 2.0, None),
        (0.75, -4.0, None),
    ]:
        (row,) = [
            row
            for row in scoreboard.scoreboard([_record("pretrained", accuracy)], "full")
            if row["model"] == "pretrained"
        ]
        assert row["difference"] == pytest.approx(expected)
        assert row["note"] == note


def test_a_requested_model_without_a_record_was_skipped():
    rows = scoreboard.scoreboard(RECORDS, "sample", requested=["pretrained", "svd"])
    (row,) = [row for row in rows if row["model"] == "pretrained"]
    assert row["note"] == "skipped in this run: its line in the log says why"


def test_mnist_has_the_mnist_mlp_only():
    records = [_record("dense_tuned", 0.9912)]
    (row,) = scoreboard.scoreboard(records, "mnist")
    assert row["classic_study"] == "MNIST MLP" and row["model"] == "dense_tuned"
    assert row["difference"] == pytest.approx(99.12 - 98.18)
    notes = scoreboard.scoreboard_notes(_config("mnist"))
    assert notes == [
        "The Fashion-MNIST studies' figures are left out on MNIST: "
        "`--data full` compares with them."
    ]


def test_the_results_files_hold_the_scoreboard(tmp_path):
    report.write_tables(RECORDS, tmp_path, _config(), environment={})
    md = (tmp_path / "results.md").read_text()
    section = md.split("## Against the classic studies")[1].split("\n## ")[0]
    assert (
        "| tutorial MLP | 88.57 % | 88.91 % | dense | +0.34 |  |"
        in section.splitlines()
    )
    assert (
        "| grouped-convolution CNN | 93.7 % | 94.02 % | best_cnn | +0.32 |" in section
    )
    assert (
        "| pretrained VGG/ResNet/Inception | 79–88 % | — | pretrained | — |" in section
    )
    # on Fashion-MNIST the MNIST figure is named, not compared
    assert "98.18 % is a figure on MNIST" in section
    # the full data: no warning about the number of images
    assert "training images; the classic" not in section
    # the row fitted once says how it was measured
    assert "| best_cnn | fit once, no CV | — | 0.9402 |" in md
    assert "fitted once on the whole training set, without cross-validation" in md

    summary = json.loads((tmp_path / "results.json").read_text())
    by_study = {row["classic_study"]: row for row in summary["scoreboard"]}
    assert by_study["CNN with dropout"]["model"] == "conv"
    assert by_study["CNN with dropout"]["ours"] == pytest.approx(93.02)
    with open(tmp_path / "scoreboard.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0] == {
        "classic_study": "tutorial MLP",
        "published": "88.57 %",
        "model": "dense",
        "ours": "88.91",
        "difference": "0.34",
        "note": "",
    }
    # the CV columns of the fitted-once model are empty, not "None"
    with open(tmp_path / "results.csv", newline="") as f:
        (best_cnn,) = [row for row in csv.DictReader(f) if row["model"] == "best_cnn"]
    assert best_cnn["cv_mean"] == "" and best_cnn["search"] == "fit once, no CV"


def test_a_subset_is_not_passed_off_as_the_full_data(tmp_path):
    report.write_tables(RECORDS, tmp_path, _config("sample", 5_000), environment={})
    md = (tmp_path / "results.md").read_text()
    assert (
        "Ours from 5,000 training images; the classic figures come from the "
        "full 60,000: compare after `--data full`."
    ) in md
