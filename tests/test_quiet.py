"""TensorFlow's console output under the user's TF_CPP_MIN_LOG_LEVEL."""

import os
import platform
import subprocess
import sys
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


def _fit_in_new_process(level):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")
    }
    env["TF_CPP_MIN_LOG_LEVEL"] = level
    result = subprocess.run(
        [sys.executable, "-c", _FIT],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_a_silencing_log_level_is_as_quiet_as_none():
    # The usual way to silence TensorFlow; its start-up lines (oneDNN, "Could
    # not find cuda drivers") ignore it, so the package must hide them too.
    result = _fit_in_new_process("3")
    assert result.stderr == ""
    assert result.stdout == "3\n"  # the user's level is kept


@pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"),
    reason="TensorFlow announces oneDNN at level 0 on x86 only",
)
def test_log_level_zero_keeps_tensorflows_own_logging():
    result = _fit_in_new_process("0")
    assert result.stderr != ""
    assert result.stdout == "0\n"
