"""Searches on a dask.distributed cluster give the results of a local run.

Exact equality is checked for the SVD classifier and for seeded Keras
networks: every random layer gets an explicit seed derived from
``random_state``, so nothing depends on Python's global ``random``, which a
dask worker's event-loop thread also draws from.
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from fmnist_estimators import DenseNetClassifier, SVDSubspaceClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample
from fmnist_estimators.search import (
    dask_backend,
    family_param_grid,
    make_family_pipeline,
)

pytest.importorskip("dask")
pytest.importorskip("distributed")


# The local runs: multithreaded BLAS crawls on a machine whose cores are
# busy; the dask workers already run one thread each.
pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def data():
    X, y = load_fashion_mnist_sample(return_X_y=True)
    return X[:400], y[:400]


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes, local only, for the module."""
    from dask.distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # No HTTP server on port 8787 either: a free loopback port.
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
    ) as local_cluster:
        with Client(local_cluster) as client:
            yield client


def _assert_same_scores(remote, local, n_test):
    """Scores equal up to one prediction per fold.

    Dask workers compute with one BLAS and TensorFlow thread, the local run
    with more: float32 sums in another order can flip a near-tie prediction,
    which moves an accuracy by 1 / n_test, and nothing less can.
    """
    np.testing.assert_allclose(remote, local, rtol=0, atol=1.0 / n_test + 1e-12)


def _search():
    return GridSearchCV(
        SVDSubspaceClassifier(svd_solver="randomized", random_state=0),
        {"n_components": [3, 10, 20], "center": [True, False]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )


@pytest.mark.slow
def test_search_on_dask_matches_local(data, cluster):
    X, y = data
    local = _search().fit(X, y)
    with dask_backend(cluster):
        remote = _search().fit(X, y)
    # The fits ran on the workers.
    assert sum(cluster.run(lambda: 1).values()) == 2
    for key in ("split0_test_score", "split1_test_score", "split2_test_score"):
        _assert_same_scores(remote.cv_results_[key], local.cv_results_[key], 133)
    # Both refit on the main process: the same model.
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))


@pytest.mark.slow
def test_dask_workers_cap_threads(cluster):
    # dask starts its workers with OMP_NUM_THREADS=1, which our Keras
    # estimators pass on to TensorFlow's thread pools.
    env = cluster.run(lambda: __import__("os").environ.get("OMP_NUM_THREADS"))
    assert set(env.values()) == {"1"}


def test_local_cluster_workers_run_without_the_profiler():
    import dask

    key = "distributed.worker.profile.enabled"
    before = dask.config.get(key)
    # Its sampling of every thread's stack slowed a network's fits by a third.
    with dask_backend(n_workers=1) as client:
        assert set(client.run(dask.config.get, key).values()) == {False}
    assert dask.config.get(key) == before


def test_local_cluster_workers_keep_glibcs_malloc_trimming(monkeypatch):
    import os

    # dask's MALLOC_TRIM_THRESHOLD_=65536 made a search's fits a fifth
    # slower; dask also writes it into the environment of the process that
    # starts the cluster, and later worker processes (joblib's) inherit it.
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with dask_backend(n_workers=1) as client:
        trim = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        assert set(trim.values()) == {None}
        assert set(client.run(os.environ.get, "OMP_NUM_THREADS").values()) == {"1"}
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
    # A value the user set is theirs: the workers inherit it.
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1048576")
    with dask_backend(n_workers=1) as client:
        trim = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        assert set(trim.values()) == {"1048576"}


@pytest.mark.slow
def test_cross_family_search_on_dask_with_a_network(data, cluster):
    X, y = data
    grid = family_param_grid(
        [
            (SVDSubspaceClassifier(), {"n_components": [5, 10]}),
            (
                DenseNetClassifier((8,), epochs=2, batch_size=64, random_state=0),
                {"dropout": [0.0, 0.3]},
            ),
        ]
    )

    def search():
        return GridSearchCV(
            make_family_pipeline(),
            grid,
            cv=StratifiedKFold(2, shuffle=True, random_state=0),
            refit=False,
        )

    local = search().fit(X, y)
    with dask_backend(cluster):
        remote = search().fit(X, y)
    # Every candidate, the seeded networks (with dropout) included, scores as
    # in the local run, up to float32 rounding.
    assert len(local.cv_results_["params"]) == 4
    for key in ("split0_test_score", "split1_test_score"):
        _assert_same_scores(remote.cv_results_[key], local.cv_results_[key], 200)


def test_dask_backend_local_cluster_threads(data):
    X, y = data
    with dask_backend(n_workers=1, processes=False) as client:
        assert len(client.scheduler_info()["workers"]) == 1
        remote = _search().fit(X, y)
    local = _search().fit(X, y)
    for key in ("split0_test_score", "split1_test_score", "split2_test_score"):
        _assert_same_scores(remote.cv_results_[key], local.cv_results_[key], 133)
