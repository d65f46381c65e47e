"""The optimizers, following torch.optim's ``_single_tensor_*`` functions operation
by operation, in float64, on (N, D) batches.

Each class documents its update rule as math, and how it differs from other
conventions. ``g`` is the gradient, ``w`` the parameters, ``t`` the step (from 1).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .base import Info, Optimizer
from .hyperparams import (
    HyperParam,
    beta_param,
    eps_param,
    flag_param,
    lr_param,
    weight_decay_param,
)


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """torch.lerp: ``start + weight * (end - start)``, computed as torch does."""
    if weight < 0.5:
        out = end - start
        out *= weight
        out += start
    else:
        out = end - start
        out *= -(1.0 - weight)
        out += end
    return out


def _with_weight_decay(params: np.ndarray, grads: np.ndarray, weight_decay: float) -> np.ndarray:
    """torch: ``grad = grad.add(param, alpha=weight_decay)``."""
    if weight_decay != 0:
        return grads + weight_decay * params
    return grads


# ---------------------------------------------------------------------------
class SGDState(NamedTuple):
    step: int
    momentum_buffer: np.ndarray


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum, dampening, Nesterov.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        b_1 &= g_1, \quad b_t = \mu b_{t-1} + (1-\tau) g_t \\
        d_t &= g_t + \mu b_t \ \text{(nesterov)}, \quad\text{else}\ d_t = b_t \\
        w_t &= w_{t-1} - \gamma d_t

    With ``momentum = 0``, :math:`d_t = g_t`. Convention: this is torch's
    "heavy-ball" form, where the buffer accumulates gradients and the learning rate
    scales the whole buffer. The course text's moving average
    :math:`m_t = \beta m_{t-1} + (1-\beta) g_t` is the case ``dampening = momentum``
    (``ema-momentum``): same direction, steps 1/(1−β) times smaller. Sutskever's
    form :math:`v \leftarrow \mu v - \gamma g` equals this one for a constant lr.

    ``effective_lr`` is γ; ``direction`` is :math:`d_t`.
    """

    algorithm = "sgd"
    hyperparams = (
        lr_param(1e-3),
        HyperParam("momentum", float, 0.0, "momentum factor μ: how much of the last step is kept",
                   low=0.0, high=1.0, high_open=True),
        HyperParam("dampening", float, 0.0,
                   "dampening τ for momentum: the new gradient is scaled by (1 − τ)",
                   low=0.0, high=1.0),
        flag_param("nesterov", "Nesterov momentum: look ahead along the momentum buffer"),
        weight_decay_param(),
    )
    State = SGDState

    def check(self) -> None:
        hp = self.hp
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError(f"{self.name}: Nesterov momentum requires a momentum and zero dampening")

    def init(self, params: np.ndarray) -> SGDState:
        return SGDState(0, np.zeros_like(params, dtype=np.float64))

    def _update(self, params, grads, state: SGDState, info: Info | None):
        lr, mu, tau = self.hp["lr"], self.hp["momentum"], self.hp["dampening"]
        grad = _with_weight_decay(params, grads, self.hp["weight_decay"])
        buf = state.momentum_buffer
        if mu != 0:
            if state.step == 0:
                buf = grad.copy()
            else:
                buf = buf * mu
                buf += (1 - tau) * grad
            direction = grad + mu * buf if self.hp["nesterov"] else buf
        else:
            direction = grad
        new = params + (-lr) * direction
        if info is not None:
            info.update(grad=grad, momentum_buffer=buf, direction=direction,
                        effective_lr=np.full_like(params, lr))
        return new, SGDState(state.step + 1, buf)


# ---------------------------------------------------------------------------
class AdamState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    max_exp_avg_sq: np.ndarray


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), with optional AMSGrad and L2 weight decay.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \hat m_t &= m_t / (1-\beta_1^t), \quad \hat v_t = v_t / (1-\beta_2^t)
            \quad (\hat v_t = \max_{s\le t} v_s / (1-\beta_2^t) \text{ with AMSGrad}) \\
        w_t &= w_{t-1} - \gamma \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    Convention: ε is added after the square root and after bias correction, as in
    torch (the paper's ε-hat variant puts it inside differently). The course text
    shows the rule without bias correction. ``effective_lr`` is
    :math:`\gamma / (\sqrt{\hat v_t} + \epsilon)`, the factor multiplying
    :math:`\hat m_t`.
    """

    algorithm = "adam"
    hyperparams = (
        lr_param(1e-3),
        beta_param("beta1", 0.9, "β₁: decay of the running average of gradients (momentum)"),
        beta_param("beta2", 0.999, "β₂: decay of the running average of squared gradients"),
        eps_param(1e-8),
        weight_decay_param(),
        flag_param("amsgrad", "AMSGrad: divide by the largest v seen so far"),
    )
    State = AdamState
    decoupled_weight_decay = False

    def init(self, params: np.ndarray) -> AdamState:
        z = np.zeros_like(params, dtype=np.float64)
        return AdamState(0, z, z.copy(), z.copy())

    def _update(self, params, grads, state: AdamState, info: Info | None):
        hp = self.hp
        lr, beta1, beta2, eps, wd = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
        step = state.step + 1
        if self.decoupled_weight_decay:
            params = params * (1 - lr * wd)
            grad = grads
        else:
            grad = _with_weight_decay(params, grads, wd)
        exp_avg = _lerp(state.exp_avg, grad, 1 - beta1)
        exp_avg_sq = state.exp_avg_sq * beta2
        sq = grad * (1 - beta2)
        sq *= grad
        exp_avg_sq += sq
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if hp["amsgrad"]:
            max_exp_avg_sq = np.maximum(state.max_exp_avg_sq, exp_avg_sq)
            denom = np.sqrt(max_exp_avg_sq)
        else:
            max_exp_avg_sq = state.max_exp_avg_sq
            denom = np.sqrt(exp_avg_sq)
        denom /= bias_correction2_sqrt
        denom += eps
        update = exp_avg * (-step_size)
        update /= denom
        new = params + update
        if info is not None:
            info.update(
                grad=grad,
                exp_avg=exp_avg,
                exp_avg_sq=exp_avg_sq,
                bias_correction1=np.full_like(params, bias_correction1),
                bias_correction2=np.full_like(params, bias_correction2),
                exp_avg_hat=exp_avg / bias_correction1,
                exp_avg_sq_hat=(max_exp_avg_sq if hp["amsgrad"] else exp_avg_sq) / bias_correction2,
                denom=denom,
                effective_lr=lr / (denom * 1.0),
            )
        return new, AdamState(step, exp_avg, exp_avg_sq, max_exp_avg_sq)


__all__ = ["SGD", "SGDState", "Adam", "AdamState", "math"]
