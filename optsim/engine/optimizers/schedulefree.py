r"""Schedule-Free SGD and AdamW (the ``schedulefree`` package 1.4.1:
``SGDScheduleFree``, ``AdamWScheduleFree``), in train mode.

Schedule-Free keeps three sequences: z, the plain SGD (or Adam) iterates; x, a
weighted average of the z's, which is what one evaluates (``optimizer.eval()``
puts it into the parameters); and y, the point between them where the gradient is
taken, which is what the parameters hold in train mode. optsim's parameters are
y, as the reference's are while training; x is an extra point the window draws as
a second marker (:meth:`ScheduleFree.points`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from ..base import Coefs, Info, Optimizer, Out, Point, Rule
from ..expr import Quantity, S, T, maximum, sqrt, state_quantity
from ..hyperparams import HyperParam, beta_param, eps_param, lr_param, weight_decay_param
from ..registry import OptimizerKind
from ..transforms import bias_correction, ema, full, l2, lerp


class SGDScheduleFreeState(NamedTuple):
    step: int
    z: np.ndarray
    #: the reference keeps these two per parameter group: here per run, the same
    #: number in every coordinate
    weight_sum: np.ndarray
    lr_max: np.ndarray


class AdamWScheduleFreeState(NamedTuple):
    step: int
    z: np.ndarray
    exp_avg_sq: np.ndarray
    weight_sum: np.ndarray
    lr_max: np.ndarray


def _sf_params(lr: float) -> tuple[HyperParam, ...]:
    """The warm-up and averaging settings both share (after lr and the moments)."""
    return (
        HyperParam("warmup_steps", int, 0, "linear warm-up of the lr over this many steps "
                   "(Schedule-Free needs no other schedule)", low=0, high=10**9,
                   symbol="T<sub>w</sub>"),
        HyperParam("r", float, 0.0, "polynomial weighting of the average: step t weighs t^r",
                   low=0.0, high=100.0, symbol="r"),
        HyperParam("weight_lr_power", float, 2.0, "the average weighs each step by the largest "
                   "lr so far to this power (0: no weighting by lr)", low=0.0, high=100.0,
                   symbol="p"),
    )


def _weights(step: int, lr_max: Any, r: Any, power: Any) -> Any:
    """``((k+1) ** r) * (lr_max ** weight_lr_power)`` as the reference computes it, in
    Python floats: once when every row has the same values (a float), else once per
    distinct (lr_max, r, power) of the rows, as an (N, 1) column (so that a row of a
    batch is the run alone to the last bit)."""
    values = []
    for a in (lr_max, r, power):
        if type(a) is np.ndarray:
            flat = a.reshape(-1)
            if not (flat == flat[0]).all():
                break
            a = flat[0].item()
        values.append(a)
    else:
        lm, rr, pw = values
        return (step ** rr) * (lm ** pw)
    n = max(np.shape(a)[0] for a in (lr_max, r, power) if type(a) is np.ndarray)
    table = np.column_stack([np.broadcast_to(np.asarray(a, dtype=np.float64).reshape(-1, 1),
                                             (n, 1))[:, 0] for a in (lr_max, r, power)])
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    values = np.array([(step ** rr) * (lm ** pw) for lm, rr, pw in unique.tolist()])
    return values[inverse.reshape(-1)][:, None]


def _column(a: np.ndarray) -> np.ndarray:
    """A per-run number kept in every coordinate, as an (N, 1) column."""
    return a[:, :1]


class ScheduleFree(Optimizer):
    """What both Schedule-Free optimizers share: the warm-up, the weights of the
    average and its coefficient c, and the extra point x."""

    reference = ""
    extra_points = (Point("x", "x<sub>t</sub>", "averaged point x: what you evaluate "
                          "(optimizer.eval())"),)
    #: the hyperparameter that sets y between x and z (SGD: momentum, AdamW: beta1)
    interpolation = "momentum"

    def initial_values(self) -> dict[str, Any]:
        return {"lr_max": -1.0}

    def init(self, params: np.ndarray) -> Any:
        """z starts at the parameters (the reference clones them at the first step)."""
        state = super().init(params)
        np.copyto(state.z, params)
        return state

    def averaging(self, c: Coefs, state: Any, step: int, out: Out) -> tuple[Any, Any, Any]:
        """The step's scheduled lr, and the average's weight and coefficient
        ``ckp1``, writing ``lr_max`` and ``weight_sum`` into ``out``."""
        k = step - 1
        warmup = c["warmup_steps"]
        if type(warmup) is np.ndarray:
            sched = np.where(k < warmup, (k + 1) / np.maximum(warmup, 1), 1.0)
        else:
            sched = (k + 1) / warmup if k < warmup else 1.0
        lr = c["lr"] * sched
        r, power = c["r"], c["weight_lr_power"]
        if type(lr) is not np.ndarray and type(r) is not np.ndarray \
                and type(power) is not np.ndarray:
            # every row alike (a single run, or a batch of one configuration): Python
            # floats, as the reference computes them (the same numbers as below)
            lm_col, ws_col = state.lr_max[:, 0], state.weight_sum[:, 0]
            lm, ws = lm_col[0].item(), ws_col[0].item()
            if len(lm_col) == 1 or ((lm_col == lm).all() and (ws_col == ws).all()):
                lm = max(lr, lm)
                weight = (step ** r) * (lm ** power)
                ws += weight
                out["lr_max"].fill(lm)
                out["weight_sum"].fill(ws)
                return lr, weight, weight / ws if ws != 0 else 0.0
        lr_max = np.maximum(lr, _column(state.lr_max))  # max(lr, group['lr_max'])
        weight = _weights(step, lr_max, c["r"], c["weight_lr_power"])
        weight_sum = _column(state.weight_sum) + weight
        with np.errstate(divide="ignore", invalid="ignore"):
            ckp1 = np.where(weight_sum != 0, weight / weight_sum, 0.0)  # ZeroDivisionError: 0
        out["lr_max"][...] = lr_max
        out["weight_sum"][...] = weight_sum
        return lr, weight, ckp1

    def step_y(self, params: np.ndarray, state: Any, direction: np.ndarray, lr: Any, ckp1: Any,
               beta: Any, out_params: np.ndarray, out: Out) -> None:
        """``y.lerp_(z, ckp1); y.add_(d, alpha=lr*(beta*(1-ckp1)-1)); z.sub_(d, alpha=lr)``."""
        lerp(params, state.z, ckp1, out_params)
        t = direction * (lr * (beta * (1 - ckp1) - 1))
        out_params += t
        np.multiply(direction, lr, out=t)
        np.subtract(state.z, t, out=out["z"])

    def report(self, info: Info, params: np.ndarray, out_params: np.ndarray, lr: Any,
               weight: Any, ckp1: Any, out: Out) -> None:
        """The averaging's numbers, and the step as ``update = −effective_lr · direction``
        (effective_lr: the scheduled lr; 1 where it is 0)."""
        update = out_params - params
        eff = full(params, np.where(np.asarray(lr) > 0, lr, 1.0))
        info.update(scheduled_lr=full(params, lr), weight=full(params, weight),
                    ckp1=full(params, ckp1), weight_sum=out["weight_sum"].copy(),
                    lr_max=out["lr_max"].copy(), z=out["z"], effective_lr=eff,
                    direction=-update / eff)

    def points(self, params: np.ndarray, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        r"""x, as ``optimizer.eval()`` computes it: ``y.lerp(z, 1 − 1/β)``."""
        beta = self.hp[self.interpolation]
        w = 1 - 1 / (beta.reshape(-1, 1) if isinstance(beta, np.ndarray) else beta)
        y, z = params, state["z"]
        small = np.abs(w) < 0.5  # torch's lerp: the formula by |weight|
        with np.errstate(all="ignore"):
            near_y = y + w * (z - y)
            if np.all(small):
                return {"x": near_y}
            near_z = z - (z - y) * (1 - w)
        return {"x": np.where(small, near_y, near_z)}

    # -- what the inspector shows ---------------------------------------------
    def averaging_rule(self, t: int | None) -> list[Rule]:
        warm = self.hp["warmup_steps"]
        if warm and (t is None or t <= warm):
            sched = ("scheduled_lr", S("lr") * (S("t") / S("warmup_steps")),
                     "linear warm-up" + ("" if t else f" (steps 1 to {warm}; then α)"))
        else:
            sched = ("scheduled_lr", S("lr"), "after the warm-up" if warm else "")
        return [
            sched,
            ("lr_max", maximum(S("lr_max_prev"), S("scheduled_lr")), "the largest lr so far"),
            ("weight", S("t") ** S("r") * S("lr_max") ** S("weight_lr_power"),
             "weight of this step in the average"),
            ("weight_sum", S("weight_sum_prev") + S("weight"), ""),
            ("ckp1", S("weight") / S("weight_sum"), "xₜ is the weighted average of z₁…zₜ"),
        ]

    def y_rule(self, d: str, beta: str) -> list[Rule]:
        return [
            ("z", S("z_prev") - S("scheduled_lr") * S(d), "the base sequence: a plain step"),
            ("update", S("ckp1") * (S("z_prev") - S("w_prev"))
             + S("scheduled_lr") * (S(beta) * (1 - S("ckp1")) - 1) * S(d),
             "y moves towards z, and along the step"),
            ("w", S("w_prev") + S("update"), "y: where the next gradient is taken"),
        ]

    def quantities(self) -> dict[str, Quantity]:
        q: dict[str, Quantity] = {}
        q["z"], q["z_prev"] = state_quantity("z", "z: the base sequence (plain steps)")
        q["weight_sum"] = Quantity(f"\u03a3\u03c9{T}", "sum of the weights of the average",
                                   scalar=True)
        q["weight_sum_prev"] = Quantity("\u03a3\u03c9<sub>t\u22121</sub>",
                                        "sum of the weights (previous)", scalar=True)
        q["lr_max"] = Quantity(f"\u03b3<sup>max</sup>{T}", "largest lr so far", scalar=True)
        q["lr_max_prev"] = Quantity("\u03b3<sup>max</sup><sub>t\u22121</sub>",
                                    "largest lr so far (previous)", scalar=True)
        q["scheduled_lr"] = Quantity(f"\u03b3{T}", "lr of this step (after the warm-up)",
                                     scalar=True)
        q["weight"] = Quantity(f"\u03c9{T}", "weight of this step in the average", scalar=True)
        q["ckp1"] = Quantity(f"c{T}", "averaging coefficient ωₜ / Σω",
                             "xₜ = (1 − cₜ)·xₜ₋₁ + cₜ·zₜ", scalar=True)
        q["x"] = Quantity(f"x{T}", "averaged point x: what you evaluate",
                          "optimizer.eval() moves the parameters here")
        q["w_prev"] = Quantity("y<sub>t\u22121</sub>", "y: where the gradient is taken (previous)")
        q["w"] = Quantity(f"y{T}", "y: where the gradient is taken")
        q["raw_grad"] = Quantity("\u2207f(y<sub>t\u22121</sub>)",
                                 "gradient of the loss at y, the previous position")
        q["update"] = Quantity(f"\u0394y{T}", "update actually applied", "yₜ − yₜ₋₁")
        return q


class SGDScheduleFree(ScheduleFree):
    r"""Schedule-Free SGD (Defazio et al. 2024), as ``schedulefree.SGDScheduleFree``.

    .. math::
        \gamma_t &= \gamma \min(1, t/T_w), \quad
        \omega_t = t^r (\max_{s\le t}\gamma_s)^p, \quad c_t = \omega_t / \textstyle\sum_{s\le t}\omega_s \\
        g_t &\leftarrow \nabla f(y_{t-1}) + \lambda y_{t-1} \\
        z_t &= z_{t-1} - \gamma_t g_t \\
        y_t &= (1-c_t) y_{t-1} + c_t z_{t-1} + \gamma_t(\beta(1-c_t) - 1) g_t

    which keeps :math:`y_t = (1-\beta) z_t + \beta x_t` with
    :math:`x_t = (1-c_t) x_{t-1} + c_t z_t`. ``effective_lr`` is γ_t (1 where it is 0)
    and ``direction`` −update/γ_t.
    """

    algorithm = "schedulefree-sgd"
    reference = "schedulefree.SGDScheduleFree"
    hyperparams = (
        lr_param(1.0),
        HyperParam("momentum", float, 0.9, "β: y = (1 − β) z + β x, the point between the "
                   "average x and the base sequence z where the gradient is taken",
                   low=0.0, high=1.0, low_open=True, high_open=True, symbol="\u03b2"),
        weight_decay_param(),
        *_sf_params(1.0),
    )
    State = SGDScheduleFreeState
    interpolation = "momentum"

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: Any, step: int,
               out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, weight, ckp1 = self.averaging(c, state, step, out)
        grad = l2(params, grads, c["weight_decay"])
        self.step_y(params, state, grad, lr, ckp1, c["momentum"], out_params, out)
        if info is not None:
            info["grad"] = grad
            self.report(info, params, out_params, lr, weight, ckp1, out)

    def rule(self, t: int | None) -> list[Rule]:
        grad = [("grad", S("raw_grad") + S("weight_decay") * S("w_prev"),
                 "L2 weight decay adds λ·y to the gradient")] \
            if self.hp["weight_decay"] else [("grad", S("raw_grad"), "")]
        return self.averaging_rule(t) + grad + self.y_rule("grad", "momentum")

    def note(self) -> str:
        return SGD_NOTE


class AdamWScheduleFree(ScheduleFree):
    r"""Schedule-Free AdamW (Defazio et al. 2024), as ``schedulefree.AdamWScheduleFree``.

    As Schedule-Free SGD, with the gradient divided per coordinate by Adam's
    bias-corrected RMS and the weight decay added after that division:

    .. math::
        v_t &= \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        d_t = g_t / (\sqrt{v_t/(1-\beta_2^t)} + \epsilon) + \lambda y_{t-1}

    and d_t in place of g_t in z and y (β₁ in place of β). There is no first moment:
    the averaging is the momentum.
    """

    algorithm = "schedulefree-adamw"
    reference = "schedulefree.AdamWScheduleFree"
    hyperparams = (
        lr_param(0.0025),
        HyperParam("beta1", float, 0.9, "β₁: y = (1 − β₁) z + β₁ x, the point between the "
                   "average x and the base sequence z where the gradient is taken", low=0.0,
                   high=1.0, low_open=True, high_open=True, symbol="\u03b2<sub>1</sub>"),
        beta_param("beta2", 0.999, "β₂: decay of the running average of squared gradients"),
        eps_param(1e-8),
        HyperParam("weight_decay", float, 0.0, "weight decay λ: adds λ·y to the normalised "
                   "gradient", low=0.0, high=1e3, symbol="\u03bb"),
        *_sf_params(0.0025),
    )
    State = AdamWScheduleFreeState
    rescales = True
    interpolation = "beta1"

    def scalars(self, c: Coefs, step: int) -> Coefs:
        return {**c, "bias_correction2": self.each(bias_correction, step, c, "beta2")}

    def update(self, c: Coefs, params: np.ndarray, grads: np.ndarray, state: Any, step: int,
               out_params: np.ndarray, out: Out, info: Info | None) -> None:
        lr, weight, ckp1 = self.averaging(c, state, step, out)
        beta2 = c["beta2"]
        v = np.multiply(state.exp_avg_sq, beta2, out=out["exp_avg_sq"])
        t = grads * (1 - beta2)
        t *= grads
        v += t
        denom = np.divide(v, c["bias_correction2"])
        np.sqrt(denom, out=denom)
        denom += c["eps"]
        normalised = l2(params, grads / denom, c["weight_decay"])
        self.step_y(params, state, normalised, lr, ckp1, c["beta1"], out_params, out)
        if info is not None:
            info.update(grad=grads, exp_avg_sq=v, denom=denom, grad_normalized=normalised,
                        bias_correction2=full(params, c["bias_correction2"]))
            self.report(info, params, out_params, lr, weight, ckp1, out)

    def rule(self, t: int | None) -> list[Rule]:
        eqs = self.averaging_rule(t) + [("grad", S("raw_grad"), "")]
        eqs.append(("exp_avg_sq", ema("exp_avg_sq_prev", S("grad") ** 2, "beta2"), ""))
        eqs.append(("denom", sqrt(S("exp_avg_sq") / (1 - S("beta2") ** S("t"))) + S("eps"),
                    "Adam's per-coordinate scale"))
        normalised = S("grad") / S("denom")
        if self.hp["weight_decay"]:
            eqs.append(("grad_normalized", normalised + S("weight_decay") * S("w_prev"),
                        "weight decay after the scaling"))
        else:
            eqs.append(("grad_normalized", normalised, ""))
        return eqs + self.y_rule("grad_normalized", "beta1")

    def quantities(self) -> dict[str, Quantity]:
        q = super().quantities()
        q["exp_avg_sq"], q["exp_avg_sq_prev"] = state_quantity(
            "v", "second moment v: moving average of squared gradients")
        q["denom"] = Quantity(f"\u221av\u0302{T} + \u03b5", "denominator")
        q["grad_normalized"] = Quantity(f"d{T}", "normalised gradient (plus weight decay)")
        q["bias_correction2"] = Quantity("1 \u2212 \u03b2<sub>2</sub><sup>t</sup>",
                                         "bias correction of v", scalar=True)
        return q

    def note(self) -> str:
        return ADAMW_NOTE


_NOTE = (
    "Schedule-Free keeps three points. z takes plain {what} steps; x, the point you "
    "evaluate (the hollow marker), is a weighted average of all the z's; and the "
    "gradient is taken at y, which sits between them: y = (1 − {b}) z + {b} x. "
    "The moving marker is y, as the parameters are in train mode. Averaging does what "
    "a decaying learning-rate schedule would do, so no schedule is needed, only an "
    "optional warm-up. Call optimizer.eval() before evaluating: it moves the "
    "parameters to x."
)
SGD_NOTE = _NOTE.format(what="SGD", b="β")
ADAMW_NOTE = _NOTE.format(what="Adam-scaled (no first moment)", b="β₁")

ORDER = 40
KINDS = (
    OptimizerKind("schedulefree-sgd", SGDScheduleFree,
                  "Schedule-Free SGD: steps z, evaluates the average x, takes gradients at y",
                  title="Schedule-Free SGD"),
    OptimizerKind("schedulefree-adamw", AdamWScheduleFree,
                  "Schedule-Free AdamW: Adam-scaled steps of z, averaged into x",
                  title="Schedule-Free AdamW"),
)

__all__ = ["AdamWScheduleFree", "SGDScheduleFree", "ScheduleFree"]
