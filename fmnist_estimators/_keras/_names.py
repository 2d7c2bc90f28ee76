"""Names of Keras optimizers, activations and initializers the estimators accept.

Plain strings, so that parameter validation needs no Keras import.
"""

OPTIMIZERS = ("adam", "nadam", "adamw", "sgd", "rmsprop", "adadelta", "adagrad")

ACTIVATIONS = (
    "relu",
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "linear",
    "elu",
    "selu",
    "leaky_relu",
    "gelu",
    "swish",
)

INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "zeros",
    "ones",
)
