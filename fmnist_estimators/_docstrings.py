"""Docstring fragments shared by the Keras classifiers, written once."""

TRAINING_PARAMETERS = """\
    optimizer : {"adam", "nadam", "adamw", "sgd", "rmsprop", "adadelta", \
"adagrad"}, default="adam"
        Keras optimizer. ``"sgd"`` uses ``momentum``.

    momentum : float, default=0.9
        Momentum of ``"sgd"``; ignored by the other optimizers.

    warmup_epochs : float, default=0.0
        Epochs (a fraction is fine) over which the learning rate first rises
        linearly to ``learning_rate``, from ``learning_rate / steps`` where
        ``steps`` is the warm-up's number of gradient steps; then
        ``lr_schedule`` applies (with ``"cosine"``, the decay spans the
        remaining ``epochs - warmup_epochs``, which must be positive). Each
        ``fit`` call warms up again, a warm start included; ``partial_fit``
        goes on along the current cycle. A warm-up lets a high learning rate
        start without the large, noisy updates of the first steps. A
        learning-rate callback needs ``warmup_epochs=0``.

    ema_momentum : float or None, default=None
        Keep an exponential moving average of the weights, updated after
        every gradient step as ``average = ema_momentum * average + (1 -
        ema_momentum) * weights``, and copy it into the network at the end
        of each ``fit`` and ``partial_fit`` call (Keras's ``use_ema``); batch
        norm's statistics are then computed for the averaged weights. 0.99
        averages over about the last 100 steps. A continued fit starts from
        the averaged weights. The validation figures of ``history_`` are
        those of the weights being trained; with early stopping and
        ``restore_best_weights`` the best epoch's weights replace the average
        (a warning says so). ``None``: no average, unless an optimizer
        instance of your own (:class:`KerasModelClassifier`) has
        ``use_ema=True``.

    batch_size : int, default=32
        Images per gradient step.

    epochs : int, default=10
        Passes over the training data per ``fit`` call (the most, with early
        stopping).

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified) and
        stop when its loss has not improved for ``n_iter_no_change`` epochs.
        ``history_`` then also records ``val_loss`` and ``val_accuracy``.

    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping (not used
        when ``fit`` is given ``X_val`` and ``y_val``).

    n_iter_no_change : int, default=5
        Epochs without improvement of ``monitor`` before stopping.

    monitor : {"val_loss", "val_accuracy"}, default="val_loss"
        What early stopping watches: the validation loss or accuracy.

    restore_best_weights : bool, default=True
        After early stopping, keep the weights of the best validation epoch.

    label_smoothing : float, default=0.0
        Label smoothing of the cross-entropy loss, in [0, 1): the target of
        an image is ``1 - label_smoothing`` on its class plus
        ``label_smoothing / n_classes`` on every class. 0.1 often gains a few
        tenths of a percent of test accuracy on long training runs; it makes
        the predicted probabilities less extreme (see the user guide on
        calibration).

    class_weight : dict, "balanced" or None, default=None
        Weight of each class in the training loss: ``{label: weight}``
        (classes not named weigh 1), or ``"balanced"`` for weights inversely
        proportional to the class frequencies in ``y``
        (``n_samples / (n_classes * count)``). Multiplies ``sample_weight``.

    callbacks : list of keras.callbacks.Callback, default=None
        Keras callbacks to run in every ``fit`` and ``partial_fit`` call
        (a ``ModelCheckpoint``, a ``CSVLogger``, your own). Each call gets
        fresh copies, so the estimator clones, pickles and searches as usual;
        the copies that ran are ``callbacks_``. A callback that sets the
        learning rate (``ReduceLROnPlateau``, ``LearningRateScheduler``)
        needs ``lr_schedule="constant"``: with ``"cosine"`` ``fit`` raises
        ``ValueError`` before training.

    pixel_scale : "auto" or float, default="auto"
        Factor applied to ``X`` before the network sees it. ``"auto"`` divides
        8-bit pixels by 255: when the training data's maximum lies in
        (1, 280.5] (255 plus 10 % for rounding and interpolation overshoot)
        and its minimum is not below -10 % of that maximum — uint8 images, or
        floats on the 0–255 scale — the factor is 1/255; otherwise 1 (data
        already in [0, 1], or standardized), with a warning when the maximum
        exceeds 280.5. The factor is fixed at fit time (``pixel_scale_``),
        applied unchanged at predict time and in later ``partial_fit`` or
        warm-started ``fit`` calls (which warn if their data looks scaled
        otherwise), and applied by the network itself: its first layer,
        ``pixel_scale``, multiplies each batch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, dropout, shuffling and the validation
        split. An int makes ``fit`` repeatable on the same machine.

    warm_start : bool, default=False
        When True, ``fit`` continues training the existing network for
        ``epochs`` more epochs instead of starting afresh, with the current
        training parameters (``epochs``, ``batch_size``, ``learning_rate``, a
        new cosine cycle, early stopping); a changed ``optimizer``,
        ``momentum``, ``lr_schedule``, ``label_smoothing`` or
        ``ema_momentum`` gets a new
        optimizer, and a changed
        architecture parameter raises ``ValueError``. See ``fit``.

    verbose : int, default=0
        0: silent. 1 or more: one line per epoch on stdout, with the training
        and validation figures and the epoch's seconds (which reads well in
        a search's log, unlike Keras's per-step progress bar).
"""

FITTED_ATTRIBUTES = """\
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_features_in_ : int
        Number of pixels (features) per image seen during ``fit``.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` had string column
        names (a pandas DataFrame).

    pixel_scale_ : float
        Factor by which the network's first layer multiplies ``X`` (see
        ``pixel_scale``).

    history_ : dict of str to list of float
        Per-epoch ``loss`` and ``accuracy`` on the training data, and
        ``val_loss``/``val_accuracy`` with early stopping; spans every
        ``partial_fit`` and warm-started ``fit``. ``pandas.DataFrame(history_)``
        is a learning-curve table. A network trained in phases (a pretrained
        backbone's head, then fine-tuning) also has a ``phase`` column.

    callbacks_ : list of keras.callbacks.Callback
        The callbacks of the last training phase as they ended: the
        package's own (``TerminateOnNaN``, ``EarlyStopping`` with early
        stopping), then the copies of ``callbacks`` that ran, so that what
        they collected can be read (``callbacks_[-1].stopped_epoch``). They no
        longer point to the model; a pickled estimator keeps those that
        pickle.

    n_iter_ : int
        Epochs trained so far (``len(history_["loss"])``).

    model_ : keras.Model
        The trained Keras network.

    keras_classifier_ : scikeras.wrappers.KerasClassifier
        The scikeras wrapper that trains ``model_``.
"""


def fill_doc(obj):
    """Insert the shared fragments into ``obj.__doc__``; return ``obj``."""
    obj.__doc__ = obj.__doc__.replace(
        "    {training_parameters}", TRAINING_PARAMETERS.rstrip("\n")
    ).replace("    {fitted_attributes}", FITTED_ATTRIBUTES.rstrip("\n"))
    return obj
