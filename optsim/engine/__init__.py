"""The optimizer engine: pure NumPy, no Qt. See ``optimizers`` for the update rules."""

from .base import Info, Optimizer
from .hyperparams import HyperParam
from .optimizers import SGD, Adam
from .registry import (
    OPTIMIZERS,
    OptimizerKind,
    as_optimizer,
    make_optimizer,
    optimizer_kind,
    parse_spec,
    register,
)

register(OptimizerKind("sgd", SGD, "plain (stochastic) gradient descent"))
register(OptimizerKind("momentum", SGD, "SGD with heavy-ball momentum 0.9 (torch's form)",
                       {"momentum": 0.9}))
register(OptimizerKind("nesterov", SGD, "SGD with Nesterov momentum 0.9",
                       {"momentum": 0.9, "nesterov": True}))
register(OptimizerKind("ema-momentum", SGD,
                       "the course's moving-average momentum: m = βm + (1−β)g (dampening = momentum)",
                       {"momentum": 0.9, "dampening": 0.9}))
register(OptimizerKind("adam", Adam, "Adam: momentum plus per-coordinate RMS scaling, bias-corrected"))

__all__ = ["Info", "Optimizer", "HyperParam", "OPTIMIZERS", "OptimizerKind", "as_optimizer",
           "make_optimizer", "optimizer_kind", "parse_spec", "register"]
