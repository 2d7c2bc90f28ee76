"""benchmarks/compare.py end to end on a tiny subset, and its resume."""

import json

import numpy as np
import pytest

from benchmarks.comparison import cli, evaluation, report, roster, tuning

FIELDS = {
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
    "calibration",
    "fit_time_s",
    "predict_time_per_1000_s",
    "best_params",
}


def compare_argv(out_dir, *extra):
    return [
        "--n-train",
        "300",
        "--n-test",
        "100",
        "--cv",
        "2",
        "--models",
        "svd,dense",
        "--fast",
        "--output-dir",
        str(out_dir),
        *extra,
    ]


@pytest.mark.slow
def test_compare_end_to_end_and_resume(tmp_path, capsys, one_blas_thread):
    # The program of `python benchmarks/compare.py`, run in this process: a
    # new one would import TensorFlow again (test_comparison_cli runs the
    # script itself, and interrupts it).
    out = tmp_path / "results"
    assert cli.main(compare_argv(out)) == 0
    log = capsys.readouterr().out
    assert "[1/2] svd" in log and "[2/2] dense" in log
    assert "GridSearchCV" in log

    for name in ("results.md", "results.csv", "results.json"):
        assert (out / name).is_file()
    summary = json.loads((out / "results.json").read_text())
    assert summary["config"]["n_train"] == 300
    assert summary["config"]["n_test"] == 100
    models = {record["model"]: record for record in summary["models"]}
    assert set(models) == {"svd", "dense"}
    for record in models.values():
        assert FIELDS <= set(record)
        assert 0 <= record["test_accuracy"] <= 1
        # every model here has predict_proba: all probability measures are there
        assert record["proba_note"] is None
        assert 0.5 < record["roc_auc_ovr"] <= 1
        assert record["log_loss"] > 0
        assert 0 <= record["ece"] <= 1
        assert sum(record["calibration"]["count"]) == 100
    assert models["svd"]["best_params"]["n_components"] in (10, 20)
    assert len(models["dense"]["history"]["loss"]) == 1  # --fast: one epoch
    assert len(models["svd"]["confusion_matrix"]) == 10
    table = (out / "results.md").read_text()
    assert "| svd |" in table and "| dense |" in table and " ± " in table
    assert "| CV accuracy |" in table and "| ROC AUC (macro OvR) |" in table
    assert f"| {models['svd']['ece']:.3f} |" in table
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith("model,label,search,n_candidates,cv_mean,cv_std")
    assert ",roc_auc_ovr,log_loss,ece," in header
    pytest.importorskip("matplotlib")
    for name in (
        "confusion_svd.png",
        "confusion_dense.png",
        "per_class_accuracy.png",
        "learning_curves.png",
        "search_svd.png",
        "reliability.png",
    ):
        assert (out / name).stat().st_size > 0

    # Resume: the saved models are not refit. The same program, run in this
    # process (each new process would import TensorFlow again).
    def resume(*extra):
        assert cli.main(compare_argv(out, "--resume", *extra)) == 0
        return capsys.readouterr().out

    saved = {p.name: p.stat().st_mtime_ns for p in (out / "models").glob("*.json")}
    assert set(saved) == {"svd.json", "dense.json"}
    log = resume("--quiet")
    assert log.strip() == ""
    assert {
        p.name: p.stat().st_mtime_ns for p in (out / "models").glob("*.json")
    } == saved
    log = resume("--models", "svd")
    assert "svd: resumed" in log
    # Other settings: the saved model is not reused.
    log = resume("--models", "svd", "--random-state", "1")
    assert "saved with other settings" in log
    # Another scorer ranks the candidates, and is another setting.
    log = resume("--models", "svd", "--scoring", "neg_log_loss")
    assert "saved with other settings" in log and "CV neg_log_loss" in log
    summary = json.loads((out / "results.json").read_text())
    (record,) = summary["models"]
    assert record["scoring"] == "neg_log_loss" and record["cv_mean"] < 0
    assert "| CV neg_log_loss |" in (out / "results.md").read_text()


def test_compare_rejects_unknown_scorers(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--scoring", "acuracy"])
    assert exit_.value.code == 2
    assert "unknown scorer 'acuracy'" in capsys.readouterr().err


def _record(model, *, ece=None, family="network", proba_note=None):
    record = {
        "model": model,
        "family": family,
        "search": "GridSearchCV",
        "n_candidates": 1,
        "cv_mean": 0.8,
        "cv_std": 0.01,
        "test_accuracy": 0.8 if ece is None else 0.9,
        "precision_macro": 0.8,
        "recall_macro": 0.8,
        "f1_macro": 0.8,
        "fit_time_s": 1.0,
        "predict_time_per_1000_s": 0.1,
        "best_params_text": "",
    }
    if ece is None:
        record.update(roc_auc_ovr=None, log_loss=None, ece=None, calibration=None)
        record["proba_note"] = proba_note
        return record
    # all 1,000 test images at confidence 0.9 + ece, 90 % of them right
    record.update(roc_auc_ovr=0.99, log_loss=0.3, ece=ece, proba_note=None)
    record["calibration"] = {
        "n_bins": 15,
        "confidence": [0.9 + ece],
        "accuracy": [0.9],
        "count": [1000],
    }
    return record


def test_report_marks_missing_and_poorly_calibrated_probabilities():
    records = [
        _record("net", ece=0.08),
        _record("svc", family="classical", ece=0.01),
        _record("bare", proba_note="no predict_proba (SVC gives no probabilities)"),
        _record("old"),  # saved before the probability measures existed
    ]
    table = report.markdown_table(records)
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines()}
    assert "| 0.9900 | 0.300 | 0.080 |" in rows["net"]
    assert "| — | — | — |" in rows["bare"] and "| — | — | — |" in rows["old"]
    notes = report.probability_notes(records, n_test=1000)
    text = "\n".join(notes)
    # below the noise of 1,000 images and 3 points: not flagged
    assert "svc:" not in text
    assert "bare: no ROC AUC, log-loss or ECE: no predict_proba (SVC" in text
    assert "old: no ROC AUC, log-loss or ECE: not measured" in text
    (net,) = [note for note in notes if note.startswith("net:")]
    assert "overconfident by 0.080" in net and "FrozenEstimator(fitted)" in net
    # on 100 test images an ECE of 0.08 is within the noise
    notes = report.probability_notes(records, n_test=100)
    assert not any(note.startswith("net:") for note in notes)
    tolerance = report.calibration_tolerance(100, 15)
    assert tolerance == pytest.approx(0.4 * np.sqrt(15 / 100))


def test_compare_rejects_unknown_models(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--models", "svd,nope"])
    assert exit_.value.code == 2
    assert "unknown model(s) ['nope']" in capsys.readouterr().err


def test_label_scorers():
    for scoring in ("accuracy", "balanced_accuracy", "f1_macro", "recall_weighted"):
        assert tuning.scores_labels(scoring), scoring
    probabilities = ("neg_log_loss", "roc_auc_ovr", "average_precision")
    for scoring in probabilities + ("top_k_accuracy",):
        assert not tuning.scores_labels(scoring), scoring


def test_calibrated_svc_is_tuned_bare_with_the_same_scores():
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from fmnist_estimators.classical import FastPredictSVC
    from fmnist_estimators.datasets import load_fashion_mnist_sample

    model = roster.MODELS["svc"]
    X, y = load_fashion_mnist_sample(return_X_y=True)
    X, X_test, y, y_test = train_test_split(
        X, y, train_size=300, test_size=100, stratify=y, random_state=0
    )
    args = cli.parse_args(["--search", "grid", "--n-jobs", "1"])
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    bare = tuning.make_search(model, "grid", cv, args, len(y), label_only=True)
    calibrated = tuning.make_search(model, "grid", cv, args, len(y))
    assert type(bare.estimator[-1]) is FastPredictSVC and bare.refit is False
    assert "svc__C" in bare.param_grid and "svc__estimator__C" in calibrated.param_grid
    bare.fit(X, y)
    calibrated.fit(X, y)
    # The same SVCs predict the same labels: the scores are equal, not close.
    np.testing.assert_array_equal(
        bare.cv_results_["mean_test_score"], calibrated.cv_results_["mean_test_score"]
    )
    params = tuning.calibrated_params(model, bare.best_params_)
    assert params == calibrated.best_params_

    lines = []
    data = (X, y, X_test, y_test, [str(k) for k in range(10)])
    record = evaluation.run_model(model, data, cv, args, lines.append)
    assert "tuned uncalibrated" in lines[0]
    assert record["best_params"] == params
    assert record["cv_mean"] == calibrated.best_score_
    # the refit model is the calibrated one: it has predict_proba
    assert record["proba_note"] is None and record["log_loss"] > 0
    assert record["test_accuracy"] == calibrated.score(X_test, y_test)

    args = cli.parse_args(["--search", "grid", "--scoring", "neg_log_loss"])
    args.n_jobs = 1
    lines = []
    record = evaluation.run_model(model, data, cv, args, lines.append)
    assert "uncalibrated" not in lines[0]
    assert "svc__estimator__C" in record["best_params"]
