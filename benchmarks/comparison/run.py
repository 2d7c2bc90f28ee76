"""The models of a comparison on joblib workers, with progress, saved for ``--resume``.

Each model's record is saved to ``OUTPUT_DIR/models/<name>.json`` as soon as
the model is done; ``--resume`` reuses a saved record whose settings
(:data:`RESUME_KEYS`) are those of the current run.
"""

import argparse
import json
import os
import signal
import time
import warnings

from .data import DATA
from .evaluation import run_model
from .plots import write_model_plots
from .roster import LONGEST_FIRST, MODELS, shrink

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
)
# The value of a resume key in a model saved before the key existed.
RESUME_DEFAULTS = {"scoring": "accuracy"}


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
        "n_jobs": args.n_jobs,
        "n_threads": args.n_threads,
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


def run_one(name, data, cv, args, n_jobs):
    """Tune, refit and test model ``name`` in this process (a worker, perhaps).

    Returns its name, its record and its progress lines, which the main
    process prints when the model is done, so that the lines of models run
    side by side do not interleave.
    """
    set_up_process(args.n_threads)
    lines = []
    args = argparse.Namespace(**{**vars(args), "n_jobs": n_jobs})
    model = shrink(MODELS[name], epochs_scale=args.epochs_scale, fast=args.fast)
    start = time.perf_counter()
    record = run_model(model, data, cv, args, lines.append)
    lines.append(f"  done in {time.perf_counter() - start:.0f} s")
    return name, record, lines


def run_models(names, data, cv, args):
    """Yield ``(name, record, lines)`` as each model is done, using the cores.

    With at least as many models as ``args.n_jobs``, the models run side by
    side in worker processes of ``args.n_threads`` threads each, longest
    first; a single model runs in this process and its search uses the
    workers.
    """
    n_parallel = min(args.n_jobs, len(names))
    per_model = max(1, args.n_jobs // max(n_parallel, 1))
    if n_parallel <= 1:
        for name in names:
            yield run_one(name, data, cv, args, per_model)
        return
    from joblib import Parallel, delayed

    order = sorted(
        names,
        key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else -1,
    )
    yield from Parallel(n_jobs=n_parallel, return_as="generator_unordered")(
        delayed(run_one)(name, data, cv, args, per_model) for name in order
    )
    # Let the workers exit (unloading TensorFlow takes a second or two) while
    # this process writes the report, instead of waiting for them at exit.
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=False)


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
    log(
        f"{len(todo)} model(s) to run on {args.n_jobs} worker process(es) of "
        f"{args.n_threads or 'default'} thread(s)"
        + (f", {n_parallel} side by side" if n_parallel > 1 else "")
    )
    drawn = {}
    with workers_ignore_ctrl_c():
        done = enumerate(run_models(todo, data, cv, args), 1)
        for k, (name, record, lines) in done:
            log(f"[{k}/{len(todo)}] {name}")
            for line in lines:
                log(line)
            saved = {"config": config, "record": record}
            model_path(args.output_dir, name).write_text(json.dumps(saved, indent=1))
            records[name] = record
            # This process waits for the workers: draw the model's plots meanwhile.
            drawn[name] = write_model_plots(
                record, args.output_dir, config["class_names"]
            )
    return drawn
