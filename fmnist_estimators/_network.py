"""The estimator contract shared by every Keras network.

Subclasses say which network to build (``_network_builder``) and in what
input shape (``_input_shape``); everything about fitting — validation, pixel
scaling, label encoding, sample and class weights, validation data, early
stopping, warm starts, ``history_`` — lives here once. Keras itself is
reached only through ``fmnist_estimators._keras``, imported on the first
``fit``.
"""

import copy
import functools
import pickle
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn import config_context
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._images import flatten_images
from ._keras._names import ACTIVATIONS, INITIALIZERS, OPTIMIZERS
from ._phases import Phase
from ._sklearn_compat import Interval, StrOptions, fit_context
from ._warn import warn_user

__all__ = ["ACTIVATIONS", "INITIALIZERS", "OPTIMIZERS", "BaseKerasClassifier"]


def _training_constraints():
    return {
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "lr_schedule": [StrOptions({"constant", "cosine"})],
        "warmup_epochs": [Interval(Real, 0, None, closed="left")],
        "ema_momentum": [Interval(Real, 0, 1, closed="neither"), None],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "monitor": [StrOptions({"val_loss", "val_accuracy"})],
        "restore_best_weights": ["boolean"],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "callbacks": [list, tuple, None],
        "pixel_scale": [
            StrOptions({"auto"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }


def check_sample_weight(sample_weight, n_samples):
    """``sample_weight`` as float64 of shape ``(n_samples,)``, or a clear error."""
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {weights.shape}; it needs one weight per "
            f"image, shape ({n_samples},)."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("sample_weight contains NaN or infinite values.")
    if np.any(weights < 0):
        raise ValueError("sample_weight contains negative values.")
    if not np.any(weights > 0):
        raise ValueError("sample_weight is zero for every image: nothing to train on.")
    return weights


def weighted_rows(X, y, weights):
    """The rows that train: those of positive weight.

    scikeras drops zero-weighted rows before Keras sees them; dropped here
    first, they are not counted in an epoch's steps, which size the cosine
    cycle and tell Keras how many batches an epoch has (counted, the cycle
    would end before reaching zero and Keras would run out of batches), nor
    in the batch norm statistics recomputed after training.
    """
    if weights is None:
        return X, y, weights
    keep = weights > 0
    if keep.all():
        return X, y, weights
    return X[keep], y[keep], weights[keep]


# Floats a little outside 0-255 are still 8-bit pixels: min-max scaling rounds
# to 255.00000000000003, cubic interpolation overshoots by a few percent.
PIXEL_OVERSHOOT = 0.1


def auto_pixel_scale(X):
    """Factor that ``pixel_scale="auto"`` multiplies the pixels of ``X`` by.

    8-bit pixels — a maximum in (1, 255], give or take ``PIXEL_OVERSHOOT`` of
    the range — are divided by 255. Data already in [0, 1] and standardized
    data (clearly negative values) are left as they are; so is anything with
    larger values, with a warning, since it cannot be 8-bit pixels.
    """
    lo, hi = float(np.min(X)), float(np.max(X))
    if hi <= 1.0 + 1e-3 or lo < -PIXEL_OVERSHOOT * hi:
        return 1.0
    if hi <= 255.0 * (1.0 + PIXEL_OVERSHOOT):
        return 1.0 / 255.0
    warn_user(
        f"pixel_scale='auto' found values up to {hi:.6g}, which are not 8-bit "
        "pixels (0-255) nor scaled ones (0-1); the network gets them unscaled. "
        "Pass pixel_scale=1/max_value (or scale X) to train on values in 0-1.",
    )
    return 1.0


def _detached(callbacks):
    """The callbacks of a finished fit, without the model they pointed to, so
    that ``callbacks_`` pickles and clones without a copy of the network."""
    for callback in callbacks:
        callback.set_model(None)
    return callbacks


def _picklable(objects):
    """The objects of a list that pickle on their own."""
    kept = []
    for item in objects:
        try:
            pickle.dumps(item)
        except Exception:  # any object's own pickling error
            continue
        kept.append(item)
    return kept


def int_tuple(value, name, length=None):
    """``value`` as a tuple of positive ints; an int is repeated ``length`` times."""
    values = (value,) * (length or 1) if isinstance(value, Integral) else tuple(value)
    valid = all(isinstance(v, Integral) and v > 0 for v in values)
    if not valid or (length is not None and len(values) != length):
        expected = "positive ints" if length is None else f"{length} positive int(s)"
        raise ValueError(f"{name} must be {expected}, got {value!r}.")
    return values


class BaseKerasClassifier(ClassifierMixin, BaseEstimator):
    """Shared machinery of the Keras classifiers; not for direct use."""

    _parameter_constraints: dict = _training_constraints()
    # How the network's arguments are named among the estimator's parameters.
    _network_param_prefix = ""

    # -- what a network declares ------------------------------------------------
    def training_phases(self):
        """The training phases that ``fit`` runs with the current parameters.

        One loop trains them in order (see :mod:`fmnist_estimators._phases`);
        a warm-started ``fit`` or ``partial_fit`` continues the phase the
        network is in, and a search on epochs drives the parameter that sets
        the last phase's epochs.

        Returns
        -------
        phases : list of Phase
            ``[Phase("train")]`` for every network trained in one go.
        """
        return [Phase("train")]

    def _input_shape(self, X):
        """Shape of one image as the network sees it, from validated 2-D ``X``."""
        raise NotImplementedError

    def _network_builder(self, phase):
        """``(model, params)``: what builds the network of ``phase``.

        ``model`` is a function ``model(input_shape, n_classes, **params[,
        seed])`` returning an uncompiled ``keras.Model``, or a ``keras.Model``
        to copy; see :class:`~fmnist_estimators.KerasModelClassifier`.
        """
        raise NotImplementedError

    def _network_identity(self):
        """What builds the network, beyond ``_network_builder``'s arguments."""
        return {}

    def _initialize_weights(self, model, inputs):
        """Set the weights of a new phase's ``model`` that come from its
        training ``inputs`` (prepared images, or a frozen part's features)
        rather than from an initializer; none by default."""

    def _feature_extractor(self):
        """Model from raw images to the features of a ``"features"`` phase."""
        raise NotImplementedError(
            f"{type(self).__name__} declares no frozen feature extractor."
        )

    def _predict_rows(self):
        """Images per prediction call; ``None`` for the engine's default."""
        return None

    def _test_time_views(self, X):
        """Versions of validated 2-D ``X`` whose probabilities predict_proba
        averages, an iterable: ``X`` alone, or more with test-time
        augmentation."""
        return [X]

    # -- data -------------------------------------------------------------------
    def _validate_X(self, X, *, reset, y=None):
        """Flatten images to 2-D, validate, and remember the image shape.

        Arrays of shape (n, 28, 28) or (n, 28, 28, 1) are flattened so that
        ``n_features_in_`` counts pixels (784) and predict accepts either form.
        """
        X, image_shape = flatten_images(X)
        if reset:
            self._image_shape = image_shape
        else:
            self._check_not_one_image(X)
        # Integer pixels keep their dtype: the network casts and scales each
        # batch, so no float copy of the whole data set (4x the bytes of uint8)
        # is made per fit.
        kwargs = dict(dtype="numeric", reset=reset)
        if y is None:
            return validate_data(self, X, **kwargs), None
        return validate_data(self, X, y, **kwargs)

    def _check_not_one_image(self, X):
        """Explain how to pass one image, which arrives as a 2-D array."""
        n_features = getattr(self, "n_features_in_", None)
        if (
            hasattr(X, "shape")
            and len(X.shape) == 2
            and n_features is not None
            and X.shape[1] != n_features
            and X.shape[0] * X.shape[1] == n_features
        ):
            raise ValueError(
                f"X has shape {X.shape}: one image? {type(self).__name__} takes "
                f"a batch of images, flattened to {n_features} features or not; "
                "pass one image as X[np.newaxis] (or X.reshape(1, -1))."
            )

    def _prepare(self, X):
        """Validated 2-D ``X`` in the network's input shape, unscaled.

        The model's first layer multiplies by ``pixel_scale_``. uint8 images go
        to Keras as they are (a quarter of float32's bytes); every other dtype
        as float32, so that later fits accept any mix of dtypes.
        """
        if X.dtype != np.uint8 and X.dtype != np.float32:
            X = X.astype(np.float32)
        return X.reshape((X.shape[0],) + self._network_input_shape)

    def _phase_inputs(self, phase, X):
        """What ``phase`` trains on, from validated 2-D ``X``: images, or the
        frozen extractor's features, standardized with the statistics of the
        network's first training images (computed once per call: every epoch
        reuses them, and resized images never exist whole)."""
        from ._keras._features import feature_scaling, standardized

        images = self._prepare(X)
        if phase.inputs != "features":
            return images
        features = self._features(self._extractor(), images)
        if self._feature_scaling is None:
            self._feature_scaling = feature_scaling(features)
        return standardized(features, self._feature_scaling)

    def _features(self, extractor, images):
        """The frozen ``extractor``'s outputs for prepared ``images``, through
        its traced graph: the extractor serves every fit and prediction of
        the network, and of the other networks that share it."""
        from ._keras._engine import predict_rows

        return predict_rows(extractor, images, rows=self._predict_rows(), eager=False)

    def _extractor(self):
        """The frozen feature extractor, built once per network (seeded, so
        that a random backbone repeats with ``random_state``)."""
        if self._extractor_model is None:
            from ._keras._seeding import seeded

            with seeded(self._seed_):
                self._extractor_model = self._feature_extractor()
        return self._extractor_model

    def _fit_pixel_scale(self, X):
        if self.pixel_scale != "auto":
            return float(self.pixel_scale)
        return auto_pixel_scale(X)

    def _check_pixel_scale(self, X):
        """Warn when later training data is scaled unlike the first fit's."""
        if self.pixel_scale != "auto" or not X.size or float(np.max(X)) <= 0:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scale = auto_pixel_scale(X)
        if scale != self.pixel_scale_:
            warn_user(
                f"X looks scaled by {scale:.6g} under pixel_scale='auto', but the "
                f"network was built for data scaled by {self.pixel_scale_:.6g}; "
                "it keeps multiplying by pixel_scale_. Pass images as in the first "
                "fit, or set warm_start=False to train a new network."
            )

    def _validation_data(self, X_val, y_val):
        """The user's validation set as validated 2-D images and encoded
        labels, or ``None``."""
        if X_val is None and y_val is None:
            return None
        if X_val is None or y_val is None:
            given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
            raise ValueError(f"{given} was given without {missing}: pass both.")
        X_val, _ = flatten_images(X_val)
        n_features = np.shape(X_val)[1] if np.ndim(X_val) == 2 else None
        if n_features != self.n_features_in_:
            raise ValueError(
                f"X_val has {n_features} features per image, but X has "
                f"{self.n_features_in_}."
            )
        X_val, _ = self._validate_X(X_val, reset=False)
        y_val = np.asarray(y_val)
        if y_val.shape != (X_val.shape[0],):
            raise ValueError(
                f"y_val has shape {y_val.shape}; it needs one label per image of "
                f"X_val, shape ({X_val.shape[0]},)."
            )
        unseen = np.setdiff1d(np.unique(y_val), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y_val contains labels {unseen.tolist()} that are not in the "
                f"training labels {self.classes_.tolist()}."
            )
        return X_val, np.searchsorted(self.classes_, y_val)

    def _weights(self, y_encoded, sample_weight):
        """Per-image training weights from ``sample_weight`` and ``class_weight``."""
        n = y_encoded.shape[0]
        weights = (
            None if sample_weight is None else check_sample_weight(sample_weight, n)
        )
        if self.class_weight is None:
            return weights
        if isinstance(self.class_weight, str):  # "balanced"
            present = np.unique(y_encoded)
            per_class = np.ones(self.classes_.size)
            per_class[present] = compute_class_weight(
                "balanced", classes=present, y=y_encoded
            )
        else:
            unknown = [c for c in self.class_weight if c not in set(self.classes_)]
            if unknown:
                raise ValueError(
                    f"class_weight names classes {unknown} that are not in the "
                    f"training labels {self.classes_.tolist()}."
                )
            per_class = np.array(
                [float(self.class_weight.get(c, 1.0)) for c in self.classes_]
            )
            if np.any(per_class < 0) or not np.all(np.isfinite(per_class)):
                raise ValueError("class_weight values must be finite and >= 0.")
        class_weights = per_class[y_encoded]
        return class_weights if weights is None else weights * class_weights

    def _encode_labels(self, y, classes=None):
        check_classification_targets(y)
        if classes is None:
            self.classes_, y_encoded = np.unique(y, return_inverse=True)
        else:
            self.classes_ = np.unique(classes)
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that are not in classes "
                    f"{self.classes_.tolist()}."
                )
            y_encoded = np.searchsorted(self.classes_, y)
        if self.classes_.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {self.classes_[0]}."
            )
        return y_encoded

    def _check_classes(self, classes):
        """``partial_fit``'s ``classes`` must repeat the fitted ``classes_``."""
        if classes is None or np.array_equal(np.unique(classes), self.classes_):
            return
        raise ValueError(
            f"classes={np.asarray(classes).tolist()} is not the same as on the "
            f"first call to partial_fit, which fixed classes_="
            f"{self.classes_.tolist()}; a fitted network's classes cannot change "
            "(set warm_start=False, or clone the estimator, to train a new one)."
        )

    def _split(self, X, y, weights, validation):
        """Training data and validation data of one phase."""
        if validation is not None or not self.early_stopping:
            return X, y, weights, validation
        arrays = (X, y) if weights is None else (X, y, weights)
        split = functools.partial(
            train_test_split,
            *arrays,
            test_size=self.validation_fraction,
            random_state=self._seed_,
        )
        try:
            parts = split(stratify=y)
        except ValueError:
            # Too few samples of a class to stratify: a plain random split.
            parts = split()
        X, X_val, y, y_val = parts[:4]
        weights = parts[4] if weights is not None else None
        return X, y, weights, (X_val, y_val)

    # -- what the optimizer and the network are made from -------------------------
    def _seed(self):
        return int(
            check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        )

    def _optimizer_settings(self):
        """What the optimizer and the loss are made from; changing any
        recompiles the network with a new optimizer."""
        return {
            "optimizer": self.optimizer,
            "momentum": self.momentum,
            "lr_schedule": self.lr_schedule,
            "label_smoothing": self.label_smoothing,
            "ema_momentum": self.ema_momentum,
        }

    def _network_settings(self, X):
        """What the network is built from; a warm start cannot change it."""
        model, params = self._network_builder(self.training_phases()[0])
        prefix = self._network_param_prefix
        return {
            "model": model,
            **{prefix + name: value for name, value in params.items()},
            **self._network_identity(),
            "pixel_scale": self.pixel_scale,
            "input_shape": self._input_shape(X),
        }

    def _steps_per_epoch(self, n_rows):
        """Gradient steps of an epoch over ``n_rows`` training images (after
        any validation split): what a cosine cycle is sized by, and what
        Keras is told an epoch has."""
        return max(1, int(np.ceil(n_rows / self.batch_size)))

    def _compile_settings(self, phase, n_rows):
        # A cosine cycle spans the phase's epochs parameter, not the epochs of
        # this call: partial_fit trains one epoch per call along that cycle.
        steps = self._steps_per_epoch(n_rows)
        return {
            "learning_rate": getattr(self, phase.learning_rate),
            "decay_steps": getattr(self, phase.epochs) * steps,
            "warmup_steps": int(round(self.warmup_epochs * steps)),
            **self._optimizer_settings(),
        }

    def _new_keras_classifier(self, phase, n_rows):
        from ._keras._engine import make_keras_classifier

        model, params = self._network_builder(phase)
        features = phase.inputs == "features"
        settings = {
            "model": model,
            "params": params,
            "input_shape": (
                tuple(self._extractor().outputs[0].shape[1:])
                if features
                else self._network_input_shape
            ),
            # Features are not pixels: the extractor scaled the pixels.
            "pixel_scale": 1.0 if features else self.pixel_scale_,
            "seed": self._seed_,
            "compile": self._compile_settings(phase, n_rows),
        }
        return make_keras_classifier(settings, batch_size=self.batch_size)

    def _check_warm_start(self, X):
        """Refuse a warm start after the network's parameters changed."""
        now = self._network_settings(X)
        changed = [
            f"{name}: {before!r} -> {now.get(name)!r}"
            for name, before in self._network_settings_.items()
            if now.get(name) is not before and now.get(name) != before
        ]
        changed += [
            f"{name}: added" for name in now if name not in self._network_settings_
        ]
        if changed:
            raise ValueError(
                f"warm_start=True continues the fitted network, but parameters "
                f"that build it changed since: {'; '.join(changed)}. Set "
                "warm_start=False (or clone the estimator) to train a new network."
            )

    def _check_schedule(self, phases):
        """Refuse, before training, a warm-up that leaves no epoch to decay
        in, and a user's learning-rate callback under a schedule."""
        if self.lr_schedule == "cosine":
            for phase in phases:
                epochs = getattr(self, phase.epochs)
                if self.warmup_epochs >= epochs:
                    raise ValueError(
                        f"warmup_epochs={self.warmup_epochs} leaves no epoch of "
                        f"the cosine decay: it must be less than {phase.epochs}="
                        f"{epochs}. Lower warmup_epochs, or train more epochs."
                    )
        if self.lr_schedule != "cosine" and not self.warmup_epochs:
            return
        from ._keras._runtime import keras  # TensorFlow's quiet import first

        setters = (
            keras.callbacks.ReduceLROnPlateau,
            keras.callbacks.LearningRateScheduler,
        )
        for callback in self.callbacks or ():
            if not isinstance(callback, setters):
                continue
            if self.lr_schedule == "cosine":
                cause, remedy = (
                    f"lr_schedule='cosine' (the default of {type(self).__name__})",
                    "Pass lr_schedule='constant'",
                )
            else:
                cause, remedy = (
                    f"warmup_epochs={self.warmup_epochs}",
                    "Pass warmup_epochs=0",
                )
            raise ValueError(
                f"callbacks has a {type(callback).__name__}, which sets the "
                f"learning rate, but {cause} already sets it at every step. "
                f"{remedy} to let the callback steer the learning rate."
            )

    def _check_average(self):
        """Warn, before training, when early stopping will discard the
        moving average of the weights."""
        if self.ema_momentum is not None and (
            self.early_stopping and self.restore_best_weights
        ):
            warn_user(
                f"ema_momentum={self.ema_momentum} has no effect with "
                "early_stopping=True and restore_best_weights=True: the best "
                "epoch's weights replace their moving average at the end of "
                "training. Pass restore_best_weights=False to keep the average."
            )

    def _apply_training_settings(self, phase, n_rows, *, restart_schedule):
        """Make a continued phase use this call's training parameters.

        A new optimizer (fresh moment estimates) when ``optimizer``,
        ``momentum``, ``lr_schedule``, ``label_smoothing`` or ``ema_momentum``
        changed, or a warm-up was switched on or off under a constant rate;
        otherwise the same optimizer, with this call's learning rate and,
        for ``fit``, a cosine cycle over this call's epochs (``partial_fit``
        goes on along the current cycle).
        """
        from ._keras._optimizers import compile_model, set_learning_rate

        engine = self.keras_classifier_
        engine.set_params(batch_size=self.batch_size)
        settings = self._compile_settings(phase, n_rows)
        scheduled = getattr(engine.model_.optimizer, "lr_schedule", None) is not None
        wanted = self.lr_schedule == "cosine" or settings["warmup_steps"] > 0
        changed = self._optimizer_settings() != self._optimizer_settings_
        # A warm-up switched on or off under a constant rate needs a schedule
        # made, or dropped (a learning-rate callback sets a plain rate).
        if changed or wanted != scheduled:
            compile_model(engine.model_, **settings)
            self._optimizer_settings_ = self._optimizer_settings()
            return
        set_learning_rate(
            engine.model_.optimizer,
            settings["learning_rate"],
            decay_steps=settings["decay_steps"],
            restart=restart_schedule,
            made_from=self.optimizer,
            warmup_steps=settings["warmup_steps"],
        )

    # -- the training loop --------------------------------------------------------
    def _callbacks(self, epochs):
        """This call's Keras callbacks: ours, then fresh copies of the user's."""
        from ._keras._engine import EpochLog
        from ._keras._runtime import keras

        user = list(self.callbacks or ())
        bad = [c for c in user if not isinstance(c, keras.callbacks.Callback)]
        if bad:
            raise TypeError(
                f"callbacks must be keras.callbacks.Callback instances; got "
                f"{type(bad[0]).__name__}."
            )
        # A diverged fit stops at once instead of training on NaN weights.
        callbacks = [keras.callbacks.TerminateOnNaN()]
        if self.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=self.monitor,
                    patience=self.n_iter_no_change,
                    restore_best_weights=self.restore_best_weights,
                )
            )
        if self.verbose:
            callbacks.append(EpochLog(len(self.history_.get("loss", [])), epochs))
        # Copies: the parameter stays as the user gave it, so clone, pickling
        # and searches see the same callbacks at every fit.
        return callbacks + [copy.deepcopy(c) for c in user]

    def _start_network(self, X):
        """Decide everything a new network is built from."""
        self._seed_ = None if self.random_state is None else self._seed()
        self.pixel_scale_ = self._fit_pixel_scale(X)
        self._network_input_shape = self._input_shape(X)
        self._extractor_model = self._feature_scaling = self._head_model = None
        self._network_settings_ = self._network_settings(X)
        self.history_ = {}

    def _start_phase(self, phase, X):
        """A new engine for ``phase``: a new network (the first phase) or one
        that continues the previous phase's weights, with a new optimizer."""
        engine = self._new_keras_classifier(phase, X.shape[0])
        # Build the model for every class up front: the warm-start fit then
        # trains it even when a batch or a validation split lacks a class. A
        # float32 sample lets later fits pass any dtype.
        n_classes = self.classes_.size
        engine.initialize(
            X[np.zeros(n_classes, dtype=int)].astype(np.float32), np.arange(n_classes)
        )
        engine.set_params(warm_start=True)
        self._initialize_weights(engine.model_, X)
        self.keras_classifier_ = engine
        self._optimizer_settings_ = self._optimizer_settings()
        self._phase_name = phase.name

    def _fitted_model(self, phase):
        """``model_``, raw images in, from the network ``phase`` trained."""
        model = self.keras_classifier_.model_
        if phase.inputs != "features":
            return model
        from ._keras._features import features_then_head

        # The head keeps training (warm starts) in keras_classifier_.
        self._head_model = model
        return features_then_head(
            self._extractor(),
            self._feature_scaling,
            model,
            self._network_input_shape,
        )

    def _run_phase(self, phase, X, y, weights, validation, *, epochs, start, partial):
        """Train ``phase`` for ``epochs`` on validated 2-D ``X`` and encoded
        ``y``: a new engine when ``start``, else the current one continued."""
        from ._keras._batch_norm import recompute_batch_norm
        from ._keras._engine import fit_keras_classifier
        from ._keras._seeding import seeded

        inputs = self._phase_inputs(phase, X)
        if validation is not None:
            validation = (self._phase_inputs(phase, validation[0]), validation[1])
        inputs, y, weights, validation = self._split(inputs, y, weights, validation)
        inputs, y, weights = weighted_rows(inputs, y, weights)
        # A warm start continues the seed sequence instead of replaying it.
        n_done = len(self.history_.get("loss", []))
        with seeded(None if self._seed_ is None else self._seed_ + n_done):
            if start:
                self._start_phase(phase, inputs)
            else:
                self._apply_training_settings(
                    phase, inputs.shape[0], restart_schedule=not partial
                )
            callbacks = self._callbacks(epochs)
            # scikeras encodes X with a FunctionTransformer, which would follow
            # a global transform_output="pandas" and warn at every fit.
            with config_context(transform_output="default"):
                fit_keras_classifier(
                    self.keras_classifier_,
                    inputs,
                    y,
                    epochs=epochs,
                    steps_per_epoch=self._steps_per_epoch(inputs.shape[0]),
                    sample_weight=weights,
                    validation_data=validation,
                    callbacks=callbacks,
                )
        # Batch norm's moving statistics lag the weights (and after a few
        # hundred steps still hold their initial values): set them from the
        # final network's batch statistics on the training images.
        recompute_batch_norm(self.keras_classifier_.model_, inputs, seed=self._seed_)
        self.model_ = self._fitted_model(phase)
        self.callbacks_ = _detached(callbacks)
        self._extend_history(self.keras_classifier_.history_, phase.name)
        self.n_iter_ = len(self.history_["loss"])
        self._check_converged()

    def _phases_from(self, name):
        """The declared phases from the one named ``name`` on: what a warm
        start runs after a fit that ended in phase ``name``."""
        phases = self.training_phases()
        names = [phase.name for phase in phases]
        if name not in names:
            raise ValueError(
                f"warm_start=True continues the fitted network's {name!r} phase, "
                f"but with the current parameters {type(self).__name__} trains "
                f"the phases {names}. Set warm_start=False (or clone the "
                "estimator) to train a new network."
            )
        return phases[names.index(name) :]

    def _fit(self, X, y, *, phases, continued, epochs=None, classes=None, **data):
        """Validate the data once, then run ``phases`` in order; the first
        continues the fitted network when ``continued``."""
        partial = epochs is not None
        self._check_schedule(phases)
        self._check_average()
        X, y = self._validate_X(X, reset=not continued, y=y)
        y = self._encode_labels(y, self.classes_ if continued else classes)
        weights = self._weights(y, data.get("sample_weight"))
        if continued:
            self._check_warm_start(X)
            self._check_pixel_scale(X)
        else:
            self._start_network(X)
        validation = self._validation_data(data.get("X_val"), data.get("y_val"))
        for index, phase in enumerate(phases):
            self._run_phase(
                phase,
                X,
                y,
                weights,
                validation,
                epochs=epochs or getattr(self, phase.epochs),
                start=index > 0 or not continued,
                partial=partial,
            )
        return self

    def _extend_history(self, new, phase):
        """Append one phase's epochs; a metric missing from either side gets NaN.

        ``history_`` stays a table (every list as long as ``loss``) when
        warm starts switch early stopping, and with it the validation
        metrics, on or off. Networks trained in named phases (a head, then
        fine-tuning) also get a ``phase`` column.
        """
        n_old = len(self.history_.get("loss", []))
        n_new = len(new["loss"])
        phases = self.history_.get("phase")
        history = {
            key: self.history_.get(key, [np.nan] * n_old)
            + [float(v) for v in new.get(key, [np.nan] * n_new)]
            for key in sorted((set(self.history_) | set(new)) - {"phase"})
        }
        if phases is not None or phase != "train":
            history["phase"] = (phases or ["train"] * n_old) + [phase] * n_new
        self.history_ = history

    def _check_converged(self):
        loss = self.history_["loss"][-1]
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"{type(self).__name__} diverged: the training loss became {loss} "
                f"in epoch {self.n_iter_} with optimizer={self.optimizer!r}, "
                f"learning_rate={self.learning_rate!r}, "
                f"batch_size={self.batch_size!r}. Training stopped; try a smaller "
                "learning_rate."
            )

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the network on images ``X`` and labels ``y``.

        With ``warm_start=True`` and a fitted model, training continues from the
        current weights, in the phase the network is in (see
        :meth:`training_phases`), for that phase's ``epochs`` more epochs, with
        this call's training parameters: ``epochs``, ``batch_size``,
        ``learning_rate`` (a cosine schedule restarts from it and decays to
        zero over this call's epochs), early stopping, ``class_weight``,
        ``callbacks`` and ``verbose``.
        Changing ``optimizer``, ``momentum``, ``lr_schedule``,
        ``label_smoothing`` or ``ema_momentum`` recompiles the network with a
        new optimizer (its moment estimates reset) on the current weights.
        Changing a parameter that builds the network (its layers,
        ``pixel_scale``, the input shape) raises ``ValueError``.
        ``random_state`` is read only when a new network is built.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, 28, 28)
            Images, flattened or not; uint8 pixels or floats (see
            ``pixel_scale``).
        y : array-like of shape (n_samples,)
            Class labels, integers or strings.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each image in the training loss (multiplied by
            ``class_weight``). Not applied to the validation loss.
        X_val : array-like of shape (n_val, n_features) or (n_val, 28, 28), \
default=None
            Validation images of your own, scored after every epoch
            (``val_loss``, ``val_accuracy`` in ``history_``) and used by early
            stopping instead of a ``validation_fraction`` split of ``X``.
        y_val : array-like of shape (n_val,), default=None
            Labels of ``X_val``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        data = dict(sample_weight=sample_weight, X_val=X_val, y_val=y_val)
        if self.warm_start and hasattr(self, "keras_classifier_"):
            phases = self._phases_from(self._phase_name)
            return self._fit(X, y, phases=phases, continued=True, **data)
        return self._fit(X, y, phases=self.training_phases(), continued=False, **data)

    @fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch, starting from the current weights if fitted.

        A network trained in phases trains its first phase from the first
        call on; later calls continue the phase the network is in.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, 28, 28)
            Images.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class label. Needed on the first call when ``y`` does not
            contain them all; later calls may repeat it, but not change it
            (``ValueError``).
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each image in the training loss.

        Returns
        -------
        self : object
            The classifier, trained one epoch more.
        """
        if hasattr(self, "keras_classifier_"):
            self._check_classes(classes)
            phases = self._phases_from(self._phase_name)[:1]
            continued = True
        else:
            phases, continued = self.training_phases()[:1], False
        return self._fit(
            X,
            y,
            phases=phases,
            continued=continued,
            epochs=1,
            classes=classes,
            sample_weight=sample_weight,
        )

    # -- prediction ---------------------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities from the network's softmax output.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, 28, 28)
            Images.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        check_is_fitted(self)
        X, _ = self._validate_X(X, reset=False)
        # Test-time augmentation: the mean of each view's probabilities.
        proba = np.mean(
            [self._outputs(self._prepare(view)) for view in self._test_time_views(X)],
            axis=0,
            dtype=np.float64,
        )
        return proba / proba.sum(axis=1, keepdims=True)

    def _on_features(self):
        """Whether ``model_`` is the frozen extractor, the features' scaling
        and the head that trained on them, with their very layers."""
        from ._keras._features import is_features_then_head

        head = getattr(self, "_head_model", None)
        extractor = getattr(self, "_extractor_model", None)
        return is_features_then_head(self.model_, extractor, head)

    def _outputs(self, images):
        """``model_``'s outputs for prepared ``images``.

        A head on a frozen extractor predicts as it trained: the extractor's
        features, standardized, then the head. The extractor traced its graph
        in ``fit`` (and serves the other networks that share it), where
        ``model_``, a new model at each fit, would run the backbone again
        eagerly or trace it anew at its first prediction: in a search, at
        every scoring. The layers are the same; ``model_`` standardizes in
        float32, and so agrees to float32 rounding.
        """
        from ._keras._engine import predict_rows
        from ._keras._features import standardized

        if not self._on_features():
            return predict_rows(self.model_, images, rows=self._predict_rows())
        features = self._features(self._extractor_model, images)
        inputs = standardized(features, self._feature_scaling)
        return predict_rows(self._head_model, inputs)

    def predict(self, X):
        """Most probable class of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, 28, 28)
            Images.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, drawn from ``classes_``.
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __getstate__(self):
        # callbacks_ keeps the callbacks that pickle: a CSVLogger keeps its
        # closed file, which does not.
        state = super().__getstate__()
        if "callbacks_" in state:
            state = {**state, "callbacks_": _picklable(state["callbacks_"])}
        if "keras_classifier_" in state:
            from ._keras._engine import seed_states

            model = self.keras_classifier_.model_
            state = {**state, "_seed_states": seed_states(model)}
        if "model_" in state and self._on_features():
            # model_ is the extractor and the head, which the state holds
            # already: rebuilt from them on loading, it shares their layers
            # again, and the backbone is stored once.
            state = {**state, "model_": "features_then_head"}
        return state

    def __setstate__(self, state):
        seeds = state.pop("_seed_states", None)
        super().__setstate__(state)
        if seeds is not None:
            from ._keras._engine import set_seed_states

            set_seed_states(self.keras_classifier_.model_, seeds)
        if isinstance(self.__dict__.get("model_"), str):  # see __getstate__
            from ._keras._features import features_then_head

            self.model_ = features_then_head(
                self._extractor_model,
                self._feature_scaling,
                self._head_model,
                self._network_input_shape,
            )
        if "keras_classifier_" in self.__dict__:
            # Keras saved the output softmax under Keras's name: compute it
            # the package's way again, as in the network that was pickled.
            from ._keras._layers import use_fast_softmax
            from ._keras._runtime import keras

            held = [self.keras_classifier_.model_, *vars(self).values()]
            for model in held:
                if isinstance(model, keras.Model):
                    use_fast_softmax(model)

    def __reduce_ex__(self, protocol):
        # A fitted network's pickle holds Keras objects: rebuild the estimator
        # through the module that imports TensorFlow quietly, before Keras and
        # scikeras import it with their start-up logs. Keras saves the user's
        # own layers and functions by name only, and finds them back only when
        # registered: the pickle carries them by reference (module and name,
        # as for any class), and new_estimator registers them before the state
        # holding the models is unpickled (pickle calls it first).
        reduced = super().__reduce_ex__(protocol)
        import sys

        if "keras" not in sys.modules:  # no Keras object in the state
            return reduced
        from ._keras._custom_objects import custom_objects

        objects = custom_objects(reduced[2], owner=type(self).__name__)
        if not objects and not hasattr(self, "keras_classifier_"):
            return reduced
        from ._keras._engine import new_estimator

        args = (type(self), objects) if objects else (type(self),)
        return (new_estimator, args, *reduced[2:])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags
