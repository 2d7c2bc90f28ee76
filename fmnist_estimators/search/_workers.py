"""Where the fits of an asynchronous search run, submitted one at a time.

:class:`joblib.Parallel` takes a batch of tasks and hands back their results;
it cannot take a new task from the results of a running one. The
asynchronous search (:mod:`._asha`) needs futures instead: it submits a fit,
waits for the first of those running to finish, and submits the next. This
module gives it a pool with futures for each joblib backend a user can
choose: the fits run in this process for one job, on threads under the
``"threading"`` backend, on a ``dask.distributed`` cluster inside
:func:`~fmnist_estimators.search.dask_backend`, and in loky worker processes
(joblib's default) otherwise.

In worker processes (loky's or a cluster's), each worker is a *slot* the
search can send a fit to: a model a fit leaves there stays resident
(:func:`keep_resident`), so that the next fit of the same model, sent to the
same slot, continues it as it is instead of unpickling it, which costs a
Keras network its build and a new trace of its training step (about a
second for a small dense network, as much as a short epoch).
"""

# SPDX-License-Identifier: BSD-3-Clause

import concurrent.futures
import contextlib
import functools
import itertools
import os
import tempfile
from pathlib import Path

import joblib
from joblib import cpu_count, effective_n_jobs
from joblib.externals import loky
from joblib.parallel import ParallelBackendBase, get_active_backend

from .._worker_memory import keep_memory_growth

__all__ = [
    "SharedFile",
    "clear_resident",
    "keep_resident",
    "load_shared",
    "take_resident",
    "worker_pool",
]

# Seconds an idle worker process lives, as joblib's loky backend's default.
_IDLE_SECONDS = 300

# The worker processes of the last search, kept warm for the next one (a
# worker that imported TensorFlow once does not import it again).
_processes = {}

# In a worker: the models fits left here, {(search, key): (version, model)}.
_resident = {}


@contextlib.contextmanager
def worker_pool(n_jobs):
    """The pool that runs the fits, and how many fits to keep running.

    Parameters
    ----------
    n_jobs : int or None
        The search's ``n_jobs``, resolved as :func:`joblib.effective_n_jobs`
        resolves it under the active :func:`joblib.parallel_config`.

    Yields
    ------
    pool : object
        With ``submit(function, *args, slot=None)`` returning a future,
        ``wait(futures)`` returning those done (at least one),
        ``share(value)``, a context manager giving what to pass to the
        tasks in place of ``value`` (a large object sent once), and
        ``sticky``: whether each slot (from 0 to ``n_workers - 1``) is a
        worker process of its own, which keeps what :func:`keep_resident`
        leaves there for the next task sent to that slot (False where the
        tasks run in this process); a sticky pool also has
        ``broadcast(function, *args)``, which runs in every worker.
    n_workers : int
        Fits to keep in flight.
    """
    backend, _ = get_active_backend()
    n_workers = effective_n_jobs(n_jobs)
    client = getattr(backend, "client", None)
    if client is not None:  # joblib's dask backend: dask_backend()
        yield _DaskPool(client), n_workers
    elif n_workers == 1:
        yield _FuturesPool(None), 1
    elif getattr(backend, "uses_threads", False):
        with concurrent.futures.ThreadPoolExecutor(n_workers) as executor:
            yield _FuturesPool(executor), n_workers
    else:
        executors = _process_pool(n_workers)
        try:
            yield _SlotPool(executors), n_workers
        except loky.BrokenProcessPool:
            # A worker died (out of memory, a crash): the next search starts
            # a new pool.
            _processes.clear()
            raise


def _process_pool(n_workers):
    """``n_workers`` loky executors of one worker process each.

    One process per executor, so that a task can be sent to the process
    that holds its model. Not joblib's own reusable executor: taking that
    one with other arguments than :class:`joblib.Parallel` gives it breaks
    joblib's next parallel call. Each worker's thread pools get ``cores //
    n_workers`` threads, unless the environment sets them, as joblib's loky
    backend does (the networks read ``OMP_NUM_THREADS``).
    """
    n_threads = str(max(cpu_count() // n_workers, 1))
    env = {
        name: os.environ.get(name, n_threads)
        for name in ParallelBackendBase.MAX_NUM_THREADS_VARS
    }
    key = (n_workers, tuple(sorted(env.items())))
    if key not in _processes:
        for executors in _processes.values():
            for executor in executors:
                executor.shutdown(wait=False)
        _processes.clear()
        # Set before the first task: these workers keep models of any
        # estimator resident on purpose, not only networks (which lift the
        # bound themselves when they first fit).
        _processes[key] = [
            loky.ProcessPoolExecutor(
                1, timeout=_IDLE_SECONDS, env=env, initializer=keep_memory_growth
            )
            for _ in range(n_workers)
        ]
    return _processes[key]


class _FuturesPool:
    """A :mod:`concurrent.futures` executor; ``None`` runs each task inline."""

    sticky = False

    def __init__(self, executor):
        self.executor = executor

    def submit(self, function, *args, slot=None):
        if self.executor is not None:
            return self.executor.submit(function, *args)
        future = concurrent.futures.Future()
        try:
            future.set_result(function(*args))
        except Exception as error:
            future.set_exception(error)
        return future

    def wait(self, futures):
        return concurrent.futures.wait(
            futures, return_when=concurrent.futures.FIRST_COMPLETED
        ).done

    @contextlib.contextmanager
    def share(self, value):
        # The tasks run in this process: they take the value itself.
        yield value


class _SlotPool(_FuturesPool):
    """Worker processes, one executor each: slot ``i`` is ``executors[i]``."""

    sticky = True

    def __init__(self, executors):
        super().__init__(None)
        self.executors = executors

    def submit(self, function, *args, slot=0):
        return self.executors[slot].submit(function, *args)

    def broadcast(self, function, *args):
        """Run ``function(*args)`` in every worker, after its tasks; no wait."""
        for executor in self.executors:
            executor.submit(function, *args)

    @contextlib.contextmanager
    def share(self, value):
        # Written once, then memory-mapped by every worker, as joblib's loky
        # backend shares large arrays: pickling the training images into
        # every task would cost each task a copy of them.
        # (Windows keeps a file open while a worker maps it: left behind.)
        with tempfile.TemporaryDirectory(
            prefix="fmnist_estimators_", ignore_cleanup_errors=True
        ) as folder:
            path = Path(folder) / "shared.joblib"
            joblib.dump(value, path)
            yield SharedFile(str(path))


class _DaskPool:
    """The client of joblib's dask backend; ``value`` is scattered once.

    The slots are the cluster's worker threads, taken one worker after
    another in turn (slot ``i`` of more slots than threads wraps around): a
    task goes to its slot's worker unless that worker has left the cluster.
    """

    sticky = True

    def __init__(self, client):
        self.client = client
        workers = client.scheduler_info()["workers"]
        threads = [[a] * workers[a].get("nthreads", 1) for a in sorted(workers)]
        # Interleaved, so that fewer slots than threads still use every worker.
        self.addresses = [
            a for row in itertools.zip_longest(*threads) for a in row if a
        ]

    def submit(self, function, *args, slot=None):
        workers = None
        if slot is not None and self.addresses:
            workers = [self.addresses[slot % len(self.addresses)]]
        return self.client.submit(
            function, *args, pure=False, workers=workers, allow_other_workers=True
        )

    def broadcast(self, function, *args):
        """Run ``function(*args)`` in every worker."""
        self.client.run(function, *args)

    def wait(self, futures):
        from distributed import wait

        return wait(list(futures), return_when="FIRST_COMPLETED").done

    @contextlib.contextmanager
    def share(self, value):
        future = self.client.scatter(value, broadcast=True, hash=False)
        try:
            yield future
        finally:
            future.release()


class SharedFile(str):
    """The path of a value :meth:`_FuturesPool.share` wrote for the workers."""


def load_shared(shared):
    """The value a task was given through ``share``, loaded once per process."""
    if isinstance(shared, SharedFile):
        return _load(str(shared))
    return shared


@functools.lru_cache(maxsize=1)
def _load(path):
    # One search at a time per worker: the cache holds the last one's data.
    return joblib.load(path, mmap_mode="r")


def keep_resident(search, key, version, model):
    """Keep ``model`` in this process for the next task of ``key``.

    ``search`` names the search (a new one drops the models of others) and
    ``version`` the state of the model (the rung it has finished), so that a
    task never continues an older copy of a model that has moved on in
    another process.
    """
    _resident[search, key] = (version, model)


def take_resident(search, key, version):
    """The model :func:`keep_resident` left here for ``key``, or None."""
    for other in [k for k in _resident if k[0] != search]:
        del _resident[other]
    kept = _resident.pop((search, key), None)
    if kept is None or kept[0] != version:
        return None
    return kept[1]


def clear_resident(search, keys=None):
    """Drop the resident models of ``search`` (only ``keys``, if given)."""
    for search_key in list(_resident):
        if search_key[0] == search and (keys is None or search_key[1] in keys):
            del _resident[search_key]
