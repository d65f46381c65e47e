r"""AdamW (torch.optim.AdamW): Adam with decoupled weight decay."""

from __future__ import annotations

from ..registry import OptimizerKind
from ..transforms import AMSGRAD_NOTE
from .adam import Adam


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
    reference = "torch.optim.AdamW"
    hyperparams = tuple(
        p.with_default(1e-2) if p.name == "weight_decay" else p for p in Adam.hyperparams
    )
    decoupled_weight_decay = True

    def note(self) -> str:
        extras = [AMSGRAD_NOTE] if self.hp["amsgrad"] else []
        return " ".join([NOTE, *extras])


NOTE = (
    "AdamW is Adam with decoupled weight decay: instead of adding λ·w to the "
    "gradient (where Adam's scaling would shrink it again), it shrinks the weights "
    "directly by α·λ·w at every step. Everything else is Adam: m averages the "
    "gradients, v the squared gradients, and the step is m\u0302 divided by √v\u0302 per "
    "coordinate. So the pull towards zero is the same for every coordinate, however "
    "large or small its gradients are."
)

ORDER = 11
KINDS = (OptimizerKind("adamw", AdamW,
                       "AdamW: Adam with decoupled weight decay (shrinks weights directly)",
                       title="AdamW"),)
