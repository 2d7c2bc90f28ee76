"""Names of the optimizers, activations, initializers and backbones we accept.

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

# The Keras applications PretrainedNetClassifier offers, and the smallest input
# height and width each accepts (Keras's own limits); the Keras side of each
# is in _backbones.py.
BACKBONE_MIN_SIZES = {
    "vgg16": 32,
    "vgg19": 32,
    "resnet50": 32,
    "resnet101": 32,
    "resnet152": 32,
    "inception_v3": 75,
    "mobilenet_v2": 32,
    "efficientnet_b0": 32,
}
