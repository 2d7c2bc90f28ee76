"""Pretrained backbone (Keras applications) with a dense head, as a classifier."""

import os
from numbers import Integral, Real

from ._docstrings import fill_doc
from ._images import image_shape
from ._keras._names import BACKBONE_MIN_SIZES
from ._network import BaseKerasClassifier, int_tuple
from ._phases import Phase
from ._sklearn_compat import Interval, StrOptions


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

    trainable : "head", "all", bool or int, default="head"
        What trains: ``"head"`` the head only (frozen backbone, features
        computed once per fit), ``"all"`` the whole network, an int ``N`` the
        head and the top ``N`` layers of the backbone. Keras's spelling works
        too: ``True`` is ``"all"``, ``False`` is ``"head"``. With pretrained weights
        the backbone's batch normalization layers stay frozen (in inference
        mode), as fine-tuning needs; in the fine-tuning phase of
        ``fine_tune_epochs`` they stay frozen whatever the weights.

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

    A frozen backbone is built once per process and shared by the networks
    that freeze the same one (same ``backbone``, ``weights``, ``input_size``,
    pixel scaling, and ``random_state`` when ``weights=None``): a search over
    the head does not rebuild it at every fit. Fine-tuning networks build
    their own. Treat ``model_.get_layer("features")`` as read-only.
    Predictions of a network with a frozen backbone run the shared backbone,
    then the head (``model_``'s own layers), rather than compiling each
    fitted ``model_`` anew.

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
            "boolean",
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
        warmup_epochs=0.0,
        ema_momentum=None,
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
        self.warmup_epochs = warmup_epochs
        self.ema_momentum = ema_momentum
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

    # -- the phases it declares ---------------------------------------------------
    def _trainable(self):
        """``trainable`` with Keras's booleans read as Keras reads them."""
        if self.trainable is True:
            return "all"
        if self.trainable is False or self.trainable == 0:
            return "head"
        return self.trainable

    def training_phases(self):
        """The head on the frozen backbone's features, then fine-tuning.

        ``[head]`` with a frozen backbone; ``[train]`` (the whole network, on
        images) for ``trainable="all"`` or ``N`` without ``fine_tune_epochs``;
        ``[head, fine_tune]`` with ``fine_tune_epochs``, where the search
        resource and a warm start's epochs are ``fine_tune_epochs``.

        Returns
        -------
        phases : list of Phase
            The phases ``fit`` runs, in order.
        """
        trainable = self._trainable()
        head = Phase("head", trainable="head", inputs="features")
        if not self.fine_tune_epochs:
            return [head] if trainable == "head" else [Phase("train", trainable)]
        if trainable == "head":
            raise ValueError(
                f"fine_tune_epochs={self.fine_tune_epochs} unfreezes the backbone "
                f"after the head's epochs, but trainable={self.trainable!r} keeps "
                "it frozen: pass trainable='all' or the number of top layers to "
                "fine-tune."
            )
        fine_tune = Phase(
            "fine_tune",
            trainable,
            epochs="fine_tune_epochs",
            learning_rate="fine_tune_learning_rate",
        )
        return [head, fine_tune]

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

    def _backbone_params(self, trainable):
        return {
            "backbone": self.backbone,
            "weights": self.weights,
            "input_size": self._input_size(),
            "trainable": trainable,
        }

    def _input_shape(self, X):
        return image_shape(X.shape[1], self._image_shape)

    def _network_builder(self, phase):
        from ._keras._backbones import head_net, pretrained_net

        head = {
            "dense_units": int_tuple(self.dense_units, "dense_units"),
            "dropout": self.dropout,
        }
        if phase.inputs == "features":
            return head_net, head
        params = {**self._backbone_params(phase.trainable), **head}
        if phase.name == "fine_tune":  # continue the head phase's network
            params.update(
                features=self._own_extractor().get_layer("features"),
                scaling=self._feature_scaling,
                head=self._head_model,
            )
        return pretrained_net, params

    def _network_identity(self):
        # The head alone does not name the backbone: add what builds it, so
        # that a warm start refuses a changed backbone.
        params = self._backbone_params(self._trainable())
        return {f"backbone__{name}": value for name, value in params.items()}

    def _feature_extractor(self):
        """The frozen backbone behind pixel scaling (its inner model is the
        layer named ``"features"``, which a fine-tuning phase unfreezes).

        Built once per process and shared when no phase trains it and it is
        the same at every build (seeded, or with weights that set it all).
        """
        from ._keras._backbones import (
            feature_extractor,
            image_features,
            shared_extractor,
            weights_identity,
        )

        shape = self._network_input_shape

        def build():
            features = image_features(shape, **self._backbone_params("head"))
            return feature_extractor(features, shape, self.pixel_scale_)

        # What sets every weight: the seed of a random backbone, or the file.
        if self.weights is None:
            weights = None if self._seed_ is None else ("random", self._seed_)
        else:
            weights = weights_identity(self.weights)
        trains_backbone = any(p.trainable != "head" for p in self.training_phases())
        if trains_backbone or weights is None:
            return build()
        key = (self.backbone, weights, self._input_size(), shape, self.pixel_scale_)
        return shared_extractor(key, build)

    def _own_extractor(self):
        """The extractor, which a fine-tuning phase is about to train: never
        one that other networks share."""
        from ._keras._backbones import is_shared

        extractor = self._extractor()
        if is_shared(extractor):  # a guard: training_phases() decides above
            raise RuntimeError(
                "A fine-tuning phase would train a backbone shared with other "
                "networks; please report this as a bug."
            )
        return extractor

    def _predict_rows(self):
        from ._keras._backbones import rows_per_call

        return rows_per_call(self._input_size())
