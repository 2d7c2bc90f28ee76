"""What every benchmark script shares: data, timing, machine facts, JSON output.

The data come from :mod:`fmnist_estimators.datasets` without downloading:
Fashion-MNIST from the data home or Debian's system copy
(``apt-get install dataset-fashion-mnist``), MNIST from the data home — set
``FMNIST_ESTIMATORS_DATA`` to the folder holding ``mnist/`` (and
``fashion-mnist/``).
"""

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

#: Where the scripts write their JSON reports.
RESULTS_DIR = Path(__file__).resolve().parent / "results"

DATASETS = ("fashion", "mnist")

#: F measured by ``accuracy.py --measure-f`` on this machine.
F_FILE = RESULTS_DIR / "accuracy_F.json"


def as_float32(X):
    """``X`` as float32, the precision the networks train in (module level:
    pipelines that use it pickle)."""
    return np.asarray(X, dtype=np.float32)


def load(dataset="fashion", *, n_train=None, n_test=None):
    """Training and test images and labels, the first ``n_train`` / ``n_test``.

    Parameters
    ----------
    dataset : {"fashion", "mnist"}
        Fashion-MNIST or MNIST.
    n_train, n_test : int, default=None
        Keep the first so many images; ``None`` keeps all, 0 none.

    Returns
    -------
    X, y, X_test, y_test : ndarray
        uint8 images of shape (n, 784) and their labels.
    """
    from fmnist_estimators.datasets import fetch_fashion_mnist, fetch_mnist

    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}.")
    fetch = fetch_fashion_mnist if dataset == "fashion" else fetch_mnist
    options = dict(download_if_missing=False, return_X_y=True)
    X, y = fetch(subset="train", **options)
    X_test, y_test = fetch(subset="test", **options)
    return X[:n_train], y[:n_train], X_test[:n_test], y_test[:n_test]


def validation_splitter():
    """One stratified split of the training set: 10,000 images (a sixth) to
    validate, the same for ``accuracy.py --validation`` and ``--dense-study``
    and ``bench_svd.py --validation``."""
    from sklearn.model_selection import StratifiedShuffleSplit

    return StratifiedShuffleSplit(n_splits=1, test_size=1 / 6, random_state=0)


def validation_split(X, y):
    """Training and validation images and labels of :func:`validation_splitter`."""
    train, val = next(validation_splitter().split(X, y))
    return X[train], y[train], X[val], y[val]


def timed(function, *args, **kwargs):
    """Wall-clock seconds of ``function(*args, **kwargs)``."""
    start = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - start


def train_by_epoch(estimator, X, y, X_test, y_test, scored="test"):
    """Train ``estimator`` one epoch per ``partial_fit`` call, scoring the test set
    (or what ``scored`` names: the printed lines say which).

    The learning-rate schedule spans the estimator's ``epochs`` calls, as in
    one ``fit``. Prints a line per epoch; returns the rows of the curve
    (``epoch``, ``epoch_s``, ``train_s`` — the sum of the calls, evaluation
    not counted —, ``test_accuracy``, ``train_loss``, ``predict_s``).
    """
    rows, train_s = [], 0.0
    classes = np.unique(y)
    for epoch in range(1, estimator.epochs + 1):
        epoch_s = timed(estimator.partial_fit, X, y, classes=classes)
        train_s += epoch_s
        start = time.perf_counter()
        accuracy = float(estimator.score(X_test, y_test))
        rows.append(
            {
                "epoch": epoch,
                "epoch_s": round(epoch_s, 2),
                "train_s": round(train_s, 2),
                "test_accuracy": round(accuracy, 4),
                "train_loss": round(estimator.history_["loss"][-1], 4),
                "predict_s": round(time.perf_counter() - start, 2),
            }
        )
        print(
            f"  epoch {epoch:3d}  {epoch_s:7.1f} s  (total {train_s:8.1f} s)  "
            f"{scored} accuracy {accuracy:.4f}",
            flush=True,
        )
    return rows


def environment(load_before=None):
    """Machine, load and library versions, for the JSON report.

    TensorFlow, Keras and scikeras are listed when a fit has imported them.
    """
    import scipy
    import sklearn

    env = {
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }
    for name in ("tensorflow", "keras", "scikeras"):
        if name in sys.modules:
            env[name] = getattr(sys.modules[name], "__version__", None)
    return env


def write_report(report, path):
    """Write ``report`` as indented JSON to ``path``; print where."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nWrote {path}")
    return path


def f_report():
    """The report of an earlier ``accuracy.py --measure-f`` on this machine
    (``F_s``, the fast preset's ``test_accuracy``, ``n``), or ``{}``."""
    return json.loads(F_FILE.read_text()) if F_FILE.exists() else {}


def f_seconds():
    """F from an earlier ``accuracy.py --measure-f`` on this machine, or ``None``."""
    return f_report().get("F_s")


def accuracy_runs(dataset):
    """``(path, report, F)`` of each full-data ``accuracy.py`` run of ``dataset``
    scored on the test set, F being that of the run's own session when it
    recorded one, else :func:`f_seconds` (``None`` when neither)."""
    f_s = f_seconds()
    for path in sorted(RESULTS_DIR.glob("accuracy_*_seed*.json")):
        report = json.loads(path.read_text())
        if (
            report["dataset"] != dataset
            or report.get("quick")
            or report.get("evaluated_on") == "validation split"
        ):
            continue
        if "train_F" in report:
            yield path, report, report["train_s"] / report["train_F"]
        else:
            yield path, report, f_s
