r"""The optimizers, following torch.optim's ``_single_tensor_*`` functions operation
by operation, in float64, on (N, D) batches.

Each class documents its update rule as math, and how it differs from other
conventions. :math:`g_t` is the gradient, :math:`w` the parameters, :math:`t` the
step (from 1), :math:`\gamma` the learning rate ``lr``, :math:`\lambda` the
``weight_decay``.

What ``step_with_info`` reports: ``grad`` (after L2 weight decay), ``direction``
and ``effective_lr`` with ``update = -effective_lr * direction`` (up to rounding),
``update`` (new − old parameters) and the rule's intermediates under the names used
here (``bias_correction1``, ``exp_avg_hat``, ``denom``, ...). Scalars of the step
(bias corrections, decayed learning rates) are reported as full (N, D) arrays so
that every entry can be drawn the same way.

torch's scalar-tensor operations map to NumPy as: ``a.add(b, alpha=c)`` = a + c·b;
``a.addcmul(b, c, value=v)`` = a + (v·b)·c; ``a.addcdiv(b, c, value=v)`` = a + (v·b)/c;
``a.lerp(b, w)`` as in :func:`_lerp`. Doing them in that order keeps the
trajectories equal to torch's up to about one rounding per operation: torch's CPU
kernels for ``addcmul``, ``lerp`` and ``add(alpha=)`` use fused multiply-adds, which
NumPy does not have. tests/test_parity.py holds the difference under 1e-9 over 100
steps; only chaotic settings (e.g. centred RMSProp whose variance starts near 0)
amplify it beyond that.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .base import Info, Optimizer, Out
from .hyperparams import (
    HyperParam,
    beta_param,
    eps_param,
    flag_param,
    lr_param,
    weight_decay_param,
)


def _lerp(start: np.ndarray, end: np.ndarray, weight: float, out: np.ndarray) -> np.ndarray:
    """torch.lerp into ``out``: ``start + w (end − start)`` for w < 0.5, else
    ``end − (end − start)(1 − w)`` (as torch computes it)."""
    np.subtract(end, start, out=out)
    if weight < 0.5:
        out *= weight
        out += start
    else:
        out *= 1.0 - weight
        np.subtract(end, out, out=out)
    return out


def _l2(params: np.ndarray, grads: np.ndarray, weight_decay: float) -> np.ndarray:
    """torch: ``grad = grad.add(param, alpha=weight_decay)`` (a new array)."""
    if weight_decay != 0:
        g = params * weight_decay
        g += grads
        return g
    return grads


def _moments(state, grad: np.ndarray, beta1: float, beta2: float,
             out: Out) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adam's two running moments, as torch updates them:
    ``exp_avg.lerp_(grad, 1 - beta1)`` and
    ``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)``.
    Returns them and a spare (N, D) temporary for the caller to reuse."""
    exp_avg = _lerp(state.exp_avg, grad, 1 - beta1, out["exp_avg"])
    exp_avg_sq = np.multiply(state.exp_avg_sq, beta2, out=out["exp_avg_sq"])
    t = grad * (1 - beta2)
    t *= grad
    exp_avg_sq += t
    return exp_avg, exp_avg_sq, t


def _decay(params: np.ndarray, grads: np.ndarray, lr: float, weight_decay: float,
           decoupled: bool, out_params: np.ndarray) -> np.ndarray:
    """Weight decay as NAdam/RAdam apply it: decoupled, ``param.mul_(1 - lr * wd)``
    into ``out_params``; otherwise L2 on the gradient, with ``out_params`` a copy of
    the parameters. Returns the gradient to use."""
    if weight_decay != 0 and decoupled:
        np.multiply(params, 1 - lr * weight_decay, out=out_params)
        return grads
    np.copyto(out_params, params)
    return _l2(params, grads, weight_decay)


def _full(like: np.ndarray, value: float) -> np.ndarray:
    return np.full_like(like, value)


def _set_direction(info: Info, params: np.ndarray, lr: float, weight_decay: float,
                   base: np.ndarray, decoupled: bool) -> None:
    """Report ``direction``: ``base``, or with decoupled weight decay (update
    ``−γλw − effective_lr·base``) ``base + (γλ/effective_lr) w``, so that
    ``update == −effective_lr · direction`` holds either way."""
    if not decoupled:
        info["direction"] = base
        return
    info["decay"] = params * (-lr * weight_decay)
    if weight_decay != 0 and lr != 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            info["direction"] = base + (lr * weight_decay) / info["effective_lr"] * params
    else:
        info["direction"] = base


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
    Note that torch (and so this) starts the buffer at :math:`g_1`, not at
    :math:`(1-\tau) g_1`.

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
            raise ValueError(
                f"{self.name}: Nesterov momentum requires a momentum and zero dampening: "
                f"nesterov=true needs momentum in (0, 1) and dampening = 0, got "
                f"momentum={hp['momentum']:g}, dampening={hp['dampening']:g}"
            )

    def live_fields(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self.hp["momentum"] != 0 else ()

    def _update(self, params, grads, state: SGDState, step: int, out_params, out: Out,
                info: Info | None) -> None:
        lr, mu, tau = self.hp["lr"], self.hp["momentum"], self.hp["dampening"]
        grad = _l2(params, grads, self.hp["weight_decay"])
        if mu != 0:
            buf = out["momentum_buffer"]
            if step == 1:
                np.copyto(buf, grad)
            else:
                np.multiply(state.momentum_buffer, mu, out=buf)
                t = grad * (1 - tau)
                buf += t
            if self.hp["nesterov"]:
                direction = buf * mu
                direction += grad
            else:
                direction = buf
        else:
            direction = grad
        np.multiply(direction, -lr, out=out_params)
        out_params += params
        if info is not None:
            info.update(grad=grad, direction=direction, effective_lr=_full(params, lr))
            if mu != 0:
                info["momentum_buffer"] = buf


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
    shows the rule without bias correction. torch computes the denominator as
    :math:`\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon` and the step size as
    :math:`\gamma/(1-\beta_1^t)`; so does this.

    ``effective_lr`` is :math:`\gamma / (\sqrt{\hat v_t} + \epsilon)` (= γ/``denom``),
    the factor multiplying ``direction`` = :math:`\hat m_t`.
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

    def live_fields(self) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.hp["amsgrad"] else ())

    def _update(self, params, grads, state: AdamState, step: int, out_params, out: Out,
                info: Info | None) -> None:
        hp = self.hp
        lr, beta1, beta2, eps, wd = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
        decoupled = self.decoupled_weight_decay
        grad = grads if decoupled else _l2(params, grads, wd)
        exp_avg, exp_avg_sq, t = _moments(state, grad, beta1, beta2, out)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if hp["amsgrad"]:
            second = np.maximum(state.max_exp_avg_sq, exp_avg_sq, out=out["max_exp_avg_sq"])
        else:
            second = exp_avg_sq
        denom = np.sqrt(second)
        denom /= bias_correction2_sqrt
        denom += eps
        np.multiply(exp_avg, -step_size, out=t)
        t /= denom
        if decoupled:  # param.mul_(1 - lr * weight_decay) comes first in torch
            np.multiply(params, 1 - lr * wd, out=out_params)
            out_params += t
        else:
            np.add(params, t, out=out_params)
        if info is not None:
            info.update(
                grad=grad,
                exp_avg=exp_avg,
                exp_avg_sq=exp_avg_sq,
                bias_correction1=_full(params, bias_correction1),
                bias_correction2=_full(params, bias_correction2),
                exp_avg_hat=exp_avg / bias_correction1,
                exp_avg_sq_hat=second / bias_correction2,
                denom=denom,
                effective_lr=lr / denom,
            )
            if hp["amsgrad"]:
                info["max_exp_avg_sq"] = second
            _set_direction(info, params, lr, wd, info["exp_avg_hat"], decoupled)


class AdamW(Adam):
    r"""AdamW (Loshchilov & Hutter): Adam with decoupled weight decay.

    .. math::
        w' &= w_{t-1} (1 - \gamma\lambda) \\
        m_t, v_t, \hat m_t, \hat v_t &\ \text{as in Adam, from the raw gradient} \\
        w_t &= w' - \gamma \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    Differs from Adam's ``weight_decay`` (an L2 term added to the gradient, which
    then gets divided by :math:`\sqrt{\hat v}`): here the decay shrinks the weights
    directly, at the same rate for every coordinate. torch's default
    ``weight_decay`` is 1e-2 (Adam's is 0).

    ``effective_lr`` is γ/``denom`` as in Adam; ``direction`` is
    :math:`\hat m_t + \lambda\,\mathrm{denom}\, w_{t-1}`, so that the decay step
    ``decay`` = :math:`-\gamma\lambda w_{t-1}` is part of
    ``update = −effective_lr · direction``.
    """

    algorithm = "adamw"
    hyperparams = tuple(
        p.with_default(1e-2) if p.name == "weight_decay" else p for p in Adam.hyperparams
    )
    decoupled_weight_decay = True


# ---------------------------------------------------------------------------
class AdagradState(NamedTuple):
    step: int
    sum: np.ndarray


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.): divide by the root of the sum of all squared gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        \tilde\gamma_t &= \gamma / (1 + (t-1)\eta) \\
        s_t &= s_{t-1} + g_t^2, \quad s_0 = \text{initial\_accumulator\_value} \\
        w_t &= w_{t-1} - \tilde\gamma_t\, g_t / (\sqrt{s_t} + \epsilon)

    (η = ``lr_decay``.) The sum never decays, so steps only ever shrink: the
    difference from RMSProp, which keeps a moving average instead. ε is added
    after the square root, as in torch (some write :math:`\sqrt{s_t + \epsilon}`).

    ``effective_lr`` is :math:`\tilde\gamma_t/(\sqrt{s_t}+\epsilon)`; ``direction``
    is :math:`g_t`. ``lr_t`` is :math:`\tilde\gamma_t`, ``std`` the denominator.
    """

    algorithm = "adagrad"
    hyperparams = (
        lr_param(1e-2),
        HyperParam("lr_decay", float, 0.0,
                   "learning-rate decay η: step t uses lr / (1 + (t − 1) η)", low=0.0, high=1e3),
        weight_decay_param(),
        HyperParam("initial_accumulator_value", float, 0.0,
                   "starting value of the sum of squared gradients", low=0.0, high=1e6),
        eps_param(1e-10),
    )
    State = AdagradState

    def initial_values(self) -> dict[str, float]:
        return {"sum": self.hp["initial_accumulator_value"]}

    def _update(self, params, grads, state: AdagradState, step: int, out_params, out: Out,
                info: Info | None) -> None:
        hp = self.hp
        grad = _l2(params, grads, hp["weight_decay"])
        clr = hp["lr"] / (1 + (step - 1) * hp["lr_decay"])
        s = np.multiply(grad, grad, out=out["sum"])  # sum.addcmul_(grad, grad, value=1)
        s += state.sum
        std = np.sqrt(s)
        std += hp["eps"]
        np.multiply(grad, -clr, out=out_params)
        out_params /= std
        out_params += params
        if info is not None:
            info.update(grad=grad, sum=s, lr_t=_full(params, clr), std=std, denom=std,
                        effective_lr=clr / std, direction=grad)


# ---------------------------------------------------------------------------
class RMSpropState(NamedTuple):
    step: int
    square_avg: np.ndarray
    grad_avg: np.ndarray
    momentum_buffer: np.ndarray


class RMSprop(Optimizer):
    r"""RMSProp (Hinton): divide by the root of a moving average of squared gradients.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        v_t &= \alpha v_{t-1} + (1-\alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha) g_t \quad\text{(centered)} \\
        a_t &= \sqrt{v_t} + \epsilon, \quad\text{or}\ \sqrt{v_t - \bar g_t^2} + \epsilon
            \ \text{(centered)} \\
        b_t &= \mu b_{t-1} + g_t / a_t, \quad w_t = w_{t-1} - \gamma b_t
            \quad\text{(momentum } \mu > 0) \\
        w_t &= w_{t-1} - \gamma g_t / a_t \quad\text{(otherwise)}

    Convention: torch calls the decay ``alpha`` (the course text writes β₂, Keras
    ``rho``), adds ε after the square root, and applies no bias correction (the
    first steps are large because :math:`v` starts at 0). Momentum accumulates the
    already-scaled gradient :math:`g/a`.

    Without momentum ``effective_lr`` is :math:`\gamma/a_t` and ``direction`` is
    :math:`g_t`; with momentum the scaling is inside the buffer, so
    ``effective_lr`` is γ and ``direction`` is :math:`b_t`. ``denom`` is :math:`a_t`.
    """

    algorithm = "rmsprop"
    hyperparams = (
        lr_param(1e-2),
        HyperParam("alpha", float, 0.99, "smoothing constant α of the squared-gradient average",
                   low=0.0, high=1.0),
        eps_param(1e-8),
        weight_decay_param(),
        HyperParam("momentum", float, 0.0, "momentum factor μ (0: none)",
                   low=0.0, high=1.0, high_open=True),
        flag_param("centered", "centered: divide by an estimate of the variance instead"),
    )
    State = RMSpropState

    def live_fields(self) -> tuple[str, ...]:
        return (("square_avg",) + (("grad_avg",) if self.hp["centered"] else ())
                + (("momentum_buffer",) if self.hp["momentum"] > 0 else ()))

    def _update(self, params, grads, state: RMSpropState, step: int, out_params, out: Out,
                info: Info | None) -> None:
        hp = self.hp
        lr, alpha, eps, mu = hp["lr"], hp["alpha"], hp["eps"], hp["momentum"]
        grad = _l2(params, grads, hp["weight_decay"])
        square_avg = np.multiply(state.square_avg, alpha, out=out["square_avg"])
        t = grad * (1 - alpha)
        t *= grad
        square_avg += t
        if hp["centered"]:
            grad_avg = _lerp(state.grad_avg, grad, 1 - alpha, out["grad_avg"])
            np.multiply(grad_avg, grad_avg, out=t)  # square_avg.addcmul(ga, ga, value=-1)
            avg = np.subtract(square_avg, t)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(square_avg)
        avg += eps
        if mu > 0:
            buf = np.multiply(state.momentum_buffer, mu, out=out["momentum_buffer"])
            np.divide(grad, avg, out=t)
            buf += t
            np.multiply(buf, -lr, out=out_params)
        else:
            np.multiply(grad, -lr, out=out_params)
            out_params /= avg
        out_params += params
        if info is not None:
            info.update(grad=grad, square_avg=square_avg, denom=avg)
            if hp["centered"]:
                info["grad_avg"] = grad_avg
            if mu > 0:
                info.update(momentum_buffer=buf, effective_lr=_full(params, lr), direction=buf)
            else:
                info.update(effective_lr=lr / avg, direction=grad)


# ---------------------------------------------------------------------------
class AdamaxState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_inf: np.ndarray


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba): Adam with the infinity norm in place of the RMS.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
        w_t &= w_{t-1} - \frac{\gamma}{1-\beta_1^t}\, m_t / u_t

    Convention: torch adds ε to :math:`|g_t|` inside the max (the paper has no ε);
    :math:`u_t` needs no bias correction.

    ``effective_lr`` is :math:`\gamma/u_t`; ``direction`` is
    :math:`\hat m_t = m_t/(1-\beta_1^t)`.
    """

    algorithm = "adamax"
    hyperparams = (
        lr_param(2e-3),
        beta_param("beta1", 0.9, "β₁: decay of the running average of gradients (momentum)"),
        beta_param("beta2", 0.999, "β₂: decay of the running maximum of |gradient|"),
        eps_param(1e-8),
        weight_decay_param(),
    )
    State = AdamaxState

    def _update(self, params, grads, state: AdamaxState, step: int, out_params, out: Out,
                info: Info | None) -> None:
        hp = self.hp
        lr, beta1, beta2, eps = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"]
        grad = _l2(params, grads, hp["weight_decay"])
        exp_avg = _lerp(state.exp_avg, grad, 1 - beta1, out["exp_avg"])
        exp_inf = np.multiply(state.exp_inf, beta2, out=out["exp_inf"])
        t = np.abs(grad)
        t += eps
        np.maximum(exp_inf, t, out=exp_inf)
        bias_correction = 1 - beta1**step
        clr = lr / bias_correction
        np.multiply(exp_avg, -clr, out=out_params)
        out_params /= exp_inf
        out_params += params
        if info is not None:
            hat = exp_avg / bias_correction
            info.update(grad=grad, exp_avg=exp_avg, exp_inf=exp_inf,
                        bias_correction1=_full(params, bias_correction), exp_avg_hat=hat,
                        denom=exp_inf, effective_lr=lr / exp_inf, direction=hat)


# ---------------------------------------------------------------------------
class NAdamState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray
    mu_product: np.ndarray


class NAdam(Optimizer):
    r"""NAdam (Dozat): Adam with Nesterov momentum and a momentum schedule.

    .. math::
        \mu_t &= \beta_1 (1 - \tfrac12\, 0.96^{t\psi}), \quad
            \Pi_t = \textstyle\prod_{s\le t} \mu_s \\
        m_t, v_t &\ \text{as in Adam} \\
        w_t &= w_{t-1} - \gamma \Big( \frac{1-\mu_t}{1-\Pi_t} g_t
            + \frac{\mu_{t+1}}{1-\Pi_t\mu_{t+1}} m_t \Big)
            \Big/ \Big( \sqrt{v_t/(1-\beta_2^t)} + \epsilon \Big)

    (ψ = ``momentum_decay``.) Weight decay: L2 (:math:`g_t \leftarrow g_t + \lambda w`)
    or, with ``decoupled_weight_decay``, :math:`w \leftarrow w(1-\gamma\lambda)` first
    (as AdamW). Convention: torch's rule, with the schedule :math:`\mu_t` of the
    paper; Keras' Nadam uses a fixed β₁ instead. ``mu_product`` :math:`\Pi_t` is kept
    per coordinate (it is the same everywhere) so that it is recorded like any state.

    ``effective_lr`` is γ/``denom``; ``direction`` is the bracket, the
    Nesterov-corrected momentum (plus :math:`\lambda\,\mathrm{denom}\,w` with
    decoupled weight decay). ``grad_coef`` and ``exp_avg_coef`` are its two factors.
    """

    algorithm = "nadam"
    hyperparams = (
        lr_param(2e-3),
        beta_param("beta1", 0.9, "β₁: decay of the running average of gradients (momentum)"),
        beta_param("beta2", 0.999, "β₂: decay of the running average of squared gradients"),
        eps_param(1e-8),
        weight_decay_param(),
        HyperParam("momentum_decay", float, 4e-3, "ψ: how fast the momentum schedule warms up",
                   low=0.0, high=1e3),
        flag_param("decoupled_weight_decay", "decoupled weight decay, as AdamW (NAdamW)"),
    )
    State = NAdamState

    def initial_values(self) -> dict[str, float]:
        return {"mu_product": 1.0}

    def _update(self, params, grads, state: NAdamState, step: int, out_params, out: Out,
                info: Info | None) -> None:
        hp = self.hp
        lr, beta1, beta2, eps, wd = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
        psi = hp["momentum_decay"]
        bias_correction2 = 1 - beta2**step
        grad = _decay(params, grads, lr, wd, hp["decoupled_weight_decay"], out_params)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
        mu_product = np.multiply(state.mu_product, mu, out=out["mu_product"])
        exp_avg, exp_avg_sq, t = _moments(state, grad, beta1, beta2, out)
        denom = np.divide(exp_avg_sq, bias_correction2)
        np.sqrt(denom, out=denom)
        mu_product_next = mu_product * mu_next
        denom += eps
        # param.addcdiv_(grad, denom, value=-lr (1 - mu) / (1 - mu_product))
        grad_coef = np.subtract(1.0, mu_product)
        np.divide(-lr * (1.0 - mu), grad_coef, out=grad_coef)
        np.multiply(grad_coef, grad, out=t)
        t /= denom
        out_params += t
        # param.addcdiv_(exp_avg, denom, value=-lr mu_next / (1 - mu_product_next))
        avg_coef = np.subtract(1.0, mu_product_next, out=mu_product_next)
        np.divide(-lr * mu_next, avg_coef, out=avg_coef)
        np.multiply(avg_coef, exp_avg, out=t)
        t /= denom
        out_params += t
        if info is not None:
            gc = (1.0 - mu) / (1.0 - mu_product)
            ac = mu_next / (1.0 - mu_product * mu_next)
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, mu_product=mu_product,
                        mu=_full(params, mu), mu_next=_full(params, mu_next),
                        bias_correction2=_full(params, bias_correction2),
                        exp_avg_sq_hat=exp_avg_sq / bias_correction2, denom=denom,
                        grad_coef=gc, exp_avg_coef=ac, effective_lr=lr / denom)
            base = gc * grad + ac * exp_avg
            _set_direction(info, params, lr, wd, base, hp["decoupled_weight_decay"])


# ---------------------------------------------------------------------------
class RAdamState(NamedTuple):
    step: int
    exp_avg: np.ndarray
    exp_avg_sq: np.ndarray


class RAdam(Optimizer):
    r"""RAdam (Liu et al.): Adam with a rectified, warm-up-free adaptive rate.

    .. math::
        m_t, v_t, \hat m_t &\ \text{as in Adam} \\
        \rho_\infty &= 2/(1-\beta_2) - 1, \quad
            \rho_t = \rho_\infty - 2 t \beta_2^t / (1-\beta_2^t) \\
        r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}},
            \quad l_t = \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} \\
        w_t &= w_{t-1} - \gamma\, \hat m_t\, l_t\, r_t \quad (\rho_t > 5), \qquad
            w_t = w_{t-1} - \gamma\, \hat m_t \quad\text{(otherwise: SGD with momentum)}

    Weight decay: L2, or with ``decoupled_weight_decay`` :math:`w \leftarrow
    w(1-\gamma\lambda)` first. Convention: torch's threshold is ρ_t > 5 (the paper
    uses 4); ε is added after the square root.

    ``effective_lr`` is :math:`\gamma l_t r_t` (γ while ρ_t ≤ 5); ``direction`` is
    :math:`\hat m_t` (plus the decoupled decay term). ``rect`` is :math:`r_t`,
    ``adaptive_lr`` :math:`l_t` (both 1 while ρ_t ≤ 5), ``rho_t`` :math:`\rho_t`.
    """

    algorithm = "radam"
    hyperparams = (
        lr_param(1e-3),
        beta_param("beta1", 0.9, "β₁: decay of the running average of gradients (momentum)"),
        beta_param("beta2", 0.999, "β₂: decay of the running average of squared gradients"),
        eps_param(1e-8),
        weight_decay_param(),
        flag_param("decoupled_weight_decay", "decoupled weight decay, as AdamW"),
    )
    State = RAdamState

    def _update(self, params, grads, state: RAdamState, step: int, out_params, out: Out,
                info: Info | None) -> None:
        hp = self.hp
        lr, beta1, beta2, eps, wd = hp["lr"], hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
        grad = _decay(params, grads, lr, wd, hp["decoupled_weight_decay"], out_params)
        exp_avg, exp_avg_sq, t = _moments(state, grad, beta1, beta2, out)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        hat = np.divide(exp_avg, bias_correction1)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        np.multiply(hat, lr, out=t)
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = np.sqrt(exp_avg_sq)
            adaptive += eps
            np.divide(bias_correction2**0.5, adaptive, out=adaptive)
            t *= adaptive
            t *= rect
        else:
            rect = 1.0
            adaptive = None
        out_params -= t
        if info is not None:
            info.update(grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq,
                        bias_correction1=_full(params, bias_correction1),
                        bias_correction2=_full(params, bias_correction2),
                        exp_avg_hat=hat, rho_inf=_full(params, rho_inf),
                        rho_t=_full(params, rho_t), rect=_full(params, rect),
                        adaptive_lr=_full(params, 1.0) if adaptive is None else adaptive)
            info["effective_lr"] = (_full(params, lr) if adaptive is None
                                    else lr * adaptive * rect)
            _set_direction(info, params, lr, wd, hat, hp["decoupled_weight_decay"])


# ---------------------------------------------------------------------------
class AdadeltaState(NamedTuple):
    step: int
    square_avg: np.ndarray
    acc_delta: np.ndarray


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler): a step in the units of the parameters, no tuning of lr needed.

    .. math::
        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        v_t &= \rho v_{t-1} + (1-\rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho u_{t-1} + (1-\rho) \Delta_t^2 \\
        w_t &= w_{t-1} - \gamma \Delta_t

    Convention: the paper has no learning rate (γ = 1, torch's default); ε goes
    inside both square roots (unlike Adam/RMSProp), and it is what makes the very
    first steps non-zero, so the default 1e-6 sets the initial step size.

    ``effective_lr`` is :math:`\gamma\sqrt{u_{t-1}+\epsilon}/\sqrt{v_t+\epsilon}`;
    ``direction`` is :math:`g_t`. ``std`` and ``delta_scale`` are the two roots,
    ``delta`` is :math:`\Delta_t`.
    """

    algorithm = "adadelta"
    hyperparams = (
        lr_param(1.0),
        HyperParam("rho", float, 0.9, "ρ: decay of the running averages", low=0.0, high=1.0),
        eps_param(1e-6),
        weight_decay_param(),
    )
    State = AdadeltaState

    def _update(self, params, grads, state: AdadeltaState, step: int, out_params, out: Out,
                info: Info | None) -> None:
        hp = self.hp
        lr, rho, eps = hp["lr"], hp["rho"], hp["eps"]
        grad = _l2(params, grads, hp["weight_decay"])
        square_avg = np.multiply(state.square_avg, rho, out=out["square_avg"])
        t = grad * (1 - rho)
        t *= grad
        square_avg += t
        std = np.add(square_avg, eps)
        np.sqrt(std, out=std)
        delta = np.add(state.acc_delta, eps)
        np.sqrt(delta, out=delta)
        scale = delta.copy() if info is not None else None
        delta /= std
        delta *= grad
        acc_delta = np.multiply(state.acc_delta, rho, out=out["acc_delta"])
        np.multiply(delta, 1 - rho, out=t)
        t *= delta
        acc_delta += t
        np.multiply(delta, -lr, out=out_params)
        out_params += params
        if info is not None:
            info.update(grad=grad, square_avg=square_avg, acc_delta=acc_delta, std=std,
                        denom=std, delta_scale=scale, delta=delta, effective_lr=lr * scale / std,
                        direction=grad)


__all__ = [
    "SGD", "SGDState", "Adam", "AdamState", "AdamW", "Adagrad", "AdagradState",
    "RMSprop", "RMSpropState", "Adamax", "AdamaxState", "NAdam", "NAdamState",
    "RAdam", "RAdamState", "Adadelta", "AdadeltaState",
]
