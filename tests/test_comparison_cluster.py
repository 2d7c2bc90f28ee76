"""compare.py --scheduler: the comparison on a Dask cluster started from the shell."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.comparison import cli

pytest.importorskip("distributed")
# The `dask` command of the environment that runs the tests.
DASK = Path(sys.executable).with_name("dask")
# Two quick models on a few images, in this process (its threads are left
# alone: the tests limit BLAS with the one_blas_thread fixture).
SMALL = ["--models", "logreg,svd", "--n-train", "300", "--n-test", "100"]
SMALL += ["--cv", "2", "--fast", "--n-threads", "0"]


def _address(scheduler_file, deadline):
    """The scheduler's address, once it has written its file."""
    while time.monotonic() < deadline:
        try:
            return json.loads(scheduler_file.read_text())["address"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.1)
    raise TimeoutError("the Dask scheduler did not start within 30 s")


@pytest.fixture
def cluster(tmp_path):
    """A scheduler and two one-thread workers on 127.0.0.1, started as in the README."""
    from dask.distributed import Client

    if not DASK.exists():
        pytest.skip(f"no dask command at {DASK}")
    scheduler_file = tmp_path / "scheduler.json"
    # Random free ports; no dashboard; the processes end with the test, and
    # on their own should it die first.
    scheduler = [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0"]
    scheduler += ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    scheduler += ["--scheduler-file", scheduler_file, "--idle-timeout", "120"]
    worker = [DASK, "worker", "--scheduler-file", scheduler_file, "--host"]
    worker += ["127.0.0.1", "--nthreads", "1", "--no-dashboard"]
    worker += ["--death-timeout", "30"]
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    processes = [subprocess.Popen(scheduler, **quiet)]
    try:
        address = _address(scheduler_file, time.monotonic() + 30)
        processes += [subprocess.Popen(worker, **quiet) for _ in range(2)]
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=30)
        yield address
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _models(out_dir):
    summary = json.loads((out_dir / "results.json").read_text())
    return {record["model"]: record for record in summary["models"]}


@pytest.mark.slow
def test_a_cluster_gives_the_local_cv_scores(
    cluster, tmp_path, capsys, one_blas_thread
):
    from dask.distributed import Client

    local, remote = tmp_path / "local", tmp_path / "cluster"
    assert cli.main(SMALL + ["--n-jobs", "1", "--output-dir", str(local)]) == 0
    capsys.readouterr()
    argv = SMALL + ["--scheduler", cluster, "--output-dir", str(remote)]
    assert cli.main(argv) == 0
    log = capsys.readouterr().out
    assert f"on the Dask cluster at {cluster}: 2 worker process(es)" in log
    assert "2 side by side" in log

    ours, theirs = _models(local), _models(remote)
    assert set(ours) == set(theirs) == {"logreg", "svd"}
    for name, record in ours.items():
        for key in ("cv_mean", "cv_std", "best_params", "test_accuracy"):
            assert theirs[name][key] == record[key], (name, key)
        scores = [row["mean_test_score"] for row in record["candidates"]]
        assert [row["mean_test_score"] for row in theirs[name]["candidates"]] == scores
    assert json.loads((remote / "results.json").read_text())["config"]["scheduler"] == (
        cluster
    )

    # The models ran on the workers, which imported the comparison shipped to them.
    with Client(cluster, timeout=30) as client:
        imported = client.run(lambda: "benchmarks.comparison.run" in sys.modules)
        prefixes = client.run_on_scheduler(
            lambda dask_scheduler: sorted(dask_scheduler.task_prefixes)
        )
    assert list(imported.values()) == [True, True]
    assert any("run_one" in prefix for prefix in prefixes), prefixes


def test_an_unreachable_scheduler_is_a_usage_error(tmp_path, capsys):
    import dask

    argv = SMALL + ["--scheduler", "tcp://127.0.0.1:1", "--output-dir", str(tmp_path)]
    # Nothing listens on port 1: give up after 2 s instead of dask's 30.
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("usage: compare.py")
    assert (
        "compare.py: error: --scheduler tcp://127.0.0.1:1: cannot use the Dask "
        "cluster: "
    ) in error
