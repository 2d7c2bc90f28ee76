"""The Keras wing: the only modules that import Keras, TensorFlow or scikeras.

Importing this package imports none of them; its modules do, in one
direction only::

    _names       names the estimators validate against (no Keras)
    _runtime     TensorFlow's quiet start-up, thread pools, seeding
    _private     every private Keras name the package uses, each guarded
    _optimizers  optimizers and learning-rate schedules (uses _private)
    _layers      layer builders: dense and convolutional networks
    _engine      build, compile, fit and predict through scikeras
    _backbones   Keras applications as pretrained feature extractors

The estimators (``fmnist_estimators._network`` and its subclasses) import
``_engine`` and ``_layers`` lazily, on the first ``fit``.
"""
