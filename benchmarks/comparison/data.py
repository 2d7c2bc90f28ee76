"""The images of the comparison: a dataset, and stratified subsets of it."""

import numpy as np

DATA = {
    "sample": "the embedded Fashion-MNIST sample",
    "full": "Fashion-MNIST",
    "mnist": "MNIST",
}


class DataSizeError(ValueError):
    """The requested subset or folds do not fit the data; the message says why."""


def _subset(X, y, n, random_state, option):
    """A stratified subset of ``n`` images; all of them when ``n`` is None or more."""
    if n is None or n >= len(y):
        return X, y
    n_classes = len(np.unique(y))
    # A stratified split keeps at least one image of every class on each side.
    if n < n_classes:
        raise DataSizeError(
            f"{option} {n} is fewer images than the {n_classes} classes: a "
            f"stratified subset needs one of each; use {option} {n_classes} "
            "or more"
        )
    if len(y) - n < n_classes:
        raise DataSizeError(
            f"{option} {n} leaves {len(y) - n} of the {len(y)} images out, "
            f"fewer than the {n_classes} classes a stratified subset needs; "
            f"use {option} {len(y)} (all) or at most {len(y) - n_classes}"
        )
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(
        X, y, train_size=n, stratify=y, random_state=random_state
    )
    return X, y


def check_folds(y, cv):
    """Raise :class:`DataSizeError` unless each of ``cv`` folds can hold every class."""
    rarest = np.unique(y, return_counts=True)[1].min()
    if rarest < cv:
        raise DataSizeError(
            f"--cv {cv} needs {cv} training images of every class (one per "
            f"fold), but the {len(y)} training images hold only {rarest} of "
            "the rarest class; use a larger --n-train or a smaller --cv"
        )


def load_data(args):
    """Training and test images and labels of ``args.data``, and the class names.

    Raises :class:`DataSizeError` when ``--n-train``, ``--n-test`` or
    ``--cv`` do not fit the data.
    """
    from fmnist_estimators import datasets

    if args.data == "sample":
        load = datasets.load_fashion_mnist_sample
    elif args.data == "full":
        load = datasets.fetch_fashion_mnist
    else:
        load = datasets.fetch_mnist
    train = load(subset="train")
    X_test, y_test = load(subset="test", return_X_y=True)
    X, y = _subset(
        train.data, train.target, args.n_train, args.random_state, "--n-train"
    )
    X_test, y_test = _subset(X_test, y_test, args.n_test, args.random_state, "--n-test")
    check_folds(y, args.cv)
    return X, y, X_test, y_test, train.target_names.tolist()
