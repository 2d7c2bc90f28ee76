"""The Keras wing: the only modules that import Keras, TensorFlow or scikeras.

Importing this package imports none of them; its modules do, in one
direction only::

    _names       names the estimators validate against (no Keras)
    _runtime     TensorFlow's quiet start-up, thread pools
    _private     every private Keras name the package uses, each guarded
    _seeding     seeded fits (uses _private)
    _optimizers  optimizers and learning-rate schedules (uses _private)
    _layers      layer builders: dense and convolutional networks
    _build       a network from a model function or instance, checked, with
                 pixel scaling in front and a softmax where it ends in logits
    _engine      compile settings to scikeras, fit and predict through it
    _features    a head trained on a frozen extractor's features, reassembled
    _batch_norm  batch norm's statistics set from the trained network
    _backbones   Keras applications as pretrained feature extractors
    _custom_objects  the user's classes and functions a pickle carries

The estimators (``fmnist_estimators._network`` and its subclasses) import
these modules lazily, on the first ``fit``.
"""
