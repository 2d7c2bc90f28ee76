"""Shared helpers of the dataset loaders: the data folder and the descriptions."""

# SPDX-License-Identifier: BSD-3-Clause

import os
from importlib import resources

#: Environment variable that overrides the default data folder.
DATA_HOME_ENV = "FMNIST_ESTIMATORS_DATA"
_DEFAULT_DATA_HOME = os.path.join("~", "fmnist_estimators_data")


def resolve_data_home(data_home=None):
    """Return the data folder path, expanded but not created."""
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or _DEFAULT_DATA_HOME
    return os.path.expanduser(os.fspath(data_home))


def get_data_home(data_home=None):
    """Return the path of the fmnist_estimators data folder, creating it.

    The fetchers cache downloaded files in sub-folders of this folder
    (``fashion-mnist/`` and ``mnist/``) so that the data is downloaded only
    once.

    The folder is, in order of precedence, the ``data_home`` argument, the
    ``FMNIST_ESTIMATORS_DATA`` environment variable, or
    ``~/fmnist_estimators_data``. The ``~`` symbol is expanded to the user's
    home folder. If the folder does not exist it is created.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The path to the data folder. If None, use the environment variable
        or the default described above.

    Returns
    -------
    data_home : str
        The path to the data folder.

    See Also
    --------
    fetch_fashion_mnist : Load Fashion-MNIST, downloading it if necessary.

    Examples
    --------
    >>> import os, tempfile
    >>> from fmnist_estimators.datasets import get_data_home
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     folder = os.path.join(tmp, "my_data")
    ...     print(get_data_home(folder) == folder, os.path.isdir(folder))
    True True
    """
    data_home = resolve_data_home(data_home)
    os.makedirs(data_home, exist_ok=True)
    return data_home


def load_descr(descr_file_name):
    """Return the text of ``descr/<descr_file_name>`` shipped with the package."""
    path = resources.files("fmnist_estimators.datasets") / "descr" / descr_file_name
    return path.read_text(encoding="utf-8")
