"""The models of a comparison on joblib workers, with progress, saved for ``--resume``.

Each model's record is saved to ``OUTPUT_DIR/models/<name>.json`` as soon as
the model is done; ``--resume`` reuses a saved record whose settings
(:data:`RESUME_KEYS`) are those of the current run. The workers are this
machine's processes, or with ``--scheduler`` those of a Dask cluster
(:func:`workers`).
"""

import argparse
import contextlib
import io
import json
import os
import signal
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

from .data import DATA
from .evaluation import run_model
from .plots import write_model_plots
from .progress import Progress
from .roster import LONGEST_FIRST, MODELS, expected_cost, shrink, with_options

# Configuration a resumed model must share with the current run.
RESUME_KEYS = (
    "data",
    "n_train",
    "n_test",
    "cv",
    "random_state",
    "search",
    "epochs_scale",
    "fast",
    "scoring",
    "cv_untuned",
)
# The value of a resume key in a model saved before the key existed: the
# runs before --cv-untuned cross-validated every model but best_cnn and
# pretrained.
RESUME_DEFAULTS = {"scoring": "accuracy", "cv_untuned": True}
# Seconds a cluster without workers gets for its first one to connect.
WORKERS_TIMEOUT = 60


class SchedulerError(RuntimeError):
    """The Dask cluster of ``--scheduler`` cannot be reached, or has no worker."""


def n_cores():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def set_up_process(n_threads):
    """Threads and warning filters of the main process and of every worker."""
    if n_threads:
        # Read by fmnist_estimators when TensorFlow starts (first network fit),
        # and inherited by the worker processes started after this.
        os.environ["FMNIST_ESTIMATORS_TF_THREADS"] = str(n_threads)
        from threadpoolctl import threadpool_limits

        threadpool_limits(n_threads)

    from sklearn.exceptions import ConvergenceWarning, FitFailedWarning

    # Keep the log readable: the baselines' iteration caps are deliberate, and
    # a failed candidate shows as "nan" in its progress line.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    warnings.filterwarnings("ignore", category=FitFailedWarning)
    warnings.filterwarnings("ignore", message="One or more of the .* are non-finite")
    warnings.filterwarnings("ignore", message="Got `batch_size` less than 1")
    # loky replaces a worker whose memory grew 300 MB past its first task, as
    # importing TensorFlow does after a classical model: a restart, not a leak.
    warnings.filterwarnings("ignore", message="A worker stopped while some jobs")
    # Ctrl-C cancels the models still running; the line printed says which
    # models are saved.
    warnings.filterwarnings("ignore", message=".* tasks which were still being")


def workers_ignore_ctrl_c():
    """joblib's configuration under which worker processes ignore Ctrl-C.

    A terminal sends Ctrl-C (SIGINT) to the workers too, and a worker stopped
    between two tasks prints a traceback of its own. The main process stops
    them instead: joblib ends the workers of an interrupted ``Parallel``.
    """
    from joblib import parallel_config

    ignore = (signal.SIGINT, signal.SIG_IGN)
    return parallel_config(backend="loky", initializer=signal.signal, initargs=ignore)


def run_config(args, data):
    """The settings of this run, saved with every model and in results.json."""
    _, y, X_test, _, class_names = data
    return {
        "data": args.data,
        "data_description": DATA[args.data],
        "n_train": len(y),
        "n_test": len(X_test),
        "cv": args.cv,
        "random_state": args.random_state,
        "search": args.search,
        "epochs_scale": args.epochs_scale,
        "fast": args.fast,
        "scoring": args.scoring,
        "cv_untuned": args.cv_untuned,
        "n_jobs": args.n_jobs,
        "n_threads": args.n_threads,
        "scheduler": args.scheduler,
        "class_names": class_names,
    }


def model_path(output_dir, name):
    """Where model ``name``'s record is saved."""
    return output_dir / "models" / f"{name}.json"


def resume(args, config, records, log):
    """The models of ``args.models`` to run; ``records`` gets the resumed ones."""
    todo = []
    for name in args.models:
        path = model_path(args.output_dir, name)
        if args.resume and path.exists():
            saved = json.loads(path.read_text())
            same = all(
                saved["config"].get(key, RESUME_DEFAULTS.get(key)) == config[key]
                for key in RESUME_KEYS
            )
            if same:
                log(f"{name}: resumed from {path}")
                records[name] = saved["record"]
                continue
            log(f"{name}: saved with other settings, rerun")
        todo.append(name)
    return todo


def missing_weights_line(name, error):
    """The one line that says a model is skipped for want of its weights."""
    text = " ".join(str(error).split())
    # PretrainedNetClassifier's message says "Download <URL> ... put the
    # file, named <name>, in <folder> (...), or pass weights=<path> ...":
    # keep the remedy, and name compare.py's option for the estimator's.
    start = text.find("Download ")
    if start >= 0:
        remedy = text[start:].split(" or pass weights=")[0].rstrip(", ")
        text = f"its ImageNet weights are not in Keras's cache. {remedy}"
    return (
        f"{name}: skipped, {text}; or give compare.py the file as "
        "--pretrained-weights PATH"
    )


def run_one(name, data, cv, args, n_jobs):
    """Tune, refit and test model ``name`` in this process (a worker, perhaps).

    Returns its name, its record, its progress lines, which the main process
    prints when the model is done, so that the lines of models run side by
    side do not interleave, and its seconds. A model whose weights file is
    missing has no record and one line.
    """
    set_up_process(args.n_threads)
    lines = []
    args = argparse.Namespace(**{**vars(args), "n_jobs": n_jobs})
    model = shrink(MODELS[name], epochs_scale=args.epochs_scale, fast=args.fast)
    model = with_options(model, args)
    start = time.perf_counter()
    try:
        # A download prints its progress (Keras's "Downloading data from"):
        # the line of a missing file is ours alone.
        quiet = contextlib.redirect_stdout(io.StringIO())
        with quiet if model.needs_weights else contextlib.nullcontext():
            record = run_model(model, data, cv, args, lines.append)
    except OSError as error:
        if not model.needs_weights:
            raise
        return name, None, [missing_weights_line(name, error)], 0.0
    seconds = time.perf_counter() - start
    lines.append(f"  done in {seconds:.0f} s")
    return name, record, lines, seconds


def run_order(names):
    """``names`` in the order the workers take them: the longest first."""
    return sorted(
        names,
        key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else -1,
    )


def side_by_side(args, names):
    """Models run side by side, and the worker processes of each model's search."""
    n_parallel = min(args.n_jobs, len(names))
    return n_parallel, max(1, args.n_jobs // max(n_parallel, 1))


def run_models(names, data, cv, args):
    """Yield ``(name, record, lines, seconds)`` as each model is done, using the cores.

    With at least as many models as ``args.n_jobs``, the models run side by
    side in worker processes of ``args.n_threads`` threads each, longest
    first; a single model runs in this process and its search uses the
    workers. On a Dask cluster the searches inside the models send their
    fits to the cluster too (joblib's dask backend nests, and a model waiting
    for its fits leaves its worker's thread to them).
    """
    n_parallel, per_model = side_by_side(args, names)
    if n_parallel <= 1:
        for name in names:
            yield run_one(name, data, cv, args, per_model)
        return
    from joblib import Parallel, delayed

    yield from Parallel(n_jobs=n_parallel, return_as="generator_unordered")(
        delayed(run_one)(name, data, cv, args, per_model) for name in run_order(names)
    )
    if args.scheduler:
        return
    # Let the workers exit (unloading TensorFlow takes a second or two) while
    # this process writes the report, instead of waiting for them at exit.
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=False)


def progress(args, names, n_train):
    """The :class:`Progress` of the models ``names`` on ``n_train`` images."""
    n_parallel, per_model = side_by_side(args, names)
    order = names if n_parallel <= 1 else run_order(names)
    expected = {
        name: expected_cost(MODELS[name], n_train) / per_model for name in order
    }
    return Progress(
        expected,
        max(1, n_parallel),
        interval=args.progress_interval,
        enabled=not args.quiet,
    )


def run_all(args, data, config, records, log):
    """Run the models of ``args.models`` that are not saved yet.

    ``records`` maps the name of every model saved so far, resumed or run, to
    its record, as soon as it is saved. Returns the files of the plots drawn
    for each model run.
    """
    from sklearn.model_selection import StratifiedKFold

    # One splitter with a fixed seed: every search sees the same folds.
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state)
    (args.output_dir / "models").mkdir(parents=True, exist_ok=True)
    todo = resume(args, config, records, log)
    n_parallel = min(args.n_jobs, len(todo))
    where = f"the Dask cluster at {args.scheduler}: " if args.scheduler else ""
    log(
        f"{len(todo)} model(s) to run on {where}{args.n_jobs} worker process(es) "
        f"of {args.n_threads or 'default'} thread(s)"
        + (f", {n_parallel} side by side" if n_parallel > 1 else "")
    )
    drawn = {}
    with progress(args, todo, config["n_train"]) as shown:
        done = enumerate(run_models(todo, data, cv, args), 1)
        for k, (name, record, lines, seconds) in done:
            if record is None:  # skipped, and the line says why
                shown.write(log, [f"[{k}/{len(todo)}] {lines[0]}"])
                shown.done(name, seconds, skipped=True)
                continue
            shown.write(log, [f"[{k}/{len(todo)}] {name}"] + lines)
            shown.done(name, seconds)
            saved = {"config": config, "record": record}
            model_path(args.output_dir, name).write_text(json.dumps(saved, indent=1))
            records[name] = record
            # This process waits for the workers: draw the model's plots meanwhile.
            drawn[name] = write_model_plots(
                record, args.output_dir, config["class_names"]
            )
    return drawn


def ship_code(client):
    """Upload this package to the cluster's workers, which import it by name.

    The models' functions travel to the workers as references to this
    package's modules (``comparison.run.run_one``, or
    ``benchmarks.comparison.run.run_one`` when imported from the repository
    root, as the tests do): the workers need no copy of the repository.
    """
    package = Path(__file__).resolve().parent
    benchmarks = package.parent
    prefix = "benchmarks/" if __name__.startswith("benchmarks.") else ""
    files = {f"{prefix}_common.py": benchmarks / "_common.py"}
    if prefix:
        files["benchmarks/__init__.py"] = benchmarks / "__init__.py"
    files |= {f"{prefix}comparison/{p.name}": p for p in package.glob("*.py")}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fmnist_estimators_comparison.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for name, source in files.items():
                archive.write(source, name)
        client.upload_file(str(path))


@contextlib.contextmanager
def workers(args):
    """The workers of the run, for the ``with`` block; sets ``args.n_jobs``.

    Without ``args.scheduler``: this machine's worker processes (one per core
    by default), which ignore Ctrl-C. With it: the Dask cluster's worker
    threads (all of them by default), through joblib's dask backend.
    Raises :class:`SchedulerError` when the cluster cannot be used.
    """
    if not args.scheduler:
        if args.n_jobs is None or args.n_jobs < 1:
            args.n_jobs = n_cores()
        with workers_ignore_ctrl_c():
            yield
        return
    from fmnist_estimators.search import dask_backend

    with contextlib.ExitStack() as stack:
        try:
            client = stack.enter_context(dask_backend(args.scheduler))
            if not client.nthreads():
                # A cluster just started: its workers connect within seconds.
                client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except (OSError, ValueError) as error:
            raise SchedulerError(f"cannot use the Dask cluster: {error}") from None
        ship_code(client)
        if args.n_jobs is None or args.n_jobs < 1:
            args.n_jobs = sum(client.nthreads().values())
        yield
