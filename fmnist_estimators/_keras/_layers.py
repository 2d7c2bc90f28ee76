"""Layer builders: the networks of DenseNetClassifier and ConvNetClassifier.

Each network is a function ``(input_shape, n_classes, **architecture,
pixel_scale, seed) -> keras.Model``, the same contract as a user's own
network under :class:`~fmnist_estimators.KerasModelClassifier`. Taking
``pixel_scale``, they put the scaling layer first themselves, so that the
fitted ``model_`` is one flat model; the engine compiles.
"""

from numbers import Real

from ._private import available, fused_batch_norm, mark_logits
from ._runtime import keras, register, tf
from ._seeding import seed_source

# Batch-norm running statistics: Keras's default momentum of 0.99 needs
# hundreds of steps to forget its initial values. The engine recomputes the
# statistics after each fit anyway (recompute_batch_norm); 0.9 keeps the ones
# seen during training (validation scores) close to them.
BN_MOMENTUM = 0.9


@register
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras's batch norm, computed by TensorFlow's fused kernel where it can.

    Keras 3 normalizes with separate moment, subtract and scale ops, and their
    gradients, several passes over every activation: on a CPU that made batch
    norm a third of the ``fast`` CNN's training step. TensorFlow's fused op
    (oneDNN on x86) does it in one pass each way, for the same result up to
    float32 rounding. Used for channels-last input of rank 2 or 4 without a
    mask, the only kind our networks feed it; anything else, or a TensorFlow
    without the fused op (see :mod:`._private`), takes Keras's path.
    Same weights, config and moving-average update as the parent, so
    ``recompute_batch_norm`` and saved models treat both alike.
    """

    def call(self, inputs, training=None, mask=None):
        rank = len(inputs.shape)
        if (
            mask is not None
            or rank not in (2, 4)
            or self.axis not in (-1, rank - 1)
            # Older Keras (3.7) has no batch renormalization.
            or getattr(self, "renorm", False)
            or self.synchronized
            or inputs.dtype != tf.float32
            or not available("tf.compat.v1.nn.fused_batch_norm")
        ):
            return super().call(inputs, training=training, mask=mask)
        x = tf.reshape(inputs, (-1, 1, 1, inputs.shape[-1])) if rank == 2 else inputs
        channels = x.shape[-1]
        gamma = self.gamma if self.scale else tf.ones((channels,), x.dtype)
        beta = self.beta if self.center else tf.zeros((channels,), x.dtype)
        if training and self.trainable:
            y, mean, variance = fused_batch_norm(
                x, gamma, beta, epsilon=self.epsilon, is_training=True
            )
            # The op returns the unbiased variance; Keras averages the biased one.
            n = tf.cast(tf.size(x) // channels, x.dtype)
            variance = variance * (n - 1.0) / tf.maximum(n, 2.0)
            self.moving_mean.assign(
                self.moving_mean * self.momentum + mean * (1.0 - self.momentum)
            )
            self.moving_variance.assign(
                self.moving_variance * self.momentum + variance * (1.0 - self.momentum)
            )
        else:
            y, _, _ = fused_batch_norm(
                x,
                gamma,
                beta,
                mean=self.moving_mean,
                variance=self.moving_variance,
                epsilon=self.epsilon,
                is_training=False,
            )
        return tf.reshape(y, tf.shape(inputs)) if rank == 2 else y


def initializer(spec, seed=None):
    """Keras initializer from a name, or a float read as a normal's std."""
    if isinstance(spec, Real) and not isinstance(spec, bool):
        return keras.initializers.RandomNormal(stddev=float(spec), seed=seed)
    # Keras spells Glorot "xavier" nowhere; the studies our users copy do.
    name = {"xavier_uniform": "glorot_uniform", "xavier_normal": "glorot_normal"}
    name = name.get(spec, spec)
    if seed is None or name in ("zeros", "ones"):
        return keras.initializers.get(name)
    # From a config: an instance made without a seed would draw one from
    # Python's global `random` (see seed_source).
    return keras.initializers.get({"class_name": name, "config": {"seed": seed}})


def scale_pixels(x, pixel_scale):
    """The network's first layer: pixels times ``pixel_scale`` (none for 1)."""
    if pixel_scale == 1.0:
        return x
    return keras.layers.Rescaling(pixel_scale, name="pixel_scale")(x)


def dense_block(
    x, units, *, activation, dropout, batch_norm, kernel_initializer, l2, next_seed
):
    """Dense -> [batch norm] -> activation -> [dropout], as the studies stack them."""
    x = keras.layers.Dense(
        units,
        kernel_initializer=initializer(kernel_initializer, next_seed()),
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
        use_bias=not batch_norm,
    )(x)
    if batch_norm:
        x = FusedBatchNormalization(momentum=BN_MOMENTUM)(x)
    x = keras.layers.Activation(activation)(x)
    if dropout:
        x = keras.layers.Dropout(dropout, seed=next_seed())(x)
    return x


def softmax(x):
    """Keras's ``softmax`` activation (last axis), in elementwise operations.

    TensorFlow computes Keras's softmax with its Softmax kernel, which with
    oneDNN (TensorFlow's default on x86) always splits its work over the
    intra-op threads: for a batch of 10 class scores, waking the other
    thread costs more than the softmax. On a 2-core CPU that was about 5 %
    of a small network's training step; the elementwise operations below
    run in the calling thread. The output carries its logits as Keras's
    does, so that the loss is still computed from them. Where Keras no
    longer reads them (see :mod:`._private`), Keras's softmax is used.

    Deliberately not registered with Keras: under Keras's name, a saved
    network names Keras's softmax, the same function, and loads anywhere,
    also where the package is not imported. :func:`use_fast_softmax` puts
    it back in a loaded network.
    """
    if not available("Tensor._keras_logits"):
        return keras.activations.softmax(x)
    exponentials = keras.ops.exp(x - keras.ops.max(x, axis=-1, keepdims=True))
    total = keras.ops.sum(exponentials, axis=-1, keepdims=True)
    return mark_logits(exponentials / total, x)


def use_fast_softmax(model):
    """Make ``model``'s layers with Keras's softmax activation use :func:`softmax`.

    For every network the engine builds (a user's network may use Keras's
    softmax), and for those that come back from Keras's saving (a pickle),
    where :func:`softmax` was saved under Keras's name; nested models
    included. Returns ``model``.
    """
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            use_fast_softmax(layer)
        elif getattr(layer, "activation", None) is keras.activations.softmax:
            layer.activation = softmax
    return model


def softmax_head(x, n_classes, *, kernel_initializer, next_seed):
    """The output layer: ``n_classes`` softmax units."""
    return keras.layers.Dense(
        n_classes,
        activation="softmax",  # computed by softmax(): see use_fast_softmax
        kernel_initializer=initializer(kernel_initializer, next_seed()),
    )(x)


def dense_head(
    inputs, x, n_classes, units, *, kernel_initializer, next_seed, name=None, **block
):
    """``dense_block`` per entry of ``units``, then the softmax: the model.

    ``block`` holds the blocks' other settings (activation, dropout,
    batch_norm, l2).
    """
    for n_units in units:
        x = dense_block(
            x,
            n_units,
            kernel_initializer=kernel_initializer,
            next_seed=next_seed,
            **block,
        )
    outputs = softmax_head(
        x, n_classes, kernel_initializer=kernel_initializer, next_seed=next_seed
    )
    return keras.Model(inputs, outputs, name=name)


def dense_net(
    input_shape,
    n_classes,
    *,
    hidden_layer_sizes,
    activation,
    dropout,
    batch_norm,
    kernel_initializer,
    l2,
    augmentation=None,
    image_shape=None,
    pixel_scale=1.0,
    seed=None,
):
    """Fully connected network: one ``dense_block`` per hidden layer, softmax.

    With ``augmentation``, each training batch is reshaped to ``image_shape``,
    augmented as the convolutional network's, and flattened again.
    """
    next_seed = seed_source(seed)
    inputs = keras.Input(shape=input_shape)
    x = scale_pixels(inputs, pixel_scale)
    if augmentation:
        x = keras.layers.Reshape(image_shape)(x)
        x = keras.layers.Flatten()(_augment(x, augmentation, next_seed))
    return dense_head(
        inputs,
        x,
        n_classes,
        hidden_layer_sizes,
        activation=activation,
        dropout=dropout,
        batch_norm=batch_norm,
        kernel_initializer=kernel_initializer,
        l2=l2,
        next_seed=next_seed,
    )


def _augment(x, augmentation, next_seed):
    height, width = x.shape[1:3]
    x = keras.layers.RandomTranslation(2 / height, 2 / width, seed=next_seed())(x)
    if augmentation == "shift_flip":
        x = keras.layers.RandomFlip("horizontal", seed=next_seed())(x)
    return x


@register
class Cutout(keras.layers.Layer):
    """Cutout (DeVries and Taylor, 2017): a square of zeros on each training image.

    A ``size`` x ``size`` square, centred on a uniformly random pixel (so
    that near an edge only part of it falls on the image), is set to zero in
    each image of a training batch, across all channels; at predict time the
    layer passes images through. Zero is the background of Fashion-MNIST and
    MNIST after pixel scaling. Keras's ``RandomErasing`` draws rectangles of
    random area and noise values, and is not in every Keras we support.
    """

    def __init__(self, size, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training or self.size <= 0:
            return images
        ops = keras.ops
        shape = ops.shape(images)
        # The square's top-left corner, from its centre: one per image.
        per_image, half = (shape[0], 1, 1, 1), self.size // 2
        top = keras.random.randint(per_image, 0, shape[1], seed=self.seed_generator)
        left = keras.random.randint(per_image, 0, shape[2], seed=self.seed_generator)
        top, left = top - half, left - half
        rows = ops.reshape(ops.arange(shape[1]), (1, -1, 1, 1))
        columns = ops.reshape(ops.arange(shape[2]), (1, 1, -1, 1))
        inside = ops.logical_and(
            ops.logical_and(rows >= top, rows < top + self.size),
            ops.logical_and(columns >= left, columns < left + self.size),
        )
        return ops.where(inside, ops.zeros_like(images), images)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "seed": self.seed}


WHITENING = "whitening"


def _whitening(x, size, channels, activation):
    # Zeros until the estimator sets the filters; frozen, so the blocks learn
    # from decorrelated patches from the first step (airbench's first layer).
    x = keras.layers.Conv2D(
        2 * size * size * channels,
        size,
        padding="same",
        use_bias=False,
        kernel_initializer="zeros",
        trainable=False,
        name=WHITENING,
    )(x)
    return keras.layers.Activation(activation)(x)


def whitening_layer(model):
    """The frozen whitening convolution of a :func:`conv_net` ``model``,
    looked for in the models nested in it too; ``None`` if it has none."""
    for layer in model.layers:
        if layer.name == WHITENING:
            return layer
        if isinstance(layer, keras.Model) and (found := whitening_layer(layer)):
            return found
    return None


def conv_net(
    input_shape,
    n_classes,
    *,
    filters,
    convs_per_block,
    kernel_size,
    padding,
    pooling,
    pool_size,
    pool_strides,
    pool_before_activation,
    global_pooling,
    conv_activation,
    batch_norm,
    conv_dropout,
    dense_units,
    activation,
    dropout,
    l2,
    kernel_initializer,
    augmentation,
    cutout=0,
    whitening=0,
    pixel_scale=1.0,
    seed=None,
):
    """Convolutional blocks (convs, pooling, dropout), then a dense head.

    With ``whitening``, a frozen convolution of that size comes first (see
    :func:`whitening_layer`); the estimator sets its filters from the
    training images, once the network is built.
    """
    next_seed = seed_source(seed)
    inputs = keras.Input(shape=input_shape)
    x = scale_pixels(inputs, pixel_scale)
    x = _augment(x, augmentation, next_seed) if augmentation else x
    x = Cutout(cutout, seed=next_seed())(x) if cutout else x
    if whitening:
        x = _whitening(x, whitening, input_shape[-1], conv_activation)
    pool = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}
    # Pooling a block's last convolution before its batch norm and activation
    # leaves them a quarter of the values (2x2 pooling); max pooling commutes
    # with the activation, not with batch norm's statistics.
    pool_early = bool(pooling) and pool_before_activation
    for n_filters, n_convs in zip(filters, convs_per_block):
        for index in range(n_convs):
            x = keras.layers.Conv2D(
                n_filters,
                kernel_size,
                padding=padding,
                kernel_initializer=initializer(kernel_initializer, next_seed()),
                use_bias=not batch_norm,
            )(x)
            if pool_early and index == n_convs - 1:
                x = pool[pooling](pool_size, pool_strides, padding="same")(x)
            if batch_norm:
                x = FusedBatchNormalization(momentum=BN_MOMENTUM)(x)
            x = keras.layers.Activation(conv_activation)(x)
        if pooling and not pool_early:
            x = pool[pooling](pool_size, pool_strides, padding="same")(x)
        if conv_dropout:
            x = keras.layers.Dropout(conv_dropout, seed=next_seed())(x)
    if global_pooling:
        x = keras.layers.GlobalAveragePooling2D()(x)
    else:
        x = keras.layers.Flatten()(x)
    return dense_head(
        inputs,
        x,
        n_classes,
        dense_units,
        activation=activation,
        dropout=dropout,
        batch_norm=batch_norm,
        kernel_initializer=kernel_initializer,
        l2=l2,
        next_seed=next_seed,
    )
