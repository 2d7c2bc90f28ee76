"""Faults, persistence and determinism: what a long search must survive."""

import os
import time
import warnings

import joblib
import numpy as np
import pytest
from joblib.externals import loky
from joblib.externals.loky.process_executor import TerminatedWorkerError
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from fmnist_estimators import (
    ConvNetClassifier,
    DenseNetClassifier,
    SVDSubspaceClassifier,
)
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import _workers
from fmnist_estimators.search._workers import worker_pool


@pytest.fixture(scope="module")
def sample():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    return X[::10], y[::10]  # 500 images, 50 per class


def _small_estimators():
    return [
        SVDSubspaceClassifier(n_components=5),
        DenseNetClassifier((16,), epochs=1, random_state=0),
        ConvNetClassifier(filters=(4,), dense_units=(8,), epochs=1, random_state=0),
    ]


def test_diverging_candidate_scores_error_score_and_search_completes(sample):
    X, y = sample
    search = GridSearchCV(
        DenseNetClassifier((16,), optimizer="sgd", epochs=2, random_state=0),
        {"learning_rate": [0.01, 1e20]},
        cv=2,
        error_score=np.nan,
    )
    with pytest.warns(FitFailedWarning, match=r"learning_rate=1e\+20") as record:
        with warnings.catch_warnings():
            # sklearn also warns that a test score is NaN: that is the point.
            warnings.filterwarnings("ignore", "One or more of the test scores")
            search.fit(X, y)
    assert "diverged" in str(record[0].message)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
    assert search.best_params_ == {"learning_rate": 0.01}


def test_diverged_fit_raises_floating_point_error(sample):
    X, y = sample
    clf = DenseNetClassifier((16,), optimizer="sgd", learning_rate=1e20, epochs=3)
    with pytest.raises(FloatingPointError, match="diverged.*learning_rate=1e\\+20"):
        clf.fit(X, y)


def _die(X):
    os._exit(3)


def test_killed_worker_surfaces_as_clear_error(sample):
    X, y = sample
    pipe = Pipeline(
        [("fault", FunctionTransformer()), ("clf", SVDSubspaceClassifier())]
    )
    search = GridSearchCV(pipe, {"fault__func": [None, _die]}, cv=2, n_jobs=2)
    with pytest.raises(TerminatedWorkerError, match="unexpectedly terminated"):
        search.fit(X, y)


def test_models_saved_in_one_process_predict_identically_in_another(
    sample, tmp_path, run_python
):
    # One new process loads every model (each process pays TensorFlow's
    # start-up), and prints nothing: TensorFlow's C++ start-up lines ignore
    # TF_CPP_MIN_LOG_LEVEL, and unpickling a network starts TensorFlow.
    X, y = sample
    estimators = [estimator.fit(X, y) for estimator in _small_estimators()]
    paths = [tmp_path / f"model{i}.joblib" for i in range(len(estimators))]
    for estimator, path in zip(estimators, paths):
        joblib.dump(estimator, path)
    np.save(tmp_path / "X.npy", X)
    code = f"""
        import joblib, numpy as np
        X = np.load({str(tmp_path / "X.npy")!r})
        for path in {[str(path) for path in paths]!r}:
            np.save(path + ".proba.npy", joblib.load(path).predict_proba(X))
    """
    result = run_python(code)
    assert (result.stdout, result.stderr) == ("", "")
    for estimator, path in zip(estimators, paths):
        # Identical up to float32 rounding: the two processes may run the
        # matrix products (NumPy's or TensorFlow's, float32) on other numbers
        # of threads, hence other summation orders; see FLOAT32_PROBA in
        # test_dense.py.
        np.testing.assert_allclose(
            np.load(f"{path}.proba.npy"),
            estimator.predict_proba(X),
            rtol=1e-4,
            atol=1e-6,
            err_msg=type(estimator).__name__,
        )


@pytest.mark.parametrize(
    "estimator", _small_estimators(), ids=lambda e: type(e).__name__
)
def test_clone_after_fit_is_unfitted_and_refits_identically(estimator, sample):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    X, y = sample
    fitted = estimator.fit(X, y)
    copy = clone(fitted)
    with pytest.raises(NotFittedError):
        copy.predict(X)
    np.testing.assert_array_equal(
        copy.fit(X, y).predict_proba(X), fitted.predict_proba(X)
    )


def test_seeded_networks_draw_no_seed_from_pythons_global_random(sample, monkeypatch):
    # Keras seeds an unseeded layer from Python's global `random`, which other
    # threads (a dask worker's event loop) also draw from; a seeded network
    # must give every random layer its own seed instead.
    import random

    X, y = sample
    draws = []
    randint = random.randint
    monkeypatch.setattr(
        random, "randint", lambda *args: draws.append(args) or randint(*args)
    )
    random_layers = dict(dropout=0.2, epochs=1, random_state=0)
    DenseNetClassifier((8,), **random_layers).fit(X, y)
    ConvNetClassifier(
        filters=(4,),
        dense_units=(8,),
        conv_dropout=0.2,
        augmentation="shift_flip",
        **random_layers,
    ).fit(X, y)
    assert draws == []
    DenseNetClassifier((8,), dropout=0.2, epochs=1).fit(X, y)
    assert draws, "an unseeded network should leave the seeds to Keras"


_FIT_IN_SUBPROCESS = """
import hashlib, numpy as np
from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample
X, y = load_fashion_mnist_sample(return_X_y=True)
clf = DenseNetClassifier((32,), dropout=0.2, epochs=2, random_state=7)
proba = clf.fit(X[::5], y[::5]).predict_proba(X[:200])
print(hashlib.sha256(proba.tobytes()).hexdigest())
"""


def test_same_random_state_gives_identical_predictions_across_processes(run_python):
    def run():
        return run_python(_FIT_IN_SUBPROCESS).stdout.strip().splitlines()[-1]

    assert run() == run()


@pytest.mark.slow
def test_repeated_fits_do_not_grow_memory_without_bound(sample):
    # TensorFlow still keeps 1-3 MB of state per new model (5 MB in plain
    # Keras; benchmarks/bench_dense.py reports the figures); this guards
    # against anything worse, such as keeping every model alive.
    X, y = sample

    def rss_mb():
        with open("/proc/self/status") as status:
            line = next(line for line in status if line.startswith("VmRSS"))
        return int(line.split()[1]) / 1024

    DenseNetClassifier((16,), epochs=1).fit(X, y)
    before = rss_mb()
    for seed in range(15):
        DenseNetClassifier((16,), epochs=1, random_state=seed).fit(X, y)
    growth_per_fit = (rss_mb() - before) / 15
    assert growth_per_fit < 12, f"RSS grew {growth_per_fit:.1f} MB per fit"


@pytest.mark.parametrize(
    "make",
    [
        lambda: DenseNetClassifier((8,), dropout=0.2, epochs=1, random_state=0),
        lambda: DenseNetClassifier((8,), optimizer="sgd", epochs=1, random_state=0),
        lambda: ConvNetClassifier(
            filters=(4,), dense_units=(8,), batch_norm=True, epochs=1, random_state=0
        ),
    ],
    ids=["dense", "dense_sgd", "conv"],
)
def test_fits_and_predictions_leave_nothing_in_tensorflows_global_state(make, sample):
    # Variables that Keras creates while tracing a training step leave `cond`
    # functions in TensorFlow's context for good, so the networks create theirs
    # (optimizer slots, metrics) before the first step; Keras's all-reduce of
    # the gradients registers a custom gradient per trace, which our optimizers skip.
    import gc

    from tensorflow.python.eager import context
    from tensorflow.python.framework import ops

    def state():
        functions = set(context.context().list_function_names())
        return functions | set(ops._gradient_registry._registry)

    X, y = sample
    make().fit(X, y).predict_proba(X)
    gc.collect()
    before = state()
    # Anything a fit leaves behind shows after one more; two, to be sure.
    for _ in range(2):
        make().fit(X, y).predict_proba(X)
    gc.collect()
    assert state() - before == set()


def test_warnings_from_repeated_fits_stay_quiet(sample):
    # TensorFlow's retracing warning would otherwise fire on every search fit.
    X, y = sample
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for seed in range(3):
            DenseNetClassifier((8,), epochs=1, random_state=seed).fit(X, y)


# Memory a worker holds on purpose, as resident models and TensorFlow's
# buffers are (tests below).
_ballast = []


def _hold(n_bytes):
    """In a worker: allocate ``n_bytes`` and keep them (None frees them)."""
    _ballast.clear()
    if n_bytes is not None:
        _ballast.append(np.ones(n_bytes, dtype=np.uint8))
        # loky checks a worker's memory at most once a second.
        time.sleep(1.2)
    return os.getpid()


def _fit_first(X, y):
    """A worker's first task as a search on a few images gives it."""
    DenseNetClassifier((8,), epochs=1, random_state=0).fit(X, y)
    return os.getpid()


def _pids_while_growing(first_task, *args):
    """PIDs of a fresh loky worker (as joblib's) across 400 MB of growth."""
    executor = loky.ProcessPoolExecutor(1)
    try:
        return [
            executor.submit(first_task, *args).result(),
            executor.submit(_hold, 400 * 2**20).result(),
            executor.submit(os.getpid).result(),
        ]
    finally:
        executor.shutdown(wait=True)


def test_joblib_workers_that_fitted_a_network_outgrow_their_first_task(sample):
    # With psutil, loky ends a worker that holds 300 MB more than after its
    # first task, as if it leaked. TensorFlow's buffers grow that much on a
    # network's first fit on the full data, so GridSearchCV's workers (joblib's
    # executor, which the package does not create) were replaced, with a
    # warning, when a search on the full data followed one on a few images.
    pytest.importorskip("psutil")
    with warnings.catch_warnings(record=True):  # the control's own warning
        warnings.simplefilter("always")
        control = _pids_while_growing(os.getpid)
    if control[0] == control[-1]:
        pytest.skip("this joblib's loky does not end workers that grow")
    X, y = sample
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # from every thread: loky's manager too
        pids = _pids_while_growing(_fit_first, X[:40], y[:40])
    assert pids[0] == pids[1] == pids[2]
    assert not [w for w in caught if "worker stopped" in str(w.message)]


def test_search_workers_outgrow_their_first_task_without_leaving():
    # The asynchronous search's own workers keep models of any estimator on
    # purpose, and a first task on a few images is common.
    pytest.importorskip("psutil")
    for executors in _workers._processes.values():  # fresh workers
        for executor in executors:
            executor.shutdown(wait=True)
    _workers._processes.clear()
    # Recorded from every thread: loky warns from its manager thread.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with worker_pool(2) as (pool, _):

            def each_worker(function, *args):
                return [pool.submit(function, *args, slot=s).result() for s in (0, 1)]

            first = each_worker(os.getpid)
            grown = each_worker(_hold, 400 * 2**20)
            later = each_worker(os.getpid)
            freed = each_worker(_hold, None)
    assert first == grown == later == freed
    assert not [w for w in caught if "worker stopped" in str(w.message)]
