"""Compare every model family of fmnist_estimators on the same folds.

Each model is tuned on the training set by stratified cross-validation
(``GridSearchCV``, ``RandomizedSearchCV`` or ``HalvingRandomSearchCV``; the
same folds for every model), refit on the whole training set, and evaluated
once on the test set. Results go to ``--output-dir``: ``results.md``,
``results.csv``, ``results.json``, one ``models/<name>.json`` per model,
written as soon as the model finishes (``--resume`` skips those), and plots.

Models (``--models``; see ``compare_models.py`` for their search spaces)::

    svd          SVDSubspaceClassifier, n_components tuned
    classical    classical.make_patch_pca_svc_pipeline (the best classical model)
    logreg       LogisticRegression on pixels scaled to 0-1
    svc          classical.make_pca_svc_pipeline: PCA + RBF SVC
    mlp          scikit-learn MLPClassifier (128)
    dense        DenseNetClassifier with its defaults
    dense_tuned  DenseNetClassifier of 256 units, dropout and learning rate
                 tuned by HyperbandSearchCV (warm-started successive halving
                 on epochs: 3 candidates for 4 epochs, the best to 12)
    conv         ConvNetClassifier, the "fast" preset (3 of its 8 epochs below
                 20,000 training images, to keep the sample run short)

The searches rank candidates by ``--scoring`` (any scikit-learn scorer name;
accuracy by default). On the test set every model is judged by accuracy,
macro precision, recall and F1 and, from its ``predict_proba``, by macro
one-vs-rest ROC AUC, log-loss and the expected calibration error (ECE) of its
top label, drawn as a reliability diagram.

A calibrated SVC (the ``predict_proba`` of ``classical`` and ``svc``) is
tuned without its calibration when the scorer judges labels only, as
accuracy does: its predictions are those of the bare SVC, whose fit costs
half as much or less, and the best candidate is refit calibrated.

Fit time is the refit of the best candidate on the whole training set;
predict time is measured after a warm-up call on training images (a network
traces its graph on the first call). Every process computes with one BLAS and
TensorFlow thread by default (``--n-threads``): timings compare like with
like, and multithreaded BLAS cannot thrash on a busy machine. The machine's
cores are used by ``--n-jobs`` worker processes instead (default: one per
core): the models run side by side, one per worker, the longest first, and a
run of a single model spreads the fits of its search over the workers.

Usage::

    python benchmarks/compare.py                      # embedded sample, offline
    python benchmarks/compare.py --data full --n-jobs 2
    python benchmarks/compare.py --models svd,dense --search random --resume
    python benchmarks/compare.py --scoring neg_log_loss   # tune the probabilities
    python benchmarks/compare.py --n-train 300 --n-test 100 --fast   # smoke test
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np

# Run from anywhere: the helper modules sit beside this script.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_models import MODELS, SEARCHES, shrink  # noqa: E402
from compare_report import (  # noqa: E402
    format_candidate,
    json_ready,
    write_model_plots,
    write_plots,
    write_tables,
)

DATA = {
    "sample": "the embedded Fashion-MNIST sample",
    "full": "Fashion-MNIST",
    "mnist": "MNIST",
}
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
# Equal-width confidence bins of the ECE and the reliability diagram.
N_CALIBRATION_BINS = 15


def parse_models(text):
    names = list(MODELS) if text == "all" else [n for n in text.split(",") if n]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {unknown}; choose from {', '.join(MODELS)} or 'all'"
        )
    return names


def parse_scoring(text):
    from sklearn.metrics import get_scorer_names

    if text not in get_scorer_names():
        raise argparse.ArgumentTypeError(
            f"unknown scorer {text!r}; choose a name of "
            "sklearn.metrics.get_scorer_names(), such as accuracy, "
            "neg_log_loss or roc_auc_ovr"
        )
    return text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="models: " + ", ".join(MODELS),
    )
    parser.add_argument(
        "--data",
        choices=DATA,
        default="sample",
        help="the embedded sample (offline, default), full Fashion-MNIST, or MNIST",
    )
    parser.add_argument(
        "--models",
        type=parse_models,
        default=list(MODELS),
        metavar="NAME[,NAME...]",
        help="comma-separated models, or 'all' (default)",
    )
    parser.add_argument("--cv", type=int, default=3, help="folds (default 3)")
    parser.add_argument(
        "--search",
        choices=("auto",) + SEARCHES,
        default="auto",
        help="tuning strategy for every tuned model; 'auto' "
        "(default) uses each model's own",
    )
    parser.add_argument(
        "--scoring",
        type=parse_scoring,
        default="accuracy",
        metavar="SCORER",
        help="scikit-learn scorer that ranks the candidates of every search "
        "(default accuracy; e.g. neg_log_loss, roc_auc_ovr, f1_macro)",
    )
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="worker processes (default: one per CPU core); models run side by "
        "side, one per worker, and a single model's search fits in parallel",
    )
    parser.add_argument(
        "--n-threads",
        type=int,
        default=1,
        help="BLAS and TensorFlow threads of each process (default 1: comparable "
        "timings, and no thrashing on a shared machine; --n-jobs uses more "
        "cores; 0 leaves the libraries' own choice)",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        help="seed of the folds, the searches and every model",
    )
    parser.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="stratified subset of the training images",
    )
    parser.add_argument(
        "--n-test", type=int, default=None, help="stratified subset of the test images"
    )
    parser.add_argument(
        "--epochs-scale",
        type=float,
        default=1.0,
        help="multiply the epochs of every network",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="one epoch per network and at most two values per parameter: a smoke test",
    )
    parser.add_argument("--output-dir", type=Path, default=Path("compare_results"))
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip models already saved in OUTPUT_DIR/models/ "
        "by a run with the same settings",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


# -- data ---------------------------------------------------------------------------


def _subset(X, y, n, random_state):
    if n is None or n >= len(y):
        return X, y
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(
        X, y, train_size=n, stratify=y, random_state=random_state
    )
    return X, y


def load_data(args):
    from fmnist_estimators import datasets

    if args.data == "sample":
        load = datasets.load_fashion_mnist_sample
    elif args.data == "full":
        load = datasets.fetch_fashion_mnist
    else:
        load = datasets.fetch_mnist
    train = load(subset="train")
    X_test, y_test = load(subset="test", return_X_y=True)
    X, y = _subset(train.data, train.target, args.n_train, args.random_state)
    X_test, y_test = _subset(X_test, y_test, args.n_test, args.random_state)
    return X, y, X_test, y_test, train.target_names.tolist()


# -- one model ------------------------------------------------------------------------


def make_search(model, strategy, cv, args, n_train, *, label_only=False):
    """The search that tunes ``model``.

    ``label_only``: the search of a calibrated SVC, bare and without refit.
    """
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    from fmnist_estimators.search import HyperbandSearchCV

    estimator = model.build(args.random_state, n_train)
    grid, distributions = model.grid, model.distributions
    if label_only:
        estimator, grid, distributions = uncalibrated(model, estimator)
    # A failing candidate scores NaN (shown in the log) instead of ending the run.
    common = dict(
        cv=cv,
        scoring=args.scoring,
        n_jobs=args.n_jobs,
        error_score=np.nan,
        refit=not label_only,
    )
    if not model.tuned or strategy == "grid":
        return GridSearchCV(estimator, grid, **common)
    if strategy == "random":
        return RandomizedSearchCV(
            estimator,
            distributions,
            n_iter=model.n_iter,
            random_state=args.random_state,
            **common,
        )
    if model.network:
        # Successive halving on epochs that continues each survivor.
        return HyperbandSearchCV(
            estimator,
            distributions,
            max_epochs=model.max_epochs,
            min_epochs=model.min_epochs,
            n_candidates=model.n_iter,
            random_state=args.random_state,
            **common,
        )
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    return HalvingRandomSearchCV(
        estimator,
        distributions,
        n_candidates=max(model.n_iter, 3),
        min_resources="exhaust",
        random_state=args.random_state,
        **common,
    )


# Scorers of predicted labels, with their variants (f1_macro, ...): under them
# a calibrated SVC is tuned without its calibration (see ``uncalibrated``).
LABEL_SCORERS = (
    "accuracy",
    "balanced_accuracy",
    "f1",
    "precision",
    "recall",
    "jaccard",
    "matthews_corrcoef",
)


def scores_labels(scoring):
    """Whether scorer ``scoring`` judges predicted labels only."""
    return any(scoring == n or scoring.startswith(n + "_") for n in LABEL_SCORERS)


def uncalibrated(model, estimator):
    """``estimator`` with the bare SVC for its calibrated one, and the search spaces.

    The calibrated SVC (``ensemble=False``) predicts with the SVC it fits on
    all the data, the class of the largest one-vs-rest decision value, as
    ``SVC(break_ties=True)`` does: the bare SVC gets the same cross-validation
    scores under a label scorer, without the calibration's three extra SVC
    fits (half of the classical pipeline's fit time, 60 % of the PCA + SVC's).
    """
    from sklearn.base import clone

    step = model.calibrated_step
    svc = clone(estimator.get_params()[step].estimator).set_params(break_ties=True)
    estimator = clone(estimator).set_params(**{step: svc})

    def rename(space):
        calibrated = f"{step}__estimator__"
        return {name.replace(calibrated, f"{step}__"): v for name, v in space.items()}

    return estimator, rename(model.grid), rename(model.distributions)


def calibrated_params(model, params):
    """``params`` of an ``uncalibrated`` search, named for the calibrated model."""
    step = f"{model.calibrated_step}__"
    return {
        step + "estimator__" + name[len(step) :] if name.startswith(step) else name: v
        for name, v in params.items()
    }


def refit_calibrated(model, params, X, y, args):
    """The calibrated model with the best ``params`` of its bare search, fitted."""
    best = model.build(args.random_state, len(y))
    best.set_params(**calibrated_params(model, params))
    start = time.perf_counter()
    best.fit(X, y)
    return best, time.perf_counter() - start


def final_step(estimator):
    from sklearn.pipeline import Pipeline

    while isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    return estimator


def probability_quality(estimator, X_test, y_test):
    """ROC AUC, log-loss and calibration of ``estimator.predict_proba`` on the test set.

    Values are None, and ``proba_note`` says why, for an estimator without
    ``predict_proba``.
    """
    from sklearn.metrics import log_loss, roc_auc_score

    from fmnist_estimators.metrics import (
        expected_calibration_error,
        top_label_calibration_curve,
    )

    quality = dict(roc_auc_ovr=None, log_loss=None, ece=None, calibration=None)
    if not hasattr(estimator, "predict_proba"):
        name = type(final_step(estimator)).__name__
        quality["proba_note"] = f"no predict_proba ({name} gives no probabilities)"
        return quality
    proba = estimator.predict_proba(X_test)
    labels = estimator.classes_
    accuracy, confidence, counts = top_label_calibration_curve(
        y_test, proba, n_bins=N_CALIBRATION_BINS, labels=labels
    )
    quality.update(
        roc_auc_ovr=roc_auc_score(
            y_test, proba, multi_class="ovr", average="macro", labels=labels
        ),
        log_loss=log_loss(y_test, proba, labels=labels),
        ece=expected_calibration_error(
            y_test, proba, n_bins=N_CALIBRATION_BINS, labels=labels
        ),
        calibration={
            "n_bins": N_CALIBRATION_BINS,
            "confidence": confidence,
            "accuracy": accuracy,
            "count": counts,
        },
        proba_note=None,
    )
    return quality


def run_model(model, data, cv, args, log):
    """Tune, refit and test one model; the JSON-ready record of its results."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    from fmnist_estimators.search import format_params, results_table

    X, y, X_test, y_test, class_names = data
    strategy = model.search if args.search == "auto" else args.search
    # The predictions of a calibrated SVC are those of the bare SVC: tune that.
    label_only = model.calibrated_step is not None and scores_labels(args.scoring)
    search = make_search(model, strategy, cv, args, len(y), label_only=label_only)
    kind = type(search).__name__
    log(f"  {kind}, {model.label}" + (", tuned uncalibrated" if label_only else ""))
    start = time.perf_counter()
    search.fit(X, y)
    if label_only:
        best, fit_time = refit_calibrated(model, search.best_params_, X, y, args)
        best_params = calibrated_params(model, search.best_params_)
    else:
        best, fit_time = search.best_estimator_, search.refit_time_
        best_params = dict(search.best_params_)
    search_time = time.perf_counter() - start
    candidates = results_table(search, as_frame=False)
    for row in sorted(candidates, key=lambda r: (r.get("iter") or 0, r["rank"])):
        log("    " + format_candidate(row))

    # Warm up on training images (a network traces its predict graph on the
    # first call): the timing below is the steady throughput.
    best.predict(X[:10])
    # The test set, once.
    start = time.perf_counter()
    y_pred = best.predict(X_test)
    predict_time = time.perf_counter() - start
    labels = np.unique(np.concatenate([y, y_test]))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_test, y_pred, labels=labels, average="macro", zero_division=0
    )
    matrix = confusion_matrix(y_test, y_pred, labels=labels)
    per_class = matrix.diagonal() / np.maximum(matrix.sum(axis=1), 1)
    history = getattr(final_step(best), "history_", None)
    i = search.best_index_
    record = {
        "model": model.name,
        "label": model.label,
        "family": model.family,
        "search": kind,
        "scoring": args.scoring,
        "n_candidates": len(search.cv_results_["params"]),
        "resource": getattr(search, "resource", getattr(search, "resource_", None)),
        "cv_mean": search.cv_results_["mean_test_score"][i],
        "cv_std": search.cv_results_["std_test_score"][i],
        "test_accuracy": accuracy_score(y_test, y_pred),
        "precision_macro": precision,
        "recall_macro": recall,
        "f1_macro": f1,
        **probability_quality(best, X_test, y_test),
        "fit_time_s": fit_time,
        "predict_time_per_1000_s": predict_time / len(y_test) * 1000,
        "search_time_s": search_time,
        "best_params": best_params,
        "best_params_text": format_params(best_params),
        "confusion_matrix": matrix,
        "per_class_accuracy": per_class,
        "history": history,
        "candidates": candidates,
    }
    if record["ece"] is None:
        proba_text = record["proba_note"]
    else:
        proba_text = (
            f"AUC {record['roc_auc_ovr']:.4f}, log-loss {record['log_loss']:.3f}, "
            f"ECE {record['ece']:.3f}"
        )
    log(
        f"  best {record['best_params_text'] or '(defaults)'}: "
        f"CV {args.scoring} {record['cv_mean']:.4f} ± {record['cv_std']:.4f} | "
        f"test {record['test_accuracy']:.4f} | {proba_text} | "
        f"fit {record['fit_time_s']:.2f} s | "
        f"predict {record['predict_time_per_1000_s']:.3f} s/1000 | "
        f"{search_time:.0f} s in all"
    )
    return json_ready(record)


# -- main ---------------------------------------------------------------------------


def environment():
    import scipy
    import sklearn

    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }
    if "tensorflow" in sys.modules:
        env["tensorflow"] = sys.modules["tensorflow"].__version__
    return env


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


# Models from the longest to the shortest on the embedded sample and on the
# full data: started in this order, two workers finish at about the same time.
# The two networks come first so that each worker's first task imports
# TensorFlow: loky measures a worker's memory after its first task and
# replaces a worker that grows 300 MB past it, as importing TensorFlow later
# would, and the replacement imports everything again (4-5 s).
LONGEST_FIRST = (
    "conv",
    "dense_tuned",
    "classical",
    "svc",
    "mlp",
    "dense",
    "logreg",
    "svd",
)


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


def main(argv=None):
    args = parse_args(argv)
    if args.fast:
        args.epochs_scale = min(args.epochs_scale, 0.0)
    if args.n_jobs is None or args.n_jobs < 1:
        args.n_jobs = n_cores()

    def log(message):
        if not args.quiet:
            print(message, flush=True)

    set_up_process(args.n_threads)
    from sklearn.model_selection import StratifiedKFold

    start = time.perf_counter()
    data = load_data(args)
    _, y, X_test, _, class_names = data
    config = {
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
    log(
        f"compare: {DATA[args.data]}, {len(y)} training / {len(X_test)} test "
        f"images, {args.cv}-fold stratified CV, search={args.search}, "
        f"scoring={args.scoring}, "
        f"models: {', '.join(args.models)}"
    )
    # One splitter with a fixed seed: every search sees the same folds.
    cv = StratifiedKFold(args.cv, shuffle=True, random_state=args.random_state)
    models_dir = args.output_dir / "models"
    models_dir.mkdir(parents=True, exist_ok=True)

    records, todo = {}, []
    for name in args.models:
        path = models_dir / f"{name}.json"
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
    n_parallel = min(args.n_jobs, len(todo))
    log(
        f"{len(todo)} model(s) to run on {args.n_jobs} worker process(es) of "
        f"{args.n_threads or 'default'} thread(s)"
        + (f", {n_parallel} side by side" if n_parallel > 1 else "")
    )
    drawn = {}
    for k, (name, record, lines) in enumerate(run_models(todo, data, cv, args), 1):
        log(f"[{k}/{len(todo)}] {name}")
        for line in lines:
            log(line)
        path = models_dir / f"{name}.json"
        path.write_text(json.dumps({"config": config, "record": record}, indent=1))
        records[name] = record
        # This process waits for the workers: draw the model's plots meanwhile.
        drawn[name] = write_model_plots(record, args.output_dir, class_names)
    records = [records[name] for name in args.models]

    plots, notes = write_plots(records, args.output_dir, class_names, drawn)
    for note in notes:
        log(f"note: {note}")
    write_tables(records, args.output_dir, config, environment(), notes)
    elapsed = time.perf_counter() - start
    log("")
    log((args.output_dir / "results.md").read_text())
    log(
        f"wrote {args.output_dir}/results.md, results.csv, results.json, "
        f"{len(plots)} plots and models/*.json in {elapsed:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
