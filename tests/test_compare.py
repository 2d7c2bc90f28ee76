"""benchmarks/compare.py end to end on a tiny subset, and its resume."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"
FIELDS = {
    "cv_mean",
    "cv_std",
    "test_accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "fit_time_s",
    "predict_time_per_1000_s",
    "best_params",
}


def run_compare(out_dir, *extra):
    command = [
        sys.executable,
        str(SCRIPT),
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
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
def test_compare_end_to_end_and_resume(tmp_path):
    out = tmp_path / "results"
    log = run_compare(out)
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
    assert models["svd"]["best_params"]["n_components"] in (10, 20)
    assert len(models["dense"]["history"]["loss"]) == 1  # --fast: one epoch
    assert len(models["svd"]["confusion_matrix"]) == 10
    table = (out / "results.md").read_text()
    assert "| svd |" in table and "| dense |" in table and " ± " in table
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header.startswith("model,label,search,n_candidates,cv_mean,cv_std")
    pytest.importorskip("matplotlib")
    for name in (
        "confusion_svd.png",
        "confusion_dense.png",
        "per_class_accuracy.png",
        "learning_curves.png",
        "search_svd.png",
    ):
        assert (out / name).stat().st_size > 0

    # Resume: the saved models are not refit.
    saved = {p.name: p.stat().st_mtime_ns for p in (out / "models").glob("*.json")}
    assert set(saved) == {"svd.json", "dense.json"}
    log = run_compare(out, "--resume", "--quiet")
    assert log.strip() == ""
    assert {
        p.name: p.stat().st_mtime_ns for p in (out / "models").glob("*.json")
    } == saved
    log = run_compare(out, "--resume", "--models", "svd")
    assert "svd: resumed" in log
    # Other settings: the saved model is not reused.
    log = run_compare(out, "--resume", "--models", "svd", "--random-state", "1")
    assert "saved with other settings" in log


def test_compare_rejects_unknown_models():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "svd,nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown model(s) ['nope']" in result.stderr
