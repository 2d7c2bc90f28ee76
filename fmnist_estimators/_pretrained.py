"""Pretrained backbone (Keras applications) with a dense head, as a classifier."""

import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._docstrings import fill_doc
from ._images import image_shape
from ._keras._names import BACKBONE_MIN_SIZES
from ._network import BaseKerasClassifier, int_tuple


@fill_doc
class PretrainedNetClassifier(BaseKerasClassifier):
    """Pretrained Keras application with a dense head, as a scikit-learn classifier.

    The backbone is VGG, ResNet, Inception, MobileNet or EfficientNet. Transfer
    learning on Fashion-MNIST: each grayscale image is resized inside
    the network to ``input_size`` x ``input_size``, repeated to three channels
    and preprocessed as the backbone expects (``keras.applications.<name>.
    preprocess_input``, as layers); the backbone's globally pooled features,
    standardized with the mean and standard deviation of the network's first
    training images' features, feed a head of ``dense_units`` ReLU layers with
    ``dropout`` and a softmax.

    With a frozen backbone (``trainable="head"``, the default) the backbone's
    features are computed once per ``fit`` call, in batches, and the head
    trains on them: an epoch costs the head's few milliseconds instead of a
    pass through the backbone. Resized images never exist as one array, in
    training or in prediction: they are made a batch at a time inside the
    network.

    Parameters
    ----------
    backbone : {"vgg16", "vgg19", "resnet50", "resnet101", "resnet152", \
"inception_v3", "mobilenet_v2", "efficientnet_b0"}, default="mobilenet_v2"
        The Keras application, without its ImageNet classifier.

    weights : "imagenet", str, path-like or None, default="imagenet"
        ``"imagenet"``: Keras's ImageNet weights, downloaded once into Keras's
        cache (``$KERAS_HOME/models``, by default ``~/.keras/models``). Without
        a network and without a cached file, ``fit`` raises ``OSError`` at
        once with the file's name, its URL and the folder to put it in. A
        path: a weights file saved from the same backbone
        (``save_weights``). ``None``: random initialization. MobileNetV2 has
        ImageNet weights for input sizes 96, 128, 160, 192 and 224; other
        sizes get the 224 ones, as in Keras.

    input_size : int, default=None
        Height and width the images are resized to. ``None``: the smallest
        the backbone accepts (75 for Inception V3, 32 for the others).
        Larger sizes cost quadratically more and often transfer better.

    trainable : "head", "all" or int, default="head"
        What trains: ``"head"`` the head only (frozen backbone, features
        computed once per fit), ``"all"`` the whole network, an int ``N`` the
        head and the top ``N`` layers of the backbone. With pretrained weights
        the backbone's batch normalization layers stay frozen (in inference
        mode), as fine-tuning needs.

    fine_tune_epochs : int, default=0
        The two-phase schedule: when > 0, ``fit`` first trains the head on the
        frozen backbone's features for ``epochs`` epochs at ``learning_rate``,
        then unfreezes the backbone as ``trainable`` says (``"all"`` or an
        int; not ``"head"``) and trains the whole network for
        ``fine_tune_epochs`` more at ``fine_tune_learning_rate``, with a new
        optimizer. ``history_`` holds both phases. A warm-started ``fit``
        then continues fine-tuning for ``fine_tune_epochs`` epochs; a
        ``partial_fit`` that starts a network trains the first phase only.

    fine_tune_learning_rate : float, default=1e-5
        Step size of the fine-tuning phase: small, so the pretrained weights
        move little.

    dense_units : int or tuple of int, default=(256,)
        Units of the head's ReLU layers; ``()`` for a softmax on the features.

    dropout : float, default=0.5
        Dropout after each of the head's layers.

    learning_rate : float, default=None
        Optimizer step size (of the first phase with ``fine_tune_epochs``).
        ``None`` keeps the Keras default of the chosen optimizer (0.001 for
        Adam, 0.01 for SGD).

    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"cosine"`` decays the learning rate to zero over each phase.

    {training_parameters}

    Attributes
    ----------
    {fitted_attributes}

    See Also
    --------
    ConvNetClassifier : A convolutional network trained from scratch.
    KerasModelClassifier : Your own Keras network.

    Notes
    -----
    ``model_`` is the whole network, raw pixels in: ``pixel_scale``, the
    ``features`` model (reshape, resize, three channels, preprocessing,
    backbone) and the head. ``keras_classifier_`` trains the head alone
    (on features) when the backbone is frozen.

    Examples
    --------
    >>> from fmnist_estimators import PretrainedNetClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> clf = PretrainedNetClassifier("mobilenet_v2", weights=None,
    ...                               dense_units=(32,), epochs=1,
    ...                               random_state=0)
    >>> clf.fit(X[:300], y[:300]).predict_proba(X[:2]).shape
    (2, 10)
    """

    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        "backbone": [StrOptions(set(BACKBONE_MIN_SIZES))],
        "weights": [str, os.PathLike, None],
        "input_size": [Interval(Integral, 1, None, closed="left"), None],
        "trainable": [
            StrOptions({"head", "all"}),
            Interval(Integral, 0, None, closed="left"),
        ],
        "fine_tune_epochs": [Interval(Integral, 0, None, closed="left")],
        "fine_tune_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "dense_units": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
    }

    def __init__(
        self,
        backbone="mobilenet_v2",
        *,
        weights="imagenet",
        input_size=None,
        trainable="head",
        fine_tune_epochs=0,
        fine_tune_learning_rate=1e-5,
        dense_units=(256,),
        dropout=0.5,
        optimizer="adam",
        learning_rate=None,
        momentum=0.9,
        lr_schedule="constant",
        batch_size=32,
        epochs=10,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        monitor="val_loss",
        restore_best_weights=True,
        label_smoothing=0.0,
        class_weight=None,
        callbacks=None,
        pixel_scale="auto",
        random_state=None,
        warm_start=False,
        verbose=0,
    ):
        self.backbone = backbone
        self.weights = weights
        self.input_size = input_size
        self.trainable = trainable
        self.fine_tune_epochs = fine_tune_epochs
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.dense_units = dense_units
        self.dropout = dropout
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.monitor = monitor
        self.restore_best_weights = restore_best_weights
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.callbacks = callbacks
        self.pixel_scale = pixel_scale
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    # -- what trains, phase by phase ------------------------------------------------
    # "head": the head on features of the frozen backbone, computed once per
    # call; "network": the whole network on images; "fine_tune": the same,
    # continuing a "head" phase's weights at fine_tune_learning_rate.

    def _frozen(self):
        return self.trainable == "head" or self.trainable == 0

    def _first_phase(self):
        return "head" if self._frozen() or self.fine_tune_epochs else "network"

    def _current_phase(self):
        return getattr(self, "_phase", None) or self._first_phase()

    def _phase_training(self):
        """``(epochs, learning_rate)`` of the current phase."""
        if self._current_phase() == "fine_tune":
            return self.fine_tune_epochs, self.fine_tune_learning_rate
        return self.epochs, self.learning_rate

    def _input_size(self):
        minimum = BACKBONE_MIN_SIZES[self.backbone]
        size = minimum if self.input_size is None else self.input_size
        if size < minimum:
            raise ValueError(
                f"input_size={size} is below the smallest input of "
                f"backbone={self.backbone!r}, {minimum} pixels; pass at least "
                f"{minimum}, or None."
            )
        return size

    def _check_schedule(self):
        if self.fine_tune_epochs and self._frozen():
            raise ValueError(
                f"fine_tune_epochs={self.fine_tune_epochs} unfreezes the backbone "
                f"after the head's epochs, but trainable={self.trainable!r} keeps "
                "it frozen: pass trainable='all' or the number of top layers to "
                "fine-tune."
            )

    def _backbone_params(self):
        return {
            "backbone": self.backbone,
            "weights": self.weights,
            "input_size": self._input_size(),
            "trainable": self.trainable,
        }

    # -- hooks of BaseKerasClassifier ------------------------------------------------
    def _image_input_shape(self):
        """Shape of one image as ``model_`` takes it (validated data set both)."""
        return image_shape(self.n_features_in_, self._image_shape)

    def _input_shape(self, X):
        if self._current_phase() == "head":
            return tuple(self._extractor().outputs[0].shape[1:])
        return self._image_input_shape()

    def _network_builder(self):
        from ._keras._backbones import head_net, pretrained_net

        head = {
            "dense_units": int_tuple(self.dense_units, "dense_units"),
            "dropout": self.dropout,
        }
        phase = self._current_phase()
        if phase == "head":
            return head_net, head
        params = {**self._backbone_params(), **head}
        if phase == "fine_tune":
            params.update(
                features=self._features, scaling=self._scaling, head=self._head
            )
        return pretrained_net, params

    def _network_settings(self, X):
        # The head alone does not name the backbone: add what builds it, so
        # that a warm start refuses a changed backbone.
        return {
            **super()._network_settings(X),
            **{f"backbone__{k}": v for k, v in self._backbone_params().items()},
            "phase": self._current_phase(),
        }

    def _start_network(self, X):
        if not getattr(self, "_starting_fine_tune", False):
            self._phase = self._first_phase()
            self._features = self._head = self._extractor_model = None
            self._scaling = None
        super()._start_network(X)

    def _extractor(self):
        """The frozen backbone behind pixel scaling, built once per network."""
        if getattr(self, "_extractor_model", None) is None:
            from ._keras._backbones import feature_extractor, image_features
            from ._keras._runtime import seeded

            shape = self._image_input_shape()
            # Frozen for now (a fine-tuning phase unfreezes it); seeded, so that
            # a random backbone repeats with random_state.
            params = {**self._backbone_params(), "trainable": "head"}
            with seeded(self._seed_):
                self._features = image_features(shape, **params)
            self._extractor_model = feature_extractor(
                self._features, shape, self.pixel_scale_
            )
        return self._extractor_model

    def _prepare(self, X):
        # model_ takes images in every phase, whatever the engine trains.
        if X.dtype != np.uint8 and X.dtype != np.float32:
            X = X.astype(np.float32)
        return X.reshape((X.shape[0],) + self._image_input_shape())

    def _training_inputs(self, X):
        if self._current_phase() != "head":
            return self._prepare(X)
        from ._keras._backbones import feature_scaling
        from ._keras._engine import predict_rows

        # Once per fit call: every epoch of the head reuses these features,
        # computed a few images at a time (resized images never exist whole).
        features = predict_rows(
            self._extractor(), self._prepare(X), rows=self._predict_rows()
        )
        if self._scaling is None:  # the first training images of the network
            self._scaling = feature_scaling(features)
        scale, offset = self._scaling
        return (features * scale + offset).astype(np.float32)

    def _engine_pixel_scale(self):
        # Features are not pixels: the extractor scaled the pixels.
        return 1.0 if self._current_phase() == "head" else self.pixel_scale_

    def _fitted_model(self, model):
        if self._current_phase() != "head":
            return model
        from ._keras._backbones import assemble

        # model_ takes raw images, as every network's does; the head keeps
        # training (warm starts) in keras_classifier_.
        self._head = model
        return assemble(
            self._features,
            self._scaling,
            model,
            self._image_input_shape(),
            self.pixel_scale_,
        )

    def _predict_rows(self):
        from ._keras._backbones import rows_per_call

        return rows_per_call(self._input_size())

    # -- public API ------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None):
        """Train the head, then (with ``fine_tune_epochs``) the network.

        See :meth:`DenseNetClassifier.fit` for warm starts; here a warm
        start continues the last phase, with its epochs and learning rate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, 28, 28)
            Images, flattened or not.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each image in the training loss.
        X_val : array-like of shape (n_val, n_features), default=None
            Validation images scored after every epoch.
        y_val : array-like of shape (n_val,), default=None
            Labels of ``X_val``.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        self._check_schedule()
        data = dict(sample_weight=sample_weight, X_val=X_val, y_val=y_val)
        if self.warm_start and hasattr(self, "keras_classifier_"):
            epochs, _ = self._phase_training()
            return self._train(X, y, epochs=epochs, continue_training=True, **data)
        self._starting_fine_tune = False
        self._train(X, y, epochs=self.epochs, **data)
        if not self.fine_tune_epochs:
            return self
        history = self.history_
        self._phase, self._starting_fine_tune = "fine_tune", True
        try:
            self._train(X, y, epochs=self.fine_tune_epochs, **data)
        finally:
            self._starting_fine_tune = False
        fine_tune, self.history_ = self.history_, history
        self._extend_history(fine_tune)
        self.n_iter_ = len(self.history_["loss"])
        return self
