"""Warnings attributed to the user's code, however deep the package raised them."""

import contextlib
import importlib.util
import inspect
import os
import warnings
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent)


def _library_folder(name):
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))).resolve())


# The libraries that sit between a user's line and the package: scikit-learn's
# fit wrapper, ``score`` and searches, joblib's workers, Keras calling a
# callback. A warning skips their frames as it skips the package's own. Each
# folder ends with a separator, so that keras_tuner or tensorflow_datasets,
# which share a prefix with Keras and TensorFlow, are not skipped too.
_SKIPPED = tuple(
    os.path.join(folder, "")
    for folder in [_PACKAGE]
    + [
        _library_folder(name)
        for name in ("sklearn", "joblib", "scikeras", "keras", "tensorflow")
    ]
    if folder is not None
) + (
    # The package's context managers (``with`` around a fallback) run their
    # body's warnings through contextlib's frames.
    contextlib.__file__,
)


def warn_user(message, category=UserWarning):
    """Warn with the location of the first caller outside the package and the
    libraries it runs under.

    A fixed ``stacklevel`` is right for one call path only: ``predict`` reaches
    ``predict_proba`` one frame deeper than a direct call does, ``fit`` runs
    under scikit-learn's ``_fit_context`` wrapper, a search under joblib; a
    fixed level would point the warning, and Python's once-per-location
    filter, at library code. (Python 3.12's ``skip_file_prefixes`` does this;
    3.10 and 3.11 are supported.)
    """
    # stacklevel=1 is this function's own frame: step out from it.
    level, frame = 1, inspect.currentframe()
    while frame is not None and frame.f_code.co_filename.startswith(_SKIPPED):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)
