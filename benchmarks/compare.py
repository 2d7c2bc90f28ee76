"""Compare every model family of fmnist_estimators on the same folds.

The comparison is the package ``comparison`` beside this script (see its
docstring); ``python benchmarks/compare.py --help`` lists the options.

Usage::

    python benchmarks/compare.py                      # embedded sample, offline
    python benchmarks/compare.py --data full --n-jobs 2
    python benchmarks/compare.py --models svd,dense --search random --resume
    python benchmarks/compare.py --scoring neg_log_loss   # tune the probabilities
    python benchmarks/compare.py --n-train 300 --n-test 100 --fast   # smoke test
    python benchmarks/compare.py --data full --models all,best_cnn,pretrained
    python benchmarks/compare.py --data full --scheduler tcp://HOST:8786  # Dask
"""

import signal
import sys

from comparison.cli import main

if __name__ == "__main__":
    status = main()
    # The run is over: a Ctrl-C while Python unloads TensorFlow has nothing
    # left to stop, and would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(status)
