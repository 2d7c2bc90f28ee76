"""A user's own Keras network as a scikit-learn classifier."""

from ._docstrings import fill_doc
from ._images import image_shape
from ._network import BaseKerasClassifier

# Prefix of the network's own arguments among the estimator's parameters.
PREFIX = "model__"


@fill_doc
class KerasModelClassifier(BaseKerasClassifier):
    """Your own Keras network, trained like the package's networks.

    ``model`` builds the network: a function ``model(input_shape, n_classes,
    **params)`` returning an uncompiled ``keras.Model`` whose output has
    ``n_classes`` units, or a ``keras.Model`` (copied with fresh weights for
    every fit, so a search never trains the same weights twice). Any form
    the Keras guides write will do: a functional model, a ``Sequential``
    with or without an ``Input`` (built on ``input_shape``, as Keras builds
    it on the first batch), a subclassed ``keras.Model``. The
    function's own arguments are the estimator's parameters prefixed with
    ``model__`` — ``KerasModelClassifier(small_cnn, model__filters=32)`` —
    so that ``GridSearchCV`` searches them (``{"model__filters": [16, 32]}``)
    and ``clone`` keeps them, as scikeras does. A function that takes a
    ``seed`` argument gets one derived from ``random_state``, for its layers'
    initializers and dropout.

    The estimator adds what every network of the package has: pixel scaling
    in front of the network (``pixel_scale``), compiling with the chosen
    optimizer and schedule, sample and class weights, validation data,
    early stopping, callbacks, warm starts and ``partial_fit``, ``history_``,
    chunked prediction. :class:`DenseNetClassifier` and
    :class:`ConvNetClassifier` are this estimator with a network of ours.

    The network receives images in the shape its input declares: ``(784,)``,
    ``(28, 28)`` or ``(28, 28, 1)``, whichever shape ``X`` came in.
    ``input_shape`` is the images' shape (``(height, width, channels)`` for
    square or unflattened images, else ``(n_features,)``); a network without
    an input of its own receives that shape. An output that is already a
    probability distribution, whatever spelled the softmax
    (``activation="softmax"``, ``tf.nn.softmax``, ``keras.ops.softmax``, a
    ``Softmax`` or ``Activation("softmax")`` layer, a subclassed ``call``),
    is used as it is; where the last layer does not say, the network's
    outputs on a few images decide (rows >= 0 that sum to 1). Any other
    output is taken for logits, and a softmax is added.

    The ``optimizer`` of this estimator may also be a Keras optimizer class
    (``keras.optimizers.Adam``) or instance (``keras.optimizers.Adam(1e-3,
    beta_1=0.8)``), copied from its config for every new network; with
    ``learning_rate=None`` it keeps its own learning rate. Changing ``loss``,
    ``metrics`` or ``optimizer`` between warm-started fits recompiles the
    network with a new optimizer, as for the other training settings.

    Parameters
    ----------
    model : callable or keras.Model, default=None
        The network: a function ``model(input_shape, n_classes, **params)``
        returning an uncompiled ``keras.Model``, or a ``keras.Model``.
        Keras 3 copies and saves a subclassed ``keras.Model`` whose class
        defines no ``get_config`` with its ``__init__``'s default arguments:
        such a model trains when a function builds it, but ``fit`` refuses
        it as an instance, and pickling refuses it in a fitted network, with
        a ``TypeError`` (unless its ``__init__`` takes only ``**kwargs``).
        For ``n_jobs > 1`` and for saving the fitted estimator, the function
        and the network's own layer classes and functions must be importable
        (defined at module level): pickling raises a ``TypeError`` for one
        defined inside a function.

    learning_rate : float, default=None
        Optimizer step size; ``None`` keeps the Keras default of the chosen
        optimizer (0.001 for Adam, 0.01 for SGD).

    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"cosine"`` decays the learning rate from ``learning_rate`` to zero
        over the ``epochs`` of each ``fit`` call.

    loss : str, keras.losses.Loss, callable or None, default=None
        The training loss, as for ``keras.Model.compile``; ``None`` is the
        sparse categorical cross-entropy (with ``label_smoothing``). The loss
        receives the labels encoded as ``0 .. n_classes - 1`` (one-hot for
        ``"categorical_crossentropy"``, as scikeras encodes them) and the
        network's probabilities. A function must be importable (module
        level) for the fitted estimator to pickle.

    metrics : list or None, default=None
        Extra Keras metrics (names, ``keras.metrics.Metric`` instances or
        functions), computed after ``accuracy`` in every epoch and recorded
        in ``history_`` under their names.

    {training_parameters}

    **model_params
        The network's own arguments, each prefixed with ``model__``; passed
        to ``model`` without the prefix.

    Attributes
    ----------
    {fitted_attributes}

    See Also
    --------
    DenseNetClassifier : The package's fully connected network.
    ConvNetClassifier : The package's convolutional network.

    Examples
    --------
    >>> import keras
    >>> from fmnist_estimators import KerasModelClassifier
    >>> from fmnist_estimators.datasets import load_fashion_mnist_sample
    >>> def small_cnn(input_shape, n_classes, filters=8):
    ...     inputs = keras.Input(input_shape)
    ...     x = keras.layers.Conv2D(filters, 3, activation="relu")(inputs)
    ...     x = keras.layers.GlobalAveragePooling2D()(x)
    ...     outputs = keras.layers.Dense(n_classes, activation="softmax")(x)
    ...     return keras.Model(inputs, outputs)
    >>> X, y = load_fashion_mnist_sample(return_X_y=True)
    >>> clf = KerasModelClassifier(small_cnn, model__filters=4, epochs=1,
    ...                            random_state=0)
    >>> clf.fit(X[:500], y[:500]).predict(X[:3]).shape
    (3,)
    >>> clf.get_params()["model__filters"]
    4
    """

    _parameter_constraints: dict = {
        **BaseKerasClassifier._parameter_constraints,
        "model": "no_validation",  # checked at fit, with a clearer message
        # A name, a Keras optimizer class or instance: checked when compiled.
        "optimizer": "no_validation",
        "loss": [str, callable, None],
        "metrics": [list, tuple, None],
    }
    _network_param_prefix = PREFIX

    def __init__(
        self,
        model=None,
        *,
        optimizer="adam",
        learning_rate=None,
        momentum=0.9,
        lr_schedule="constant",
        warmup_epochs=0.0,
        ema_momentum=None,
        loss=None,
        metrics=None,
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
        **model_params,
    ):
        self.model = model
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.ema_momentum = ema_momentum
        self.loss = loss
        self.metrics = metrics
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
        # Kept whole, validated at fit: scikit-learn's estimators store their
        # parameters as given, and a private dict keeps these names out of
        # the attributes that scikit-learn expects to match __init__'s.
        self._model_params = model_params

    # The model__ parameters are not in __init__'s signature, so scikit-learn's
    # get_params would not list them: add them, as scikeras does. clone then
    # passes them back to __init__ as keyword arguments.
    def get_params(self, deep=True):
        params = super().get_params(deep=deep)
        params.update(self._model_params)
        return params

    def set_params(self, **params):
        for name in [name for name in params if name.startswith(PREFIX)]:
            self._model_params[name] = params.pop(name)
        return super().set_params(**params)

    def _optimizer_settings(self):
        if self.loss is not None and self.label_smoothing:
            raise ValueError(
                f"label_smoothing={self.label_smoothing} smooths the package's "
                f"loss, but loss={self.loss!r} replaces it: give your loss its "
                "own smoothing (e.g. keras.losses.CategoricalCrossentropy("
                "label_smoothing=0.1)), or leave loss=None."
            )
        # A loss and metrics of the user's compile with the optimizer: changing
        # them in a warm start recompiles, as changing the optimizer does.
        return {
            **super()._optimizer_settings(),
            "loss": self.loss,
            "metrics": self.metrics,
        }

    def _network_builder(self, phase=None):
        model = self.model
        if model is None or not callable(model):
            raise TypeError(
                "model must be a function returning a keras.Model, or a "
                f"keras.Model; got {type(model).__name__}."
            )
        unprefixed = [
            name for name in self._model_params if not name.startswith(PREFIX)
        ]
        if unprefixed:
            name = unprefixed[0]
            raise TypeError(
                f"KerasModelClassifier got an unexpected parameter {name!r}; the "
                f"network's own arguments take the prefix {PREFIX!r}: "
                f"{PREFIX}{name}."
            )
        params = {
            name[len(PREFIX) :]: value for name, value in self._model_params.items()
        }
        return model, params

    def _input_shape(self, X):
        if self._image_shape is not None:
            return image_shape(X.shape[1], self._image_shape)
        shape = image_shape(X.shape[1])
        return shape if shape[1] > 1 else (X.shape[1],)
