"""The vocabularies of the config (the names each key allows) and the numeric limits of its keys.

Defined once, here; the registries that implement them (`lr_jax.models.BUILDERS`, `lr_jax.models.mlp.ACTIVATIONS`,
`lr_jax.data.loader.SOURCES`) are tied to these sets by `tests/config/test_vocab.py`.
"""

# The metrics a run reports per split, and whether a larger value is better (max) or a smaller one (min).
METRIC_DIRECTIONS = {
    "accuracy": "max",
    "precision": "max",
    "recall": "max",
    "f1": "max",
    "roc_auc": "max",
    "log_loss": "min",
    "cost": "min",
}
MAX_INT = 2**63 - 1  # what NumPy's int64 holds
MAX_FLOAT = 1.7976931348623157e308  # the largest finite float64
MAX_SEED = 2**32 - 1  # the range of NumPy's seeds and JAX's uint32 key data
MAX_STEPS = 2**31 - 1  # the step counter is int32
MAX_IMAGE_SIZE = 4096  # 4096x4096 RGB is 48 MiB per image already
DATASETS = frozenset({"catvnoncat", "digits", "image_folder", "synthetic"})
DIGITS_CLASSES = 10  # data=digits: scikit-learn's load_digits, the digits 0 to 9
TEACHERS = ("linear", "mlp")  # the labels of data=synthetic (lr_jax/data/synthetic.py)
MODELS = frozenset({"logistic", "mlp"})  # lr_jax.models.BUILDERS builds each
# model.output: sigmoid (one unit, two classes: the course), softmax (one unit per class), or auto (softmax
# iff the data have more than two classes).
OUTPUTS = ("auto", "sigmoid", "softmax")
INITS = frozenset({"zeros", "normal", "he", "xavier", "course"})
LOGISTIC_INITS = frozenset({"zeros", "normal"})
ACTIVATIONS = frozenset(
    {"relu", "leaky_relu", "tanh", "sigmoid"}
)  # of the MLP's hidden units (lr_jax.models.mlp.ACTIVATIONS)
OPTIMIZERS = frozenset({"sgd", "adam", "lbfgs"})
SCHEDULES = frozenset({"constant", "exponential", "cosine"})
CLASS_WEIGHTS = (None, "balanced")
SWEEP_FIGURES = ("summary", "all")  # sweep.figures: the summary's learning_curves.png only, or every point's too
PRECISIONS = ("float32", "float64")
PARAMETRIZATIONS = ("auto", "weights", "span")  # train.parametrization (lr_jax/span.py)
