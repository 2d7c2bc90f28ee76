"""loky's memory-leak check, lifted in the processes that train networks.

Where psutil is installed (Dask and the ``[dev]`` extra bring it), a loky
worker process measures its memory after its first task and, once it holds
300 MB more than that, leaves as if it leaked, with a warning ("A worker
stopped while some jobs were given to the executor ... memory leak"). A
TensorFlow process grows by design: a network's first fit on the full data
sets TensorFlow's buffers once (a process fitting ``"fast"`` on 30,000 images
held 196 MB before, 1,105 MB after one fit and 1,143 MB after six), and the
asynchronous search's workers keep models resident on purpose. So a search
on the full data after one on a few images (whose first task set a low
reference) loses its workers: new ones import TensorFlow again (3-5 s) and
the user sees the warning. The bound is a private name of loky as joblib
vendors it, read by the worker's loop at every check; where a joblib lacks
it, nothing changes. Idle workers still end after joblib's timeout.
"""

import sys

__all__ = ["keep_memory_growth"]

# Where joblib vendors loky's worker loop (joblib >= 0.12).
_LOKY_EXECUTOR = "joblib.externals.loky.process_executor"


def keep_memory_growth():
    """Let this process grow without loky taking it for a memory leak.

    Harmless outside a loky worker: only a worker's loop reads the bound.
    Nothing is imported that the process did not import already (a worker
    always has the module, since it runs the loop).

    Examples
    --------
    >>> from fmnist_estimators._worker_memory import keep_memory_growth
    >>> keep_memory_growth()
    """
    executor = sys.modules.get(_LOKY_EXECUTOR)
    if executor is not None and hasattr(executor, "_MAX_MEMORY_LEAK_SIZE"):
        executor._MAX_MEMORY_LEAK_SIZE = sys.maxsize
