"""
=============================
A search on a Dask cluster
=============================

joblib, which runs the fits of scikit-learn's searches in parallel, can send
them to a `Dask <https://distributed.dask.org>`_ cluster instead of local
processes: the same code then scales from a laptop to many machines. This
example starts a :class:`~distributed.LocalCluster` of two single-threaded
worker processes on this machine, runs a grid search on it, checks how many
threads TensorFlow uses in each worker, and shuts the cluster down. Install
Dask with ``pip install "fmnist_estimators[distributed]"``.
"""

# %%
# The search
# ----------
# An ordinary :class:`~sklearn.model_selection.GridSearchCV`; nothing in it
# knows about Dask.
import logging
import os

import joblib
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

from fmnist_estimators import DenseNetClassifier
from fmnist_estimators.datasets import load_fashion_mnist_sample

X, y = load_fashion_mnist_sample(return_X_y=True)
X_train, y_train = X[:1500], y[:1500]

search = GridSearchCV(
    DenseNetClassifier(epochs=3, batch_size=64, random_state=0),
    {"hidden_layer_sizes": [(64,), (256,)]},
    cv=2,
)

# %%
# Start a local cluster
# ---------------------
# Two worker processes with one thread each — one per core of a two-core
# machine — listening on the loopback interface only, without the dashboard.
# Dask starts its workers with ``OMP_NUM_THREADS=1``, which the networks pass
# on to TensorFlow, so each worker trains with one thread instead of
# competing for every core.
#
# Worker processes import the script that starts them, so a script must start
# the cluster under ``if __name__ == "__main__":``, as every cell below does.
if __name__ == "__main__":
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = Client(cluster)
    print(f"{len(client.scheduler_info()['workers'])} workers")
    omp_threads = client.run(os.environ.get, "OMP_NUM_THREADS")
    print("OMP_NUM_THREADS of each worker:", list(omp_threads.values()))

# %%
# Run the search on the cluster
# -----------------------------
# Inside ``joblib.parallel_config(backend="dask")`` the search hands its fits
# to the workers. The final refit of the best candidate runs in this process.
if __name__ == "__main__":
    with joblib.parallel_config(backend="dask"):
        search.fit(X_train, y_train)
    print("best parameters:", search.best_params_)
    print(f"cross-validated accuracy: {search.best_score_:.3f}")


# %%
# TensorFlow's thread pools in the workers, after their first fits:
def tensorflow_threads():
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads()


if __name__ == "__main__":
    tf_threads = client.run(tensorflow_threads)
    print("TensorFlow threads of each worker:", list(tf_threads.values()))

# %%
# Shut the cluster down
# ---------------------
# :func:`fmnist_estimators.search.dask_backend` wraps the same steps — start a
# local cluster (or connect to ``address``), set the joblib backend, close
# everything at the end — in one ``with`` block.
#
# Worker processes that imported TensorFlow can take longer to exit than Dask
# waits for; Dask then stops them itself and logs a warning, silenced here.
if __name__ == "__main__":
    logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    client.close()
    cluster.close()
