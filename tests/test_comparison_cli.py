"""The command line of benchmarks/compare.py: bad settings and Ctrl-C."""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.comparison import cli, data, run

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare.py"
# A comparison of two quick models on a few images, in this process.
SMALL = ["--n-train", "100", "--n-test", "50", "--cv", "2", "--fast"]
SMALL += ["--models", "svd,logreg", "--n-jobs", "1", "--n-threads", "0"]


@pytest.mark.parametrize(
    "option, value, expected",
    [
        ("--cv", "1", "expected an integer of at least 2, got '1'"),
        ("--n-train", "0", "expected an integer of at least 1, got '0'"),
        ("--n-test", "-3", "expected an integer of at least 1, got '-3'"),
        ("--n-train", "many", "expected an integer of at least 1, got 'many'"),
        ("--n-threads", "-1", "expected an integer of at least 0, got '-1'"),
        ("--random-state", "-1", "expected an integer from 0 to 4294967295"),
        ("--random-state", str(2**32), "expected an integer from 0 to 4294967295"),
        ("--epochs-scale", "-0.5", "expected a number >= 0, got '-0.5'"),
        ("--epochs-scale", "nan", "expected a number >= 0, got 'nan'"),
    ],
)
def test_bad_numbers_end_in_a_usage_message(option, value, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.parse_args([option, value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: compare.py")
    assert f"compare.py: error: argument {option}: {expected}" in error


def test_good_numbers_are_parsed():
    args = cli.parse_args(["--cv", "5", "--epochs-scale", "0", "--n-threads", "0"])
    assert (args.cv, args.epochs_scale, args.n_threads) == (5, 0.0, 0)
    assert cli.parse_args(["--random-state", str(2**32 - 1)]).random_state == 2**32 - 1


def test_fewer_training_images_than_classes_is_a_usage_error():
    # the command of the issue: a stratified subset of 5 images of 10 classes
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--n-train", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("usage: compare.py")
    assert (
        "compare.py: error: --n-train 5 is fewer images than the 10 classes: a "
        "stratified subset needs one of each; use --n-train 10 or more"
    ) in result.stderr


def _settings(**options):
    defaults = dict(data="sample", n_train=None, n_test=None, cv=3, random_state=0)
    return argparse.Namespace(**{**defaults, **options})


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(n_test=9), "--n-test 9 is fewer images than the 10 classes"),
        (dict(n_test=995), "--n-test 995 leaves 5 of the 1000 images out"),
        (dict(n_test=995), "use --n-test 1000 (all) or at most 990"),
        (dict(n_train=30, cv=4), "--cv 4 needs 4 training images of every class"),
        (dict(n_train=30, cv=4), "hold only 3 of the rarest class"),
    ],
)
def test_subsets_and_folds_that_do_not_fit_the_data(options, message):
    with pytest.raises(data.DataSizeError) as error:
        data.load_data(_settings(**options))
    assert message in str(error.value)


def test_subsets_that_fit_are_stratified():
    X, y, X_test, y_test, names = data.load_data(_settings(n_train=30, n_test=990))
    assert X.shape == (30, 784) and len(y_test) == 990 and len(names) == 10
    assert np.bincount(y).tolist() == [3] * 10
    # more images than there are: all of them
    assert len(data.load_data(_settings(n_train=10**6))[1]) == 5000


def test_ctrl_c_says_what_is_saved_and_resume_continues(tmp_path, monkeypatch, capsys):
    real_run_model, ran = run.run_model, []

    def run_model(model, *args):
        ran.append(model.name)
        if model.name == "logreg" and interrupt:
            raise KeyboardInterrupt
        return real_run_model(model, *args)

    monkeypatch.setattr(run, "run_model", run_model)
    interrupt = True
    argv = SMALL + ["--output-dir", str(tmp_path)]
    assert cli.main(argv) == cli.INTERRUPTED == 130
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error == (
        f"compare.py: interrupted; 1 of 2 model(s) saved in {tmp_path}/models/ "
        "(svd): the same command with --resume runs the 1 not saved\n"
    )
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["svd.json"]

    # --resume, as the line says: only the model not saved runs.
    ran.clear()
    interrupt = False
    assert cli.main(argv + ["--resume"]) == 0
    assert ran == ["logreg"]
    log = capsys.readouterr().out
    assert "svd: resumed" in log and "| logreg |" in log and "| svd |" in log


def test_ctrl_c_while_writing_the_report(tmp_path, monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "write_results", interrupted)
    assert cli.main(SMALL + ["--output-dir", str(tmp_path)]) == 130
    assert capsys.readouterr().err == (
        "compare.py: interrupted while writing the report; all 2 model(s) are "
        f"saved in {tmp_path}/models/: the same command with --resume writes it "
        "without refitting them\n"
    )


@pytest.mark.slow
def test_ctrl_c_on_a_running_comparison_prints_one_line(tmp_path):
    # As a terminal sends it: SIGINT to the process and its joblib workers.
    # The program starts as from a terminal, with SIGINT at its default even
    # where this process ignores it (pytest started as a background job of a
    # script, which ignores SIGINT and passes that on to every child).
    launch = (
        "import runpy, signal, sys; "
        "signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv = sys.argv[1:]; sys.path.insert(0, sys.argv[0].rpartition('/')[0]); "
        "runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    command = [sys.executable, "-c", launch, str(SCRIPT), *SMALL]
    command += ["--output-dir", str(tmp_path)]
    command[command.index("--n-jobs") + 1] = "2"
    command[command.index("--models") + 1] = "svd,logreg,dense"
    # The network's whole fit (6 s here), not --fast's one epoch: it surely
    # still runs when a classical model is saved.
    command.remove("--fast")
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    saved = [tmp_path / "models" / f"{name}.json" for name in ("svd", "logreg")]
    deadline = time.monotonic() + 120
    while not any(p.exists() for p in saved) and time.monotonic() < deadline:
        time.sleep(0.1)
    network_done = (tmp_path / "models" / "dense.json").exists()
    os.killpg(process.pid, signal.SIGINT)
    _, error = process.communicate(timeout=120)
    assert not network_done, "the network finished first: nothing to interrupt"
    # The network is still running: exit status 130 and one line on stderr,
    # no traceback from any process.
    assert process.returncode == 130, error
    (line,) = error.splitlines()
    assert line.startswith("compare.py: interrupted")
    assert "--resume" in line and f"saved in {tmp_path}/models/" in line
