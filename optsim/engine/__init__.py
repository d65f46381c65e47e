"""The optimizer engine: pure NumPy, no Qt. Each optimizer lives in its own module
under ``optimizers`` (found and registered at import); shared pieces of the rules
are in ``transforms``, the equations' expression trees in ``expr``."""

from .base import Closure, Info, Optimizer, Point, Traits
from .hyperparams import HyperParam
from .optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop
from .registry import (
    OPTIMIZERS,
    WRAPPERS,
    OptimizerKind,
    WrapperKind,
    as_optimizer,
    make_optimizer,
    optimizer_kind,
    parse_spec,
    register,
    register_wrapper,
)

__all__ = ["Closure", "Info", "Optimizer", "Point", "Traits", "HyperParam", "OPTIMIZERS",
           "OptimizerKind", "WRAPPERS", "WrapperKind", "register_wrapper",
           "as_optimizer", "make_optimizer", "optimizer_kind", "parse_spec", "register",
           "SGD", "Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "NAdam", "RAdam", "RMSprop"]
