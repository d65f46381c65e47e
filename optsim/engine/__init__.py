"""The optimizer engine: pure NumPy, no Qt. See ``optimizers`` for the update rules."""

from .base import Info, Optimizer
from .hyperparams import HyperParam
from .optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop
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
                       {"momentum": 0.9, "dampening": 0.9}, tied={"dampening": "momentum"}))
register(OptimizerKind("adam", Adam, "Adam: momentum plus per-coordinate RMS scaling, bias-corrected"))
register(OptimizerKind("adamw", AdamW, "AdamW: Adam with decoupled weight decay (shrinks weights directly)"))
register(OptimizerKind("adagrad", Adagrad, "Adagrad: divide by the root of the sum of all squared gradients"))
register(OptimizerKind("rmsprop", RMSprop, "RMSProp: divide by the root of a moving average of squared gradients"))
register(OptimizerKind("adamax", Adamax, "Adamax: Adam with a decaying maximum of |gradient| instead of the RMS"))
register(OptimizerKind("nadam", NAdam, "NAdam: Adam with Nesterov momentum and a warming-up momentum schedule"))
register(OptimizerKind("radam", RAdam, "RAdam: Adam whose adaptive rate is switched on gradually (rectified)"))
register(OptimizerKind("adadelta", Adadelta, "Adadelta: steps sized by a running average of past steps, lr 1"))

__all__ = ["Info", "Optimizer", "HyperParam", "OPTIMIZERS", "OptimizerKind", "as_optimizer",
           "make_optimizer", "optimizer_kind", "parse_spec", "register"]
