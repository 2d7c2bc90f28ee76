"""Convolutional network classifier and the architectures users study."""

from numbers import Integral, Real

from ._docstrings import fill_doc
from ._images import image_shape, test_time_views, whitening_filters
from ._keras._names import ACTIVATIONS, INITIALIZERS
from ._network import BaseKerasClassifier, int_tuple
from ._sklearn_compat import Interval, StrOptions
from ._warn import warn_user

# Named starting points: the networks of the studies our users reproduce, and
# the budget-sized ones measured in benchmarks/bench_conv.py. Each is a dict of
# constructor parameters; pass it to ConvNetClassifier.from_preset.
PRESETS = {
    # The "Fashion-MNIST with tf.keras" tutorial network: two 2x2 convolutions
    # with max pooling and dropout, dense 256.
    "tf_tutorial": dict(
        filters=(64, 32),
        kernel_size=2,
        conv_dropout=0.3,
        dense_units=(256,),
        dropout=0.5,
    ),
    # Two conv + pool blocks and a dense layer of 128.
    "two_block": dict(filters=(32, 64), dense_units=(128,)),
    # Three convolutions with batch norm, dropout and L2 on the dense layer.
    "three_conv_bn": dict(
        filters=(32, 64, 128),
        batch_norm=True,
        conv_dropout=0.25,
        dense_units=(128,),
        dropout=0.4,
        l2=1e-4,
    ),
    # The grouped 3x3 stacks reported at 93.7 %: three blocks of three
    # convolutions, batch norm, dropout 0.2, L2 0.01 — too wide for a CPU budget.
    "grouped": dict(
        filters=(64, 128, 256),
        convs_per_block=3,
        batch_norm=True,
        conv_dropout=0.2,
        dense_units=(256,),
        dropout=0.2,
        l2=0.01,
    ),
    # The same design sized for a 2-core CPU: one convolution at full
    # resolution, two in each later block, random shifts and flips, cosine
    # learning-rate decay. 93.7 % after 20 epochs in benchmarks/bench_conv.py.
    "grouped_small": dict(
        filters=(32, 64, 128),
        convs_per_block=(1, 2, 2),
        batch_norm=True,
        conv_dropout=0.2,
        dense_units=(256,),
        dropout=0.4,
        augmentation="shift_flip",
        lr_schedule="cosine",
        learning_rate=0.003,
        batch_size=128,
        epochs=30,
    ),
    # Fast: two single-convolution blocks with batch norm, for minutes-long runs.
    "fast": dict(
        filters=(32, 64),
        convs_per_block=1,
        batch_norm=True,
        conv_dropout=0.2,
        dense_units=(128,),
        dropout=0.3,
        lr_schedule="cosine",
        learning_rate=0.003,
        batch_size=128,
        epochs=8,
    ),
}
# Derived presets: a base preset's parameters with a few changed.
PRESETS |= {
    # grouped_small trained for a fixed budget of about 5 F (F: the fit time
    # of "fast" on 60,000 images): 17 epochs instead of 30, no dropout in the
    # convolutional blocks (a short run underfits: validation accuracy 94.7 %
    # instead of 94.3 % after 18 epochs), label smoothing, and each image
    # averaged at predict time with its shifts by one pixel and their mirror
    # images (on a validation sixth, seed 0: 94.67 % against 94.52 % with
    # the mirror image alone and 94.38 % with neither). Each block pools its
    # last convolution before that convolution's batch norm and ReLU, as
    # "fast_plus" does: 0.89-0.91 of the epoch time, 94.73 % on that validation
    # sixth against 94.67 % pooling at the end of the block.
    "best_cpu": {
        **PRESETS["grouped_small"],
        "conv_dropout": 0.0,
        "pool_before_activation": True,
        "test_time_augmentation": "shift_flip",
        "label_smoothing": 0.1,
        "epochs": 17,
    },
    # Handwritten digits (MNIST): the "fast" network trained on shifted
    # digits, never mirrored (a mirrored digit is another symbol or none).
    "digits": {**PRESETS["fast"], "augmentation": "shift", "epochs": 10},
}
# "fast" pooled before each block's batch norm and activation, which saves a
# fifth to a quarter of its epoch, and whitened (a frozen first convolution
# that decorrelates 2x2 patches), which costs about a twentieth: a little
# under the time of "fast" (1 F) for its 8 epochs. Half the dropout after the
# convolutional blocks: short runs underfit more than they overfit. Chosen on
# a validation sixth of the training set (10 epochs, before whitening): pooled
# early 93.53 % against 93.27 % for "fast"; dropout 0.1 93.70 % and 93.66 %
# (seeds 0, 1) against 93.58 % and 93.31 % at 0.2, 93.04 % at 0; label
# smoothing 0.1, at no cost in time, 93.65 % and 93.68 % against 93.61 % and
# 93.54 %. Whitened: 94.03 % and 93.83 % in 8 epochs (93.98 % and 93.97 % in
# 10), against 93.65 % and 93.68 % for 10 epochs without it.
PRESETS["fast_plus"] = {
    **PRESETS["fast"],
    "pool_before_activation": True,
    "conv_dropout": 0.1,
    "label_smoothing": 0.1,
    "whitening": 2,
}
# The "best_cpu" network for digits in a budget of about 3 F: shifts but no
# mirroring (so no mirror-image averaging at predict time), 6 epochs: 99.60 %
# on a validation sixth of MNIST's training set. It keeps the pooling at the
# end of each block that those figures were measured with.
PRESETS["digits_best"] = {
    **PRESETS["best_cpu"],
    "pool_before_activation": False,
    "augmentation": "shift",
    "test_time_augmentation": None,
    "epochs": 6,
}


@fill_doc
class ConvNetClassifier(BaseKerasClassifier):
    """Convolutional Keras network as a scikit-learn classifier.

    The network is ``len(filters)`` convolutional blocks followed by a dense
    head. Each block is ``convs_per_block`` convolutions (``Conv2D ->
    [BatchNormalization] -> activation``), then pooling, then dropout; the head
    flattens (or global-average-pools) the feature maps and applies
    ``dense_units`` dense layers and a softmax.

    Images arrive as ``(n, 784)`` rows, ``(n, 28, 28)`` arrays or
    ``(n, 28, 28, 1)`` arrays; rows of a square number of pixels are reshaped to
    square images. The architectures of the classic studies are in
    :data:`fmnist_estimators.CONVNET_PRESETS` and :meth:`from_preset`.

    Parameters
    ----------
    filters : int or tuple of int, default=(32, 64)
        Filters of the convolutions of each block; one block per entry.

    convs_per_block : int or tuple of int, default=1
        Convolutions stacked in each block before pooling (3 for the "grouped"
        3x3 stacks).

    kernel_size : int, default=3
        Height and width of the convolution kernels.

    padding : {"same", "valid"}, default="same"
        Convolution padding.

    pooling : {"max", "avg"} or None, default="max"
        Pooling closing each block; ``None`` for none.

    pool_size : int, default=2
        Pooling window.

    pool_strides : int, default=None
        Pooling stride; ``None`` means ``pool_size``. Pooling pads ("same") so
        small images never shrink to nothing.

    pool_before_activation : bool, default=False
        Pool the output of each block's last convolution before its batch
        norm and activation rather than at the end of the block, so that they
        run on a quarter of the values (2x2 pooling): ``"fast"``'s training
        epoch takes three quarters to four fifths of the time. Max pooling commutes
        with ReLU, but batch norm's statistics become those of the pooled
        values: another network, whose accuracy is measured anew (the same
        for ``"fast"`` on a validation split). ``"fast_plus"`` and
        ``"best_cpu"`` use it (``"best_cpu"``'s epoch takes about 0.9 of the
        time: most of its convolutions are not followed by pooling).

    global_pooling : bool, default=False
        Global average pooling instead of flattening before the dense head:
        far fewer parameters.

    conv_activation : str, default="relu"
        Activation of the convolutions (same names as ``dense_activation``).

    batch_norm : bool, default=False
        Batch normalization after every convolution and dense layer.

    conv_dropout : float, default=0.0
        Dropout after each block.

    dense_units : int or tuple of int, default=(128,)
        Units of the dense layers of the head; ``()`` for none.

    dense_activation : {"relu", "tanh", "sigmoid", "hard_sigmoid", "linear", \
"elu", "selu", "leaky_relu", "gelu", "swish"}, default="relu"
        Activation of the dense layers.

    dropout : float, default=0.0
        Dropout after each dense layer.

    l2 : float, default=0.0
        L2 penalty on the dense layers' weights.

    kernel_initializer : str or float, default="glorot_uniform"
        Weight initializer for every layer (see :class:`DenseNetClassifier`).

    augmentation : {"shift", "shift_flip"} or None, default=None
        Random training-time augmentation: shifts of up to 2 pixels, and with
        ``"shift_flip"`` also horizontal flips. Inactive at predict time.

    cutout : int, default=0
        Side, in pixels, of a square set to zero at a random place of each
        training image, after ``augmentation`` (Cutout, DeVries and Taylor,
        2017); the square is centred on a random pixel, so near an edge only
        part of it is on the image. ``0`` turns it off. Inactive at predict
        time. See :ref:`augmentation` in the user guide.

    whitening : int, default=0
        Side, in pixels, of the patches of a frozen first convolution that
        whitens them (as airbench does): its filters are the eigenvectors of
        the patches' covariance, each divided by the square root of its
        eigenvalue, and their negatives (``2 * whitening**2 * channels``
        filters, followed by ``conv_activation``), computed from up to 5,000
        training images when the network is built, and never trained. The
        first block then learns from decorrelated patches, which speeds up
        the first epochs. ``0`` turns it off. See :ref:`whitening` in the
        user guide.

    test_time_augmentation : {"flip", "shift", "shift_flip"} or None, default=None
        ``predict_proba`` averages the probabilities of several views of
        each image: with ``"flip"`` the image and its mirror image (twice the
        prediction time), with ``"shift"`` the image and its eight shifts by
        at most one pixel along each axis (nine times), with ``"shift_flip"``
        those nine and their mirror images (eighteen times). Only for a
        network trained on such views (``augmentation="shift_flip"``, or
        ``"shift"`` for ``"shift"``): Fashion-MNIST's shoes all face one way,
        and a network that never saw them mirrored misreads them; predict
        warns otherwise. Mirror images are not for digits. See
        :ref:`augmentation` in the user guide.

    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the images when
        ``X`` is given flattened and is not square; inferred otherwise.

    learning_rate : float, default=None
        Optimizer step size. ``None`` keeps the Keras default of the chosen
        optimizer (0.001 for Adam, 0.01 for SGD).

    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"cosine"`` decays the learning rate from ``learning_rate`` to zero
        over the ``epochs`` of each ``fit`` call (Keras cosine decay).

    {training_parameters}

    Attributes
    ----------
    {fitted_attributes}

    See Also
    --------
    DenseNetClassifier : Fully connected network with the same training options.

    Examples
    --------
    >>> from fmnist_estimators import ConvNetClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> clf = ConvNetClassifier(filters=(8,), dense_units=(16,), epochs=1,
    ...                         random_state=0).fit(X[:500], y[:500])
    >>> clf.predict_proba(X[:2]).shape
    (2, 10)
    >>> fast = ConvNetClassifier.from_preset("fast", epochs=1)
    >>> fast.batch_norm
    True
    """

    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        "filters": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "convs_per_block": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"same", "valid"})],
        "pooling": [StrOptions({"max", "avg"}), None],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
        "pool_strides": [Interval(Integral, 1, None, closed="left"), None],
        "pool_before_activation": ["boolean"],
        "global_pooling": ["boolean"],
        "conv_activation": [StrOptions(set(ACTIVATIONS))],
        "batch_norm": ["boolean"],
        "conv_dropout": [Interval(Real, 0, 1, closed="left")],
        "dense_units": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "dense_activation": [StrOptions(set(ACTIVATIONS))],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "l2": [Interval(Real, 0, None, closed="left")],
        "kernel_initializer": [
            StrOptions(set(INITIALIZERS)),
            Interval(Real, 0, None, closed="neither"),
        ],
        "augmentation": [StrOptions({"shift", "shift_flip"}), None],
        "cutout": [Interval(Integral, 0, None, closed="left")],
        "whitening": [Interval(Integral, 0, None, closed="left")],
        "test_time_augmentation": [StrOptions({"flip", "shift", "shift_flip"}), None],
        "image_shape": ["array-like", None],
    }

    def __init__(
        self,
        filters=(32, 64),
        *,
        convs_per_block=1,
        kernel_size=3,
        padding="same",
        pooling="max",
        pool_size=2,
        pool_strides=None,
        pool_before_activation=False,
        global_pooling=False,
        conv_activation="relu",
        batch_norm=False,
        conv_dropout=0.0,
        dense_units=(128,),
        dense_activation="relu",
        dropout=0.0,
        l2=0.0,
        kernel_initializer="glorot_uniform",
        augmentation=None,
        cutout=0,
        whitening=0,
        test_time_augmentation=None,
        image_shape=None,
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
        self.filters = filters
        self.convs_per_block = convs_per_block
        self.kernel_size = kernel_size
        self.padding = padding
        self.pooling = pooling
        self.pool_size = pool_size
        self.pool_strides = pool_strides
        self.pool_before_activation = pool_before_activation
        self.global_pooling = global_pooling
        self.conv_activation = conv_activation
        self.batch_norm = batch_norm
        self.conv_dropout = conv_dropout
        self.dense_units = dense_units
        self.dense_activation = dense_activation
        self.dropout = dropout
        self.l2 = l2
        self.kernel_initializer = kernel_initializer
        self.augmentation = augmentation
        self.cutout = cutout
        self.whitening = whitening
        self.test_time_augmentation = test_time_augmentation
        self.image_shape = image_shape
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

    @classmethod
    def from_preset(cls, name, **params):
        """Classifier with the parameters of a named architecture.

        Parameters
        ----------
        name : str
            A key of :data:`fmnist_estimators.CONVNET_PRESETS`: ``"tf_tutorial"``,
            ``"two_block"``, ``"three_conv_bn"``, ``"grouped"``,
            ``"grouped_small"``, ``"best_cpu"``, ``"fast"`` or ``"fast_plus"``
            for clothes; ``"digits"`` or ``"digits_best"`` for handwritten digits.
        **params
            Constructor parameters overriding the preset's.

        Returns
        -------
        ConvNetClassifier
            An unfitted classifier.

        Examples
        --------
        >>> from fmnist_estimators import ConvNetClassifier
        >>> ConvNetClassifier.from_preset("grouped", epochs=3).convs_per_block
        3
        """
        if name not in PRESETS:
            raise ValueError(
                f"Unknown preset {name!r}; choose one of {sorted(PRESETS)}."
            )
        return cls(**{**PRESETS[name], **params})

    def _input_shape(self, X):
        shape = self.image_shape
        if shape is None and self._image_shape is not None:
            shape = self._image_shape
        full = image_shape(X.shape[1], shape)
        if shape is None and full[1:] == (1, 1) and X.shape[1] > 1:
            warn_user(
                f"X has {X.shape[1]} features per image, which are not a square "
                "image: the network convolves them as one column of pixels. "
                "Pass image_shape=(height, width), or X as (n_samples, height, "
                "width) arrays."
            )
        return full

    def _test_time_views(self, X):
        if self.test_time_augmentation is None:
            return [X]
        return test_time_views(
            X, self._network_input_shape, self.test_time_augmentation, self.augmentation
        )

    def _initialize_weights(self, model, inputs):
        if not self.whitening:
            return
        from ._keras._layers import whitening_layer

        height, width = inputs.shape[1:3]
        if self.whitening > min(height, width):
            raise ValueError(
                f"whitening={self.whitening} whitens patches larger than the "
                f"{height} x {width} images; use at most {min(height, width)}."
            )
        filters = whitening_filters(
            inputs, self.whitening, scale=self.pixel_scale_, seed=self._seed_
        )
        whitening_layer(model).set_weights([filters])

    def _network_builder(self, phase=None):
        from ._keras._layers import conv_net

        filters = int_tuple(self.filters, "filters")
        return conv_net, {
            "filters": filters,
            "convs_per_block": int_tuple(
                self.convs_per_block, "convs_per_block", len(filters)
            ),
            "kernel_size": self.kernel_size,
            "padding": self.padding,
            "pooling": self.pooling,
            "pool_size": self.pool_size,
            "pool_strides": self.pool_strides or self.pool_size,
            "pool_before_activation": self.pool_before_activation,
            "global_pooling": self.global_pooling,
            "conv_activation": self.conv_activation,
            "batch_norm": self.batch_norm,
            "conv_dropout": self.conv_dropout,
            "dense_units": int_tuple(self.dense_units, "dense_units"),
            "activation": self.dense_activation,
            "dropout": self.dropout,
            "l2": self.l2,
            "kernel_initializer": self.kernel_initializer,
            "augmentation": self.augmentation,
            "cutout": self.cutout,
            "whitening": self.whitening,
        }
