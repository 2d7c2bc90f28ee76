"""Batch norm's statistics, set from the trained network ("precise BN").

Keras's moving averages lag the weights: with the package's momentum of 0.9
they hold the last few dozen batches' statistics, and with Keras's default of
0.99 (0.999 in MobileNetV2) a network trained for a few hundred steps still
predicts from statistics that are mostly their initial values. After every
training phase, :func:`recompute_batch_norm` sets each batch norm layer that
trained to the mean and variance of its inputs over training images,
computed with the final weights.
"""

from contextlib import closing

from ._build import layer_chain
from ._runtime import keras, np, tf

# Training images over which batch norm's statistics are recomputed, in chunks
# of BATCH_NORM_CHUNK: per-channel means and variances over 2,048 images are
# within a fraction of a percent of the population's (millions of values per
# channel for a convolution), for the cost of a forward pass over them.
BATCH_NORM_IMAGES = 2048
BATCH_NORM_CHUNK = 1024


def _expanded_chain(model):
    """``layer_chain(model)``, with any layer that is itself a chain expanded."""
    chain = layer_chain(model)
    if chain is None:
        return None
    expanded = []
    for layer in chain:
        inner = _expanded_chain(layer) if isinstance(layer, keras.Model) else None
        expanded.extend(inner if inner is not None else [layer])
    return expanded


def _batch_norms(model):
    """Every batch norm layer of ``model`` and of the models nested in it."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            yield layer
        elif isinstance(layer, keras.Model):
            yield from _batch_norms(layer)


def _chunks(X, seed):
    """Up to ``BATCH_NORM_IMAGES`` random rows of ``X`` as float32 chunks."""
    n_rows = min(X.shape[0], BATCH_NORM_IMAGES)
    rows = np.sort(np.random.default_rng(seed).permutation(X.shape[0])[:n_rows])
    for start in range(0, n_rows, BATCH_NORM_CHUNK):
        yield tf.cast(X[rows[start : start + BATCH_NORM_CHUNK]], tf.float32)


def _averaged_chunks(norms, X, seed):
    """:func:`_chunks`, each set up so that a training-mode call of a layer of
    ``norms`` leaves its moving statistics the mean of the chunks' so far.

    Batch norm's own moving-average update does the averaging: with momentum
    ``n / (n + m)`` at a chunk of ``m`` rows after ``n`` rows, the statistics
    of every chunk count in proportion to its rows. It computes each chunk's
    statistics once, in the layer's own (fused) kernel, with the biased
    variance as Keras does. Close it (``contextlib.closing``) so that the
    layers get their momentum back also when a forward pass fails.
    """
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.moving_mean.assign(tf.zeros_like(layer.moving_mean))
        layer.moving_variance.assign(tf.zeros_like(layer.moving_variance))
    n_rows = 0
    try:
        for x in _chunks(X, seed):
            weight = int(x.shape[0])
            for layer in norms:
                layer.momentum = n_rows / (n_rows + weight)
            n_rows += weight
            yield x
    finally:
        for layer, momentum in zip(norms, momenta):
            layer.momentum = momentum


def _recompute_along_chain(chain, norms, X, seed):
    """Exact statistics layer by layer: every batch norm that trains
    normalizes with its chunk's statistics as in training, every other layer
    runs in inference mode (no dropout, no augmentation)."""
    trained = {id(layer) for layer in norms}
    with closing(_averaged_chunks(norms, X, seed)) as chunks:
        for x in chunks:
            for layer in chain:
                x = layer(x, training=id(layer) in trained)


def _recompute_by_averaging(model, norms, X, seed):
    """Any other graph (branches, residual connections, a backbone inside):
    forward passes in training mode, each trained batch norm averaging its
    statistics over the chunks. Frozen batch norm layers run in inference
    mode in training mode too, and keep their statistics."""
    with closing(_averaged_chunks(norms, X, seed)) as chunks:
        for x in chunks:
            model(x, training=True)


def recompute_batch_norm(model, X, *, seed=None):
    """Set the moving statistics of ``model``'s trained batch norm layers.

    Each ``BatchNormalization`` layer that trains gets the mean and variance
    of its inputs over up to ``BATCH_NORM_IMAGES`` random images of ``X``,
    computed with the final weights. A network that is a chain of layers
    (the package's own) gets exact statistics, every other layer in
    inference mode; any other graph, such as a pretrained backbone that
    fine-tuned, gets the average of its batch statistics over chunks of
    images in training mode. Frozen batch norm layers (a pretrained
    backbone's, by default) keep the statistics they came with.
    """
    norms = [layer for layer in _batch_norms(model) if layer.trainable]
    if not norms:
        return
    chain = _expanded_chain(model)
    if chain is not None and all(any(n is c for c in chain) for n in norms):
        _recompute_along_chain(chain, norms, X, seed)
    else:
        _recompute_by_averaging(model, norms, X, seed)
