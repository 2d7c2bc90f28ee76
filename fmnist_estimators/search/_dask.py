"""Run the fits of searches on a ``dask.distributed`` cluster."""

# SPDX-License-Identifier: BSD-3-Clause

from contextlib import contextmanager

__all__ = ["dask_backend"]

_LOCAL_WORKER_CONFIG = {
    # The statistical profiler samples every thread's stack 100 times a
    # second: it slowed the fits of a small Keras network by about a third.
    "distributed.worker.profile.enabled": False,
    # dask starts its workers with MALLOC_TRIM_THRESHOLD_=65536 to hand freed
    # memory back to the system at once; setting it also turns off glibc's
    # adaptive mmap threshold, so TensorFlow's buffers are mapped and unmapped
    # again at every step. The fits of a search took about a fifth longer.
    # None: the workers inherit the variable from this process, if it has it
    # (dask would otherwise also set it in this process's own environment).
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


@contextmanager
def dask_backend(address=None, *, n_workers=2, threads_per_worker=1, **cluster_kwargs):
    """Run the joblib-parallel fits of searches on a ``dask.distributed`` cluster.

    Inside the ``with`` block every search (and anything else parallelised by
    joblib) sends its fits to the cluster's workers; a search left at
    ``n_jobs=None`` uses them all. Needs the ``distributed`` extra
    (``pip install fmnist_estimators[distributed]``).

    Each dask worker process starts with ``OMP_NUM_THREADS=1`` (dask's
    default worker environment), which also caps TensorFlow's thread pools in
    that worker (see :class:`~fmnist_estimators.DenseNetClassifier`): give
    each worker one thread and run one worker per core.

    The local cluster's workers run without dask's statistical profiler
    (``distributed.worker.profile.enabled``), which samples the stack of
    every thread 100 times a second: it slowed the fits of a small Keras
    network by about a third. They also run with glibc's own memory
    trimming rather than dask's ``MALLOC_TRIM_THRESHOLD_=65536``, with which
    a search's fits took about a fifth longer (TensorFlow's buffers were
    mapped and unmapped at every step); the variable is passed on if this
    process has it. A cluster of your own keeps its settings; to do the same
    there, start its workers with
    ``DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False`` and without
    ``MALLOC_TRIM_THRESHOLD_`` (``distributed.nanny.pre-spawn-environ``).

    Parameters
    ----------
    address : str or dask.distributed.Client, default=None
        Scheduler address (``"tcp://host:8786"``) or client of an existing
        cluster. ``None`` starts a local cluster of worker processes for the
        block and shuts it down afterwards.

    n_workers : int, default=2
        Worker processes of the local cluster.

    threads_per_worker : int, default=1
        Threads of each local worker.

    **cluster_kwargs
        Further arguments of :class:`dask.distributed.LocalCluster`; by
        default its workers are processes, it listens on 127.0.0.1 only and
        serves no dashboard (``dashboard_address=":8787"`` starts one).

    Yields
    ------
    client : dask.distributed.Client
        The client the fits go through.

    See Also
    --------
    joblib.parallel_config : What this sets, with ``backend="dask"``.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from fmnist_estimators import SVDSubspaceClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> from fmnist_estimators.search import dask_backend
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> search = GridSearchCV(SVDSubspaceClassifier(), {"n_components": [5, 20]})
    >>> # Threads instead of worker processes, to start in a blink:
    >>> with dask_backend(n_workers=2, processes=False) as client:
    ...     search = search.fit(X[:500], y[:500])
    >>> search.best_params_
    {'n_components': 20}

    In a script, start the cluster under ``if __name__ == "__main__":``: its
    worker processes import the main module.
    """
    import dask
    import joblib
    from dask.distributed import Client, LocalCluster

    cluster = None
    if address is None:
        options = dict(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
        )
        options.update(cluster_kwargs)
        if options["dashboard_address"] is None:
            # The scheduler serves its health and metrics routes even without
            # a dashboard, by default on port 8787 of every interface: take a
            # free port on the loopback interface instead.
            options.setdefault(
                "scheduler_kwargs",
                {"dashboard": False, "dashboard_address": "127.0.0.1:0"},
            )
        if options["processes"]:
            # Workers in processes talk over TCP: keep it on this machine.
            options.setdefault("host", "127.0.0.1")
        # The workers take the configuration in force when they start.
        with dask.config.set(_LOCAL_WORKER_CONFIG):
            cluster = LocalCluster(**options)
        client = Client(cluster)
    elif isinstance(address, Client):
        client = address
    else:
        client = Client(address)
    try:
        with joblib.parallel_config(backend="dask", n_jobs=-1):
            yield client
    finally:
        if client is not address:
            client.close()
        if cluster is not None:
            cluster.close()
