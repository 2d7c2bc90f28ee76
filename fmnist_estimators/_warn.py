"""Warnings attributed to the user's code, however deep the package raised them."""

import inspect
import warnings
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent)


def warn_user(message, category=UserWarning):
    """Warn with the location of the first caller outside the package.

    A fixed ``stacklevel`` is right for one call path only: ``predict`` reaches
    ``predict_proba`` one frame deeper than a direct call does, and would point
    the warning, and Python's once-per-location filter, at the package's code.
    (Python 3.12's ``skip_file_prefixes`` does this; 3.10 and 3.11 are supported.)
    """
    # stacklevel=1 is this function's own frame: step out from it.
    level, frame = 1, inspect.currentframe()
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)
