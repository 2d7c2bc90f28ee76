"""The command line of the comparison: its options, their checks, and the run.

``python benchmarks/compare.py`` calls :func:`main`. A bad option ends in
argparse's usage message, not a traceback; Ctrl-C ends in one line saying
which models are saved and how ``--resume`` continues.
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

from . import environment
from .data import DATA, DataSizeError, load_data
from .plots import write_plots
from .report import write_tables
from .roster import DEFAULT_MODELS, MODELS, SEARCHES
from .run import SchedulerError, run_all, run_config, set_up_process, workers

DESCRIPTION = "Compare every model family of fmnist_estimators on the same folds."
# The exit status of a program stopped by Ctrl-C (SIGINT), as shells set it.
INTERRUPTED = 130


def parse_models(text):
    """An argparse type: model names, where ``all`` is the default models."""
    names = []
    for name in text.split(","):
        for model in DEFAULT_MODELS if name == "all" else [name] if name else []:
            if model not in names:
                names.append(model)
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {unknown}; choose from {', '.join(MODELS)} or "
            f"'all' ({', '.join(DEFAULT_MODELS)})"
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


def integer(minimum, maximum=None):
    """An argparse type: an integer from ``minimum`` to ``maximum``."""
    expected = (
        f"of at least {minimum}" if maximum is None else f"from {minimum} to {maximum}"
    )

    def parse(text):
        try:
            value = int(text)
            fits = value >= minimum and (maximum is None or value <= maximum)
        except ValueError:
            fits = False
        if not fits:
            raise argparse.ArgumentTypeError(
                f"expected an integer {expected}, got {text!r}"
            )
        return value

    return parse


def number(*, above=None, at_least=None):
    """An argparse type: a finite number above ``above`` or at least ``at_least``."""
    bound, expected = (
        (above, f"> {above}") if above is not None else (at_least, f">= {at_least}")
    )

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        fits = value > bound if above is not None else value >= bound
        if not (math.isfinite(value) and fits):
            raise argparse.ArgumentTypeError(
                f"expected a number {expected}, got {text!r}"
            )
        return value

    return parse


positive = number(above=0)  # e.g. seconds between progress lines
scale = number(at_least=0)  # --epochs-scale


def weights_file(text):
    """An argparse type: the path of an existing file."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"expected a weights file, got {text!r}")
    return path


# The options, in the order of --help: flag and add_argument's keywords.
OPTIONS = (
    (
        "--data",
        dict(
            choices=DATA,
            default="sample",
            help="the embedded sample (offline, default), full Fashion-MNIST, or MNIST",
        ),
    ),
    (
        "--models",
        dict(
            type=parse_models,
            default=list(DEFAULT_MODELS),
            metavar="NAME[,NAME...]",
            help="comma-separated models; 'all' (the default) stands for every "
            "model but best_cnn and pretrained, which run by name: "
            "'all,best_cnn,pretrained'",
        ),
    ),
    ("--cv", dict(type=integer(2), default=3, help="folds (default 3)")),
    (
        "--cv-untuned",
        dict(
            action="store_true",
            help="cross-validate the models with nothing to tune too (for "
            "their CV scores), instead of fitting them once; best_cnn and "
            "pretrained are fitted once always",
        ),
    ),
    (
        "--search",
        dict(
            choices=("auto",) + SEARCHES,
            default="auto",
            help="tuning strategy for every tuned model; 'auto' "
            "(default) uses each model's own",
        ),
    ),
    (
        "--scoring",
        dict(
            type=parse_scoring,
            default="accuracy",
            metavar="SCORER",
            help="scikit-learn scorer that ranks the candidates of every search "
            "(default accuracy; e.g. neg_log_loss, roc_auc_ovr, f1_macro)",
        ),
    ),
    (
        "--n-jobs",
        dict(
            type=int,
            default=None,
            help="worker processes (default: one per CPU core, or every thread "
            "of the --scheduler's workers); models run side by side, one per "
            "worker, and a single model's search fits in parallel",
        ),
    ),
    (
        "--scheduler",
        dict(
            default=None,
            metavar="ADDRESS",
            help="run on the Dask cluster whose scheduler is at ADDRESS "
            "(tcp://HOST:PORT): the same folds and CV scores as a local run",
        ),
    ),
    (
        "--n-threads",
        dict(
            type=integer(0),
            default=1,
            help="BLAS and TensorFlow threads of each process (default 1: "
            "comparable timings, and no thrashing on a shared machine; --n-jobs "
            "uses more cores; 0 leaves the libraries' own choice)",
        ),
    ),
    (
        "--random-state",
        dict(
            # the seeds numpy's RandomState takes
            type=integer(0, 2**32 - 1),
            default=0,
            help="seed of the folds, the searches and every model",
        ),
    ),
    (
        "--n-train",
        dict(
            type=integer(1),
            default=None,
            help="stratified subset of the training images",
        ),
    ),
    (
        "--n-test",
        dict(
            type=integer(1), default=None, help="stratified subset of the test images"
        ),
    ),
    (
        "--epochs-scale",
        dict(type=scale, default=1.0, help="multiply the epochs of every network"),
    ),
    (
        "--fast",
        dict(
            action="store_true",
            help="one epoch per network and at most two values per parameter: a "
            "smoke test",
        ),
    ),
    ("--output-dir", dict(type=Path, default=Path("compare_results"))),
    (
        "--resume",
        dict(
            action="store_true",
            help="skip models already saved in OUTPUT_DIR/models/ "
            "by a run with the same settings",
        ),
    ),
    (
        "--pretrained-weights",
        dict(
            type=weights_file,
            default=None,
            metavar="PATH",
            help="ImageNet weights of the pretrained model's MobileNetV2 "
            "(mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5), "
            "when they are not in Keras's cache ($KERAS_HOME/models); without "
            "them the pretrained model is skipped",
        ),
    ),
    (
        "--progress-interval",
        dict(
            type=positive,
            default=20.0,
            metavar="SECONDS",
            help="seconds between progress lines (elapsed time and time to go) "
            "while models train (default 20); a terminal shows a bar instead",
        ),
    ),
    ("--quiet", dict(action="store_true", help="no progress lines")),
)


def build_parser():
    """The argument parser of ``python benchmarks/compare.py``."""
    parser = argparse.ArgumentParser(
        prog="compare.py",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"models: {', '.join(DEFAULT_MODELS)} ('all'); by name only: "
        + ", ".join(name for name in MODELS if name not in DEFAULT_MODELS),
    )
    for flag, options in OPTIONS:
        parser.add_argument(flag, **options)
    return parser


def parse_args(argv=None):
    """The options of ``argv`` (by default the command line), each checked."""
    return build_parser().parse_args(argv)


def interrupted_message(args, records):
    """The line printed on Ctrl-C: what is saved, and how to continue."""
    if args is None:
        return "compare.py: interrupted before any model ran; nothing saved"
    where = args.output_dir / "models"
    saved = [name for name in args.models if name in records]
    if len(saved) == len(args.models):
        return (
            f"compare.py: interrupted while writing the report; all "
            f"{len(saved)} model(s) are saved in {where}/: the same command "
            "with --resume writes it without refitting them"
        )
    return (
        f"compare.py: interrupted; {len(saved)} of {len(args.models)} model(s) "
        f"saved in {where}/ ({', '.join(saved) or 'none'}): the same command "
        f"with --resume runs the {len(args.models) - len(saved)} not saved"
    )


def write_results(records, args, config, drawn, log, load_before=None):
    """Plots, results.md, results.csv and results.json of every model run."""
    records = [records[name] for name in args.models if name in records]
    plots, notes = write_plots(records, args.output_dir, config["class_names"], drawn)
    for note in notes:
        log(f"note: {note}")
    write_tables(
        records,
        args.output_dir,
        config,
        environment(load_before),
        notes,
        requested=args.models,
    )
    return plots


def run_on_workers(args, data, records, log):
    """The models of ``args`` on the workers; their plots and the run's settings."""
    with workers(args):
        config = run_config(args, data)
        log(
            f"compare: {DATA[args.data]}, {config['n_train']} training / "
            f"{config['n_test']} test images, {args.cv}-fold stratified CV, "
            f"search={args.search}, scoring={args.scoring}, "
            f"models: {', '.join(args.models)}"
        )
        return run_all(args, data, config, records, log), config


def compare(parser, args, records):
    """Run the comparison of ``args``; ``records`` gets each model once saved."""
    if args.fast:
        args.epochs_scale = min(args.epochs_scale, 0.0)

    def log(message):
        if not args.quiet:
            print(message, flush=True)

    set_up_process(args.n_threads)
    start, load_before = time.perf_counter(), os.getloadavg()
    try:
        data = load_data(args)
    except DataSizeError as error:
        parser.error(str(error))
    try:
        drawn, config = run_on_workers(args, data, records, log)
    except SchedulerError as error:
        parser.error(f"--scheduler {args.scheduler}: {error}")
    plots = write_results(records, args, config, drawn, log, load_before)
    log("")
    log((args.output_dir / "results.md").read_text())
    log(
        f"wrote {args.output_dir}/results.md, results.csv, results.json, "
        f"{len(plots)} plots and models/*.json in "
        f"{time.perf_counter() - start:.0f} s"
    )
    return 0


def main(argv=None):
    """Run ``python benchmarks/compare.py`` on ``argv``; the exit status."""
    parser, args, records = build_parser(), None, {}
    try:
        args = parser.parse_args(argv)
        return compare(parser, args, records)
    except KeyboardInterrupt:
        print(interrupted_message(args, records), file=sys.stderr, flush=True)
        return INTERRUPTED
