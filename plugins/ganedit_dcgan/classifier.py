"""The Fashion-MNIST classifiers, now shared: see :mod:`ganedit.metrics`.

The DCGAN plugin's stand-in for Inception moved to the public :mod:`ganedit.metrics` (the
translation plugin measures with it too, and a plugin may not import another plugin). This
module keeps the old names for scripts and callers that import them from here.
"""

from __future__ import annotations

from ganedit.metrics import (
    CLASSES,
    CLASSIFIER_64_WEIGHTS,
    CLASSIFIER_WEIGHTS,
    FashionClassifier,
    load_classifier,
    prepare,
)

__all__ = [
    "CLASSES",
    "CLASSIFIER_64_WEIGHTS",
    "CLASSIFIER_WEIGHTS",
    "FashionClassifier",
    "load_classifier",
    "prepare",
]
