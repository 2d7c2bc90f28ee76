"""Pretrained backbones: Keras applications on grayscale Fashion-MNIST.

A backbone sees what it was trained on: three-channel images of at least its
smallest size, preprocessed its own way. :func:`image_features` turns the
package's images (pixels in [0, 1], after the engine's ``pixel_scale``) into
that input and the backbone's pooled features, with standard layers only
(no ``Lambda``), so that fitted networks save and pickle:

    (h, w[, 1]) -> Reshape (h, w, 1) -> Resizing (s, s) -> three channels
    -> the backbone's preprocessing -> backbone -> global average pooling

:func:`pretrained_net` puts a dense head on it; :func:`head_net` is that head
alone, trained on features computed once (see :mod:`._features`) when the
backbone is frozen.

ImageNet weights come through Keras's own download and cache
(:func:`fetch_imagenet_weights`); without a network and without a cached file
the error says which file to put where.
"""

import collections
import dataclasses
import os
import socket
import threading
import warnings
import weakref

from ._features import flat_layers, standardize
from ._layers import dense_head, scale_pixels
from ._runtime import keras
from ._seeding import seed_source

# One remote weights file: Keras's own name, URL and md5 (from keras.applications).
_KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclasses.dataclass(frozen=True)
class Backbone:
    """What the package needs to know about one Keras application."""

    application: str  # the constructor in keras.applications
    preprocessing: str  # "caffe", "tf" or "raw255" (see preprocessing_layers)
    url: str  # of the "no top" ImageNet weights; {size} for MobileNetV2
    md5: str | None  # None where Keras itself checks none

    def weights_file(self, input_size):
        """``(file name, URL)`` of the ImageNet weights for ``input_size``."""
        url = self.url
        if "{size}" in url:
            # MobileNetV2 has weights for five sizes; Keras loads the 224 ones
            # for any other.
            size = input_size if input_size in (96, 128, 160, 192, 224) else 224
            url = url.format(size=size)
        return url.rsplit("/", 1)[1], url


def _resnet(depth):
    return (
        f"{_KERAS_APPS}resnet/resnet{depth}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )


BACKBONES = {
    "vgg16": Backbone(
        "VGG16",
        "caffe",
        f"{_KERAS_APPS}vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "6d6bbae143d832006294945121d1f1fc",
    ),
    "vgg19": Backbone(
        "VGG19",
        "caffe",
        f"{_KERAS_APPS}vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "253f8cb515780f3b799900260a226db6",
    ),
    "resnet50": Backbone(
        "ResNet50", "caffe", _resnet(50), "4d473c1dd8becc155b73f8504c6f6626"
    ),
    "resnet101": Backbone(
        "ResNet101", "caffe", _resnet(101), "88cf7a10940856eca736dc7b7e228a21"
    ),
    "resnet152": Backbone(
        "ResNet152", "caffe", _resnet(152), "ee4c566cf9a93f14d82f913c2dc6dd0c"
    ),
    "inception_v3": Backbone(
        "InceptionV3",
        "tf",
        f"{_KERAS_APPS}inception_v3/"
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "bcbd6486424b2319ff4ef7d526e38f63",
    ),
    "mobilenet_v2": Backbone(
        "MobileNetV2",
        "tf",
        f"{_KERAS_APPS}mobilenet_v2/"
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5",
        None,
    ),
    "efficientnet_b0": Backbone(
        "EfficientNetB0",
        "raw255",
        f"{_KERAS_APPS}efficientnetb0_notop.h5",
        "50bc09e76180e00e4465e1a485ddc09d",
    ),
}

# ImageNet's mean pixel in BGR order, which "caffe" preprocessing subtracts.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# Seconds a stalled connection may stay silent before the download gives up:
# without it, urllib waits forever on a network that drops packets.
DOWNLOAD_TIMEOUT = 20


def keras_cache_folder():
    """The folder where Keras caches application weights (``.../models``).

    Keras's own rule: ``$KERAS_HOME``, else ``~/.keras``, else ``/tmp/.keras``
    where the first is not writable.
    """
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras"
    )
    home = os.path.expanduser(home)
    if not os.access(home, os.W_OK) and not os.access(os.path.dirname(home), os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return os.path.join(home, "models")


def fetch_imagenet_weights(backbone, input_size):
    """Path of the backbone's cached ImageNet weights, downloaded if missing.

    Raises
    ------
    OSError
        When the file is not cached and cannot be downloaded; the message
        names the file, its URL and the folder to put it in.
    """
    spec = BACKBONES[backbone]
    name, url = spec.weights_file(input_size)
    folder = keras_cache_folder()
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        return keras.utils.get_file(
            name, url, cache_subdir="models", file_hash=spec.md5
        )
    except Exception as error:  # Keras wraps every URL error in Exception
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise OSError(
            f"The ImageNet weights of backbone={backbone!r} are not in Keras's "
            f"cache and could not be downloaded ({message}). Download\n"
            f"    {url}\n"
            f"on a machine with internet access and put the file, named {name}, "
            f"in\n    {folder}\n"
            "(Keras's cache, $KERAS_HOME/models), or pass weights=<path of the "
            "file> or weights=None (random initialization)."
        ) from None
    finally:
        socket.setdefaulttimeout(previous)


def make_backbone(backbone, weights, input_size):
    """The Keras application without its top, global-average pooled.

    ``weights``: ``"imagenet"``, a path to a weights file saved from the same
    backbone (``save_weights``), or ``None`` for random initialization.
    """
    spec = BACKBONES[backbone]
    application = getattr(keras.applications, spec.application)
    if weights == "imagenet":
        fetch_imagenet_weights(backbone, input_size)  # fails fast, clearly
    with warnings.catch_warnings():
        # MobileNetV2's note that sizes without weights of their own get the
        # 224 ones: documented in PretrainedNetClassifier.
        warnings.filterwarnings("ignore", message=".*input_shape. is undefined")
        model = application(
            include_top=False,
            weights="imagenet" if weights == "imagenet" else None,
            input_shape=(input_size, input_size, 3),
            pooling="avg",
        )
    if weights not in (None, "imagenet"):
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"weights={path!r} is not a file: pass the path of weights saved "
                f"from a {spec.application} backbone, 'imagenet' or None."
            )
        model.load_weights(path)
    return model


def set_trainable(backbone_model, trainable, *, freeze_batch_norm):
    """Freeze all of the backbone (``"head"``), none (``"all"``) or all but the top N.

    Batch normalization layers stay frozen — in inference mode, with the
    statistics of the weights they came with — when ``freeze_batch_norm``.
    """
    layers = backbone_model.layers
    if trainable == "head" or trainable == 0:
        backbone_model.trainable = False
        return
    backbone_model.trainable = True
    first = 0 if trainable == "all" else max(0, len(layers) - int(trainable))
    for index, layer in enumerate(layers):
        is_norm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = index >= first and not (freeze_batch_norm and is_norm)


def preprocessing_layers(mode):
    """The backbone's ``preprocess_input`` as layers, for pixels in [0, 1]."""
    if mode == "caffe":
        # x * 255 - mean (the channels are equal, so BGR order is moot).
        return [
            keras.layers.Rescaling(
                255.0, offset=[-m for m in CAFFE_MEAN_BGR], name="caffe_preprocess"
            )
        ]
    if mode == "tf":  # to [-1, 1]
        return [keras.layers.Rescaling(2.0, offset=-1.0, name="tf_preprocess")]
    if mode == "raw255":  # EfficientNet normalizes inside
        return [keras.layers.Rescaling(255.0, name="to_255")]
    raise ValueError(f"Unknown preprocessing mode {mode!r}.")


def image_features(input_shape, *, backbone, weights, input_size, trainable):
    """Model from images (pixels in [0, 1]) to the backbone's pooled features."""
    inputs = keras.Input(shape=input_shape)
    x = inputs
    if len(input_shape) != 3:
        height, width = (tuple(input_shape) + (1,))[:2]
        x = keras.layers.Reshape((height, width, 1))(x)
    elif input_shape[-1] != 1:
        raise ValueError(
            f"Images of shape {tuple(input_shape)}: the backbones take grayscale "
            "images, one channel."
        )
    x = keras.layers.Resizing(input_size, input_size, name="resize")(x)
    x = keras.layers.Concatenate(name="to_rgb")([x, x, x])
    for layer in preprocessing_layers(BACKBONES[backbone].preprocessing):
        x = layer(x)
    base = make_backbone(backbone, weights, input_size)
    set_trainable(base, trainable, freeze_batch_norm=weights is not None)
    return keras.Model(inputs, base(x), name="features")


def _head(inputs, x, n_classes, dense_units, dropout, seed, name):
    """``Dense -> ReLU -> Dropout`` per entry of ``dense_units``, softmax."""
    return dense_head(
        inputs,
        x,
        n_classes,
        dense_units,
        kernel_initializer="glorot_uniform",
        next_seed=seed_source(seed),
        activation="relu",
        dropout=dropout,
        batch_norm=False,
        l2=0.0,
        name=name,
    )


def head_net(
    input_shape, n_classes, *, dense_units, dropout, pixel_scale=1.0, seed=None
):
    """The dense head alone, on the backbone's features (``pixel_scale`` 1)."""
    inputs = keras.Input(shape=input_shape)
    x = scale_pixels(inputs, pixel_scale)
    return _head(inputs, x, n_classes, dense_units, dropout, seed, "head")


def pretrained_net(
    input_shape,
    n_classes,
    *,
    backbone,
    weights,
    input_size,
    trainable,
    dense_units,
    dropout,
    features=None,
    head=None,
    scaling=None,
    pixel_scale=1.0,
    seed=None,
):
    """Backbone features and a dense head: ``Dense -> ReLU -> Dropout``, softmax.

    ``features``, ``scaling`` and ``head``, when given, are what to continue
    from (a fine-tuning phase after the head was trained on frozen,
    standardized features): their layers and weights are reused, with the
    backbone's ``trainable`` set anew.
    """
    inputs = keras.Input(shape=input_shape)
    if features is None:
        features = image_features(
            input_shape,
            backbone=backbone,
            weights=weights,
            input_size=input_size,
            trainable=trainable,
        )
    else:
        # The whole model first (Keras sets its layers alike), then each layer.
        # Batch norm stays in inference mode whatever the weights: the head
        # trained on features computed so, and batch statistics (of a random
        # backbone's near-zero activations, say) would give it other inputs.
        features.trainable = True
        base = features.layers[-1]
        set_trainable(base, trainable, freeze_batch_norm=True)
    x = standardize(features(scale_pixels(inputs, pixel_scale)), scaling)
    if head is None:
        return _head(inputs, x, n_classes, dense_units, dropout, seed, "pretrained_net")
    for layer in flat_layers(head):
        x = layer(x)
    return keras.Model(inputs, x, name="pretrained_net")


def feature_extractor(features, input_shape, pixel_scale):
    """``features`` behind the pixel scaling: raw images in, features out."""
    inputs = keras.Input(shape=input_shape)
    x = features(scale_pixels(inputs, pixel_scale))
    return keras.Model(inputs, x, name="extractor")


# Frozen extractors built in this process, newest last, by what builds them.
# A grid search over a frozen backbone's head (and scikit-learn's checks)
# fits the same backbone again and again: building it costs a second or more
# (Keras layers, weight initialization or loading, the traced prediction),
# features through it cost milliseconds on a few hundred images.
# The most recently used are kept while their weights take at most
# SHARED_BYTES (the newest always): two ResNet50s, or a search's MobileNetV2s
# at every input size it tries, not one backbone rebuilt at each switch.
_SHARED_EXTRACTORS = collections.OrderedDict()
SHARED_BYTES = 256 * 2**20
# Every extractor ever shared, cached still or only held by fitted networks.
_EVER_SHARED = weakref.WeakSet()
_SHARED_LOCK = threading.Lock()


def shared_extractor(key, build):
    """The frozen extractor ``build()`` makes, built once per process for
    ``key`` (the most recently used are kept, up to ``SHARED_BYTES`` of
    weights).

    Only for an extractor that nothing trains: every network given it shares
    the same layers. A fine-tuning phase needs its own (``build()``).
    """
    # Fits in threads (a Dask worker's) build a backbone once between them.
    with _SHARED_LOCK:
        if key in _SHARED_EXTRACTORS:
            _SHARED_EXTRACTORS.move_to_end(key)
            return _SHARED_EXTRACTORS[key]
        extractor = build()
        _SHARED_EXTRACTORS[key] = extractor
        _EVER_SHARED.add(extractor)
        while (
            len(_SHARED_EXTRACTORS) > 1
            and sum(map(_weight_bytes, _SHARED_EXTRACTORS.values())) > SHARED_BYTES
        ):
            _SHARED_EXTRACTORS.popitem(last=False)
        return extractor


def _weight_bytes(extractor):
    return 4 * extractor.count_params()  # float32


def is_shared(extractor):
    """Whether ``extractor`` came from :func:`shared_extractor`."""
    return extractor in _EVER_SHARED


def weights_identity(weights):
    """``weights`` (``"imagenet"`` or a file) as a cache key: a file by its
    path, size and time of change (a file saved anew is other weights);
    ``None`` for a file that is not there."""
    if weights == "imagenet":
        return weights
    path = os.path.realpath(os.fspath(weights))
    try:
        stat = os.stat(path)
    except OSError:
        return None  # make_backbone says what is wrong
    return (path, stat.st_size, stat.st_mtime_ns)


# Resized pixels per call into a backbone: about 2 M (64 images of 224 x 224,
# 2048 of 32 x 32) bounds the activations of the widest first layers (VGG's 64
# channels in float32: 0.5 GB) while keeping the per-call cost negligible.
PIXELS_PER_CALL = 2**21


def rows_per_call(input_size):
    """Images per ``predict_on_batch`` call at backbone input ``input_size``."""
    return int(min(2048, max(8, PIXELS_PER_CALL // (input_size * input_size))))
