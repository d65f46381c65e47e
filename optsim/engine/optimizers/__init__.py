"""The optimizers: one module each, holding everything about one algorithm (its
hyperparameters, state, update rule, equations, note and traits) and the names it
is registered under (``KINDS``, listed in ``ORDER``); a wrapper module
(``lookahead``) lists ``WRAPPERS`` instead.

Modules are found here at import: adding an optimizer is adding one module (and
its golden data, see CONTRIBUTING.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from ..registry import register, register_wrapper

_MODULES = sorted((importlib.import_module(f"{__name__}.{m.name}")
                   for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")),
                  key=lambda m: (m.ORDER, m.__name__))
for _module in _MODULES:
    for _kind in _module.KINDS:
        register(_kind)
    for _wrapper in getattr(_module, "WRAPPERS", ()):
        register_wrapper(_wrapper)

from .adadelta import Adadelta, AdadeltaState  # noqa: E402
from .adagrad import Adagrad, AdagradState  # noqa: E402
from .adam import Adam, AdamState  # noqa: E402
from .adamax import Adamax, AdamaxState  # noqa: E402
from .adamw import AdamW  # noqa: E402
from .nadam import NAdam, NAdamState  # noqa: E402
from .radam import RAdam, RAdamState  # noqa: E402
from .rmsprop import RMSprop, RMSpropState  # noqa: E402
from .sgd import SGD, SGDState  # noqa: E402

__all__ = [
    "SGD", "SGDState", "Adam", "AdamState", "AdamW", "Adagrad", "AdagradState",
    "RMSprop", "RMSpropState", "Adamax", "AdamaxState", "NAdam", "NAdamState",
    "RAdam", "RAdamState", "Adadelta", "AdadeltaState",
]
