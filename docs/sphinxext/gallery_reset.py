"""Reset hooks run by Sphinx-Gallery between examples (see ``docs/conf.py``).

Kept in an importable module, not in ``conf.py``, so that the Sphinx
configuration stays picklable.
"""

import sys


def reset_keras(gallery_conf, fname):
    """Drop the Keras models and graphs an example left behind.

    Every example runs in the Sphinx process; clearing the Keras session keeps
    memory flat and layer names short from one example to the next. Keras is
    left unimported when no example has imported it yet.
    """
    keras = sys.modules.get("keras")
    if keras is not None:
        keras.backend.clear_session()
