"""TensorFlow's console output under the user's TF_CPP_MIN_LOG_LEVEL."""

import platform
import textwrap

import pytest

_FIT = textwrap.dedent(
    """
    import os
    from fmnist_estimators import DenseNetClassifier
    from fmnist_estimators.datasets import load_fashion_mnist_sample
    X, y = load_fashion_mnist_sample(return_X_y=True)
    DenseNetClassifier((8,), epochs=1).fit(X[:100], y[:100]).predict(X[:10])
    print(os.environ["TF_CPP_MIN_LOG_LEVEL"])
    """
)


def test_a_silencing_log_level_is_as_quiet_as_none(run_python):
    # The usual way to silence TensorFlow; its start-up lines (oneDNN, "Could
    # not find cuda drivers") ignore it, so the package must hide them too.
    result = run_python(_FIT, TF_CPP_MIN_LOG_LEVEL="3")
    assert result.stderr == ""
    assert result.stdout == "3\n"  # the user's level is kept


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="TensorFlow announces oneDNN at level 0 on x86 only",
)
def test_log_level_zero_keeps_tensorflows_own_logging(run_python):
    result = run_python(_FIT, TF_CPP_MIN_LOG_LEVEL="0")
    assert result.stderr != ""
    assert result.stdout == "0\n"
