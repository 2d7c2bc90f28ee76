"""compare.py is never silent: progress lines (or a bar) while models train."""

import io
import re
import time

import pytest

from benchmarks.comparison import cli, progress, run

# Two quick models on a few images, one after the other in this process.
SMALL = ["--n-train", "100", "--n-test", "50", "--cv", "2", "--fast"]
SMALL += ["--models", "svd,logreg", "--n-jobs", "1", "--n-threads", "0"]
LINE = re.compile(
    r"progress: \d+:\d\d elapsed, about \d+:\d\d to go \(\d of 2 model\(s\) done\)"
)


def test_lines_come_while_a_slow_model_trains(
    tmp_path, monkeypatch, capsys, one_blas_thread
):
    real_run_model, during = run.run_model, []

    def slow_run_model(model, *args):
        if model.name == "logreg":
            capsys.readouterr()  # what came before this model
            time.sleep(3)
            during.append(capsys.readouterr().out)
        return real_run_model(model, *args)

    monkeypatch.setattr(run, "run_model", slow_run_model)
    argv = SMALL + ["--progress-interval", "0.5", "--output-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    (lines,) = [text.splitlines() for text in during]
    # a line every half second while logreg "trains" for 3 s
    assert len(lines) >= 4, lines
    assert all(LINE.fullmatch(line) for line in lines), lines
    assert all(line.endswith("(1 of 2 model(s) done)") for line in lines)
    elapsed = [int(line.split()[1].replace(":", "")) for line in lines]
    assert elapsed == sorted(elapsed)


def test_quiet_stays_silent(tmp_path, capsys, one_blas_thread):
    argv = SMALL + ["--progress-interval", "0.1", "--quiet"]
    assert cli.main(argv + ["--output-dir", str(tmp_path)]) == 0
    assert capsys.readouterr() == ("", "")


def test_the_estimate_follows_the_workers_and_the_finished_models():
    expected = {"a": 30.0, "b": 10.0, "c": 10.0}
    order = list(expected)
    # two workers: a on one, b then c on the other
    assert progress.schedule_end(expected, order, 2, elapsed=0) == 30
    # one worker: one after the other
    assert progress.schedule_end(expected, order, 1, elapsed=0) == 50
    # b took twice its estimate: c is expected to, and a too
    seconds = progress.refined_seconds(expected, {"b": 20.0})
    assert seconds == {"a": 60.0, "b": 20.0, "c": 20.0}
    assert progress.schedule_end(seconds, order, 2, 20, finished={"b"}) == 60
    # a model past its estimate is given a tenth of it more, never 0 s to go
    assert progress.schedule_end(expected, order, 1, 70, finished={"a", "b"}) == 71
    # ... and those after it wait for it
    assert progress.schedule_end(expected, order, 1, elapsed=70) == 73 + 10 + 10


def test_a_skipped_model_says_nothing_of_the_others_costs():
    shown = progress.Progress({"p": 20.0, "a": 10.0}, 1, interval=1, enabled=False)
    with shown:
        shown.done("p", 0.0, skipped=True)
        # a keeps its 10 s (not 0 s, as if models took no time), after p's none
        assert shown.estimate()[1] == pytest.approx(10, abs=1)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_gets_a_bar_and_a_log_plain_lines():
    for terminal in (True, False):
        log, errors = io.StringIO(), Terminal() if terminal else io.StringIO()
        shown = progress.Progress(
            {"a": 2.0, "b": 1.0}, 2, interval=0.2, stream=log, bar_stream=errors
        )
        with shown:
            time.sleep(0.5)
            shown.done("a", 0.5)
            shown.write(log.write, ["a line of the run\n"])
        if terminal:  # tqdm's form: models done, share, bar, elapsed, time to go
            text = errors.getvalue()
            assert "\r" in text and "compare 1/2 models" in text
            assert "to go" in text and "elapsed" in text and "|" in text
            assert log.getvalue() == "a line of the run\n"
        else:
            lines = log.getvalue().splitlines()
            assert "a line of the run" in lines and errors.getvalue() == ""
            lines.remove("a line of the run")
            assert len(lines) >= 3 and all(LINE.fullmatch(line) for line in lines)


def test_without_tqdm_a_terminal_gets_plain_lines(monkeypatch):
    monkeypatch.setattr(progress, "_tqdm", lambda: None)
    log = io.StringIO()
    with progress.Progress(
        {"a": 2.0, "b": 1.0}, 1, interval=5, stream=log, bar_stream=Terminal()
    ):
        pass
    (line,) = log.getvalue().splitlines()
    assert line == "progress: 0:00 elapsed, about 0:03 to go (0 of 2 model(s) done)"


def test_times_read_as_clocks():
    assert progress.format_seconds(0.4) == "0:00"
    assert progress.format_seconds(75) == "1:15"
    assert progress.format_seconds(3725) == "1:02:05"
