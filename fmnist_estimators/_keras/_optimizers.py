"""Optimizers and learning-rate schedules, and how a model is compiled.

Keras's own optimizers, subclassed for speed on a small CPU (see
:mod:`._private` for the private names this uses and their fallbacks), and a
cosine schedule that a warm start can restart without a retrace.
"""

import copy

from ._private import (
    FUSED_ADAM_NAMES,
    OneReplicaAllReduce,
    available,
    fused_adam_step,
)
from ._runtime import keras, np, register, tf

# The loss of every network: integer labels, softmax outputs.
LOSS = "sparse_categorical_crossentropy"


@register
class SparseCategoricalCrossentropy(keras.losses.SparseCategoricalCrossentropy):
    """Keras's sparse cross-entropy of softmax outputs, with label smoothing.

    The target of an image of class ``k`` is ``1 - label_smoothing`` on ``k``
    plus ``label_smoothing / n_classes`` on every class, as Keras's
    ``CategoricalCrossentropy(label_smoothing=...)`` has it; Keras's sparse
    loss has no smoothing, and one-hot labels would change what scikeras
    hands the network. Named as Keras's class: scikeras compares the name of
    the compiled loss with the loss it was given.
    """

    def __init__(self, label_smoothing=0.0, **kwargs):
        super().__init__(**kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        n_classes = y_pred.shape[-1]
        labels = tf.cast(tf.reshape(y_true, [-1]), tf.int32)
        target = tf.one_hot(labels, n_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            target, y_pred, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def make_loss(label_smoothing=0.0):
    """The training loss: Keras's sparse cross-entropy, smoothed if asked."""
    if not label_smoothing:
        return LOSS
    return SparseCategoricalCrossentropy(label_smoothing)


# Keras runs this many training steps per call into the compiled graph: on a
# small CPU the per-step Python overhead otherwise dominates a small network.
STEPS_PER_EXECUTION = 256
# A training phase of this many gradient steps or fewer runs one step per
# call instead: tracing Keras's loop of steps (a while loop and a cond) costs
# 0.1-0.3 s on two cores, more than the 1-3 ms per step that calling Python
# between steps costs over so few (fits of a few hundred images, the estimator
# checks). The weights are the same either way.
FEW_STEPS = 64


def steps_per_execution(phase_steps):
    """Keras's ``steps_per_execution`` for a phase of ``phase_steps`` steps."""
    return 1 if phase_steps <= FEW_STEPS else STEPS_PER_EXECUTION


class _OneReplica(OneReplicaAllReduce):
    """Optimizer mixin: no gradient all-reduce without a ``tf.distribute`` strategy
    (see :class:`._private.OneReplicaAllReduce`).

    The mixin also keeps the learning-rate schedule it was made with as
    ``lr_schedule`` (``None`` for a constant rate), so that a warm start can
    restart it, also on an optimizer rebuilt from a saved model's config.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rate = kwargs.get("learning_rate", args[0] if args else None)
        schedule = keras.optimizers.schedules.LearningRateSchedule
        self.lr_schedule = rate if isinstance(rate, schedule) else None


@register
class FusedAdam(_OneReplica, keras.optimizers.Adam):
    """Adam applied by TensorFlow's fused ``ResourceApplyAdam`` kernel.

    The update rule is ``keras.optimizers.Adam``'s; Keras computes it with a
    dozen elementwise ops per variable, and a small network's training step
    on a CPU is dominated by dispatching ops, so one kernel per variable makes
    an epoch of the tutorial network about 20 % faster. ``amsgrad``, sparse
    gradients, and a Keras without the private names the kernel needs keep
    Keras's own update.
    """

    def build(self, variables):
        super().build(variables)
        self._fused = available(*FUSED_ADAM_NAMES)

    def update_step(self, gradient, variable, learning_rate):
        sparse = isinstance(gradient, tf.IndexedSlices)
        fused = getattr(self, "_fused", False) and hasattr(variable, "handle")
        if self.amsgrad or sparse or not fused:
            return super().update_step(gradient, variable, learning_rate)
        fused_adam_step(self, gradient, variable, learning_rate)


@register
class CosineCycles(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` to 0 every ``decay_steps`` steps,
    each cycle after an optional linear warm-up.

    The cycles count from ``start_step``. Keras's ``CosineDecayRestarts(t_mul=1,
    m_mul=1, alpha=0)`` computes the same rate with four times the ops, which a
    small network pays every step. The numbers live in variables, so
    :meth:`restart` changes them between fits without retracing the training
    step or losing the optimizer's state.

    With ``warmup_steps``, the rate of a cycle's step ``i`` (from 0) first
    rises as ``initial_learning_rate * (i + 1) / warmup_steps``, then decays
    along a cosine over the cycle's remaining steps, as Keras's
    ``CosineDecay(warmup_steps=...)`` (whose warm-up starts from its
    ``initial_learning_rate`` rather than near zero). With ``decay=False``
    the rate stays at ``initial_learning_rate`` after the warm-up, which
    happens once from ``start_step``: a constant rate with a warm-up.
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        start_step=0,
        warmup_steps=0,
        decay=True,
    ):
        def variable(value):
            return tf.Variable(float(value), trainable=False, dtype=tf.float32)

        self._rate = variable(initial_learning_rate)
        self._period = variable(decay_steps)
        self._start = variable(start_step)
        self._warmup = variable(warmup_steps)
        self.decay = bool(decay)

    @property
    def initial_learning_rate(self):
        return float(self._rate.numpy())

    @property
    def start_step(self):
        return float(self._start.numpy())

    @property
    def warmup_steps(self):
        return float(self._warmup.numpy())

    def restart(self, initial_learning_rate, decay_steps, start_step, warmup_steps=0):
        """Cycles of ``decay_steps`` steps from ``initial_learning_rate`` on."""
        self._rate.assign(float(initial_learning_rate))
        self._period.assign(float(decay_steps))
        self._start.assign(float(start_step))
        self._warmup.assign(float(warmup_steps))

    def __call__(self, step):
        offset = tf.cast(step, tf.float32) - self._start
        if not self.decay:
            return self._rate * self._ramp(offset)
        position = tf.math.floormod(offset, self._period)
        decaying = tf.maximum(position - self._warmup, 0.0)
        fraction = decaying / tf.maximum(self._period - self._warmup, 1.0)
        cosine = 0.5 * (1.0 + tf.cos(np.pi * fraction))
        return self._rate * self._ramp(position) * cosine

    def _ramp(self, position):
        # 1 from the first step without a warm-up: (position + 1) / 1 >= 1.
        return tf.minimum(1.0, (position + 1.0) / tf.maximum(self._warmup, 1.0))

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": float(self._period.numpy()),
            "start_step": self.start_step,
            "warmup_steps": self.warmup_steps,
            "decay": self.decay,
        }


# Keras's optimizers by our name for them, without the one-replica all-reduce.
OPTIMIZER_CLASSES = {"adam": FusedAdam} | {
    name: register(type(cls.__name__, (_OneReplica, cls), {"__module__": __name__}))
    for name, cls in [
        ("nadam", keras.optimizers.Nadam),
        ("adamw", keras.optimizers.AdamW),
        ("sgd", keras.optimizers.SGD),
        ("rmsprop", keras.optimizers.RMSprop),
        ("adadelta", keras.optimizers.Adadelta),
        ("adagrad", keras.optimizers.Adagrad),
    ]
}


def _optimizer_class_and_config(optimizer):
    """``(class, config)`` of an optimizer given by our name, as a Keras
    optimizer class, or as an instance (whose settings are copied)."""
    if isinstance(optimizer, str) and optimizer in OPTIMIZER_CLASSES:
        return OPTIMIZER_CLASSES[optimizer], {}
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return type(optimizer), optimizer.get_config()
    if isinstance(optimizer, type) and issubclass(
        optimizer, keras.optimizers.Optimizer
    ):
        return optimizer, {}
    raise TypeError(
        f"optimizer must be one of {sorted(OPTIMIZER_CLASSES)}, a "
        "keras.optimizers.Optimizer subclass or an instance of one; got "
        f"{optimizer!r}."
    )


def default_learning_rate(optimizer):
    """The learning rate ``optimizer`` (a name, class or instance) comes with."""
    cls, config = _optimizer_class_and_config(optimizer)
    rate = config.get("learning_rate")
    if not isinstance(rate, int | float):  # none given, or a schedule's config
        rate = cls().get_config()["learning_rate"]
    return float(rate)


def make_optimizer(
    optimizer,
    learning_rate,
    momentum,
    schedule,
    decay_steps,
    warmup_steps=0,
    ema_momentum=None,
):
    """A new Keras optimizer with a constant or cosine-restarts schedule,
    after a linear warm-up of ``warmup_steps`` steps.

    ``optimizer`` is our name for one of Keras's, a Keras optimizer class, or
    an instance, which is copied from its config: every fit gets fresh
    moment estimates. ``learning_rate=None`` keeps the optimizer's own rate.
    ``ema_momentum`` switches on Keras's moving average of the weights
    (``use_ema``), which each ``model.fit`` call copies into the weights at
    its end; ``None`` keeps the optimizer's own setting.
    """
    cls, config = _optimizer_class_and_config(optimizer)
    if learning_rate is not None:
        config["learning_rate"] = learning_rate
    if ema_momentum is not None:
        config |= {"use_ema": True, "ema_momentum": float(ema_momentum)}
    if optimizer == "sgd":
        config["momentum"] = momentum
    if schedule == "cosine" or warmup_steps:
        # Decay to zero over the epochs of one fit call, then restart: a warm
        # start restarts the cycle (set_learning_rate), and a plain
        # CosineDecay would leave every later fit at a learning rate of zero.
        rate = (
            default_learning_rate(optimizer) if learning_rate is None else learning_rate
        )
        config["learning_rate"] = CosineCycles(
            float(rate),
            decay_steps,
            warmup_steps=warmup_steps,
            decay=schedule == "cosine",
        )
    made = cls.from_config(config) if config else cls()
    if not hasattr(made, "lr_schedule"):  # a Keras optimizer of the user's
        rate = config.get("learning_rate")
        made.lr_schedule = rate if isinstance(rate, CosineCycles) else None
    return made


def set_learning_rate(
    optimizer, learning_rate, *, decay_steps, restart, made_from, warmup_steps=0
):
    """Give a fitted model's optimizer this fit's learning rate.

    A schedule gets ``learning_rate``, ``decay_steps`` and ``warmup_steps``
    and, with ``restart``, a new cycle (and warm-up) from the optimizer's
    current step.
    ``learning_rate=None`` means the rate of ``made_from``, the ``optimizer``
    parameter (a name, class or instance) it was made from.
    """
    rate = default_learning_rate(made_from) if learning_rate is None else learning_rate
    schedule = getattr(optimizer, "lr_schedule", None)
    if schedule is None:
        optimizer.learning_rate = float(rate)
        return
    start = float(optimizer.iterations.numpy()) if restart else schedule.start_step
    schedule.restart(rate, decay_steps, start, warmup_steps)


def takes_one_hot_labels(loss):
    """Whether scikeras one-hot encodes the labels for ``loss``: a
    categorical cross-entropy, by any of the names it recognises."""
    return (
        isinstance(loss, keras.losses.CategoricalCrossentropy)
        or loss is keras.losses.categorical_crossentropy
        or getattr(loss, "__name__", None) == "categorical_crossentropy"
        or loss in ("categorical_crossentropy", "cce", "CategoricalCrossentropy")
    )


def accuracy_metric(loss=None):
    """The ``accuracy`` of every network, for the labels ``loss`` takes."""
    if loss is not None and takes_one_hot_labels(loss):
        return keras.metrics.CategoricalAccuracy(name="accuracy")
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


def compile_model(
    model,
    *,
    optimizer,
    learning_rate,
    momentum,
    lr_schedule,
    decay_steps,
    warmup_steps=0,
    label_smoothing=0.0,
    ema_momentum=None,
    loss=None,
    metrics=None,
):
    """Compile ``model`` with a new optimizer and our training settings.

    ``loss`` replaces the (label-smoothed) sparse cross-entropy; ``metrics``
    are computed after accuracy, copied so that every fit starts them anew.
    """
    model.compile(
        optimizer=make_optimizer(
            optimizer,
            learning_rate,
            momentum,
            lr_schedule,
            decay_steps,
            warmup_steps,
            ema_momentum,
        ),
        loss=make_loss(label_smoothing) if loss is None else copy.deepcopy(loss),
        # A metric object, not the string "accuracy", and the optimizer's slots
        # built now: variables that Keras creates while it traces the first
        # training step each leave two `cond` functions in TensorFlow's global
        # context that are never freed, about 4 MB per fit of a small network.
        metrics=[accuracy_metric(loss)]
        + [copy.deepcopy(metric) for metric in metrics or ()],
        steps_per_execution=steps_per_execution(decay_steps),
        # Keras's "auto" skips XLA on CPU-only machines, where its compile time
        # (seconds) outweighs what it saves, and uses it on a GPU.
        jit_compile="auto",
    )
    model.optimizer.build(model.trainable_variables)
