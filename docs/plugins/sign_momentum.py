"""Sign descent with momentum: an optsim plug-in (optsim run --plugin sign_momentum.py)."""
from typing import NamedTuple

import numpy as np

from optsim.engine import HyperParam, Optimizer


class SignMomentumState(NamedTuple):
    step: int
    momentum_buffer: np.ndarray


class SignMomentum(Optimizer):
    """Sign descent with momentum: every coordinate moves by lr, along the sign of m."""

    algorithm = "sign-momentum"
    hyperparams = (
        HyperParam("lr", float, 0.01, "how far every coordinate moves", low=0.0, high=10.0),
        HyperParam("beta", float, 0.9, "momentum: decay of m", low=0.0, high=1.0,
                   high_open=True),
    )
    State = SignMomentumState

    def update(self, c, params, grads, state, step, out_params, out, info):
        m = out["momentum_buffer"]
        np.multiply(state.momentum_buffer, c["beta"], out=m)
        m += (1 - c["beta"]) * grads                # m = beta m + (1 - beta) g
        np.subtract(params, c["lr"] * np.sign(m), out=out_params)
        if info is not None:                         # what the inspector lists
            info.update(grad=grads, direction=np.sign(m),
                        effective_lr=np.full_like(params, c["lr"]))
