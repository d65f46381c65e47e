"""Make the golden trajectories in tests/golden/ with torch.optim (needs torch).

For every optimizer configuration × loss function × batch (one start, and several
starts stepped together as one (N, D) tensor) this runs torch.optim in float64 for
``STEPS`` steps, with the gradient from torch's autograd on the loss written here
in torch ops (independent of optsim), and saves the positions to
``tests/golden/<config>__<function>.npz`` with the optsim spec string that names the
same optimizer. tests/test_parity.py replays them with optsim, without torch.

torch runs with float64 as its default dtype, so that its scalar state (``step``,
NAdam's ``mu_product``) is float64 too, and with ``foreach=False``: the
``_single_tensor_*`` code that optsim follows (torch's default on the CPU anyway).

torch's CPU kernels fuse some multiply-adds (addcmul, lerp, add with alpha) that
NumPy does as two roundings, so optsim matches these files to ~1e-12, not bit for
bit; settings that amplify such differences chaotically are avoided (see
ROSENBROCK_LR).

A run that leaves the box |x| <= ``BOX`` (well inside optsim's divergence bounds
for these functions) or becomes non-finite ends the recording at the step before,
for the whole batch: the files hold only steps both sides take the same way.

A second set, in ``tests/golden/lr_schedule/``, changes the learning rate at every
step as a schedule would: ``param_group["lr"]`` is set before each ``step()`` to
``lr × LR_FACTORS[k]`` (an irregular sequence with one step at lr 0). In the batch
each start is a parameter group of its own whose lr is also multiplied by
``ROW_FACTORS[i]``: a learning rate per run and per step. The file stores both
sequences; tests/test_parity.py replays them through ``opt.step(..., lr=...)``.

Reference classes outside torch.optim (``pytorch_optimizer.Lion``: a module path and a
class) are built as their users build them (their own defaults, no ``foreach``
argument), with each start a 1-D parameter in a parameter group of its own: what
such an optimizer computes over a whole tensor or group (a norm, a trust ratio, a
distance estimate) is then computed per run, as optsim's runs are independent.

``--only REGEX`` rewrites only the files of the configurations whose spec matches
(the others, and their entries in index.json, stay as they are).

Usage: python tools/make_golden.py [--out tests/golden] [--steps 100] [--set all|fixed|schedule]
       [--only REGEX]
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
from pathlib import Path

import numpy as np
import torch

STEPS = 100
BOX = 1000.0

# (optsim spec, torch.optim class, keyword arguments for torch). Both columns are
# written out by hand so that neither is derived from the other. Rosenbrock's
# gradients are ~100 times larger than the bowls': configs listed in ROSENBROCK_LR
# use that lr there instead (in both the spec and torch's arguments), or the runs
# would leave the box in a few steps.
CONFIGS: list[tuple[str, str, dict]] = [
    ("sgd", "SGD", {}),
    ("sgd:lr=0.01", "SGD", {"lr": 0.01}),
    ("sgd:lr=0.01,weight_decay=0.1", "SGD", {"lr": 0.01, "weight_decay": 0.1}),
    ("momentum", "SGD", {"momentum": 0.9}),
    ("sgd:lr=0.002,momentum=0.9,dampening=0.5", "SGD",
     {"lr": 0.002, "momentum": 0.9, "dampening": 0.5}),
    ("nesterov", "SGD", {"momentum": 0.9, "nesterov": True}),
    ("sgd:lr=0.005,momentum=0.8,nesterov=true,weight_decay=0.01", "SGD",
     {"lr": 0.005, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01}),
    ("ema-momentum", "SGD", {"momentum": 0.9, "dampening": 0.9}),
    ("adam", "Adam", {}),
    ("adam:lr=0.05", "Adam", {"lr": 0.05}),
    ("adam:lr=0.02,beta1=0.8,beta2=0.99,eps=1e-06,weight_decay=0.1", "Adam",
     {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("adam:lr=0.02,amsgrad=true", "Adam", {"lr": 0.02, "amsgrad": True}),
    ("adamw", "AdamW", {}),
    ("adamw:lr=0.05,weight_decay=0.1", "AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("adamw:lr=0.02,amsgrad=true", "AdamW", {"lr": 0.02, "amsgrad": True}),
    ("adagrad", "Adagrad", {}),
    ("adagrad:lr=0.1", "Adagrad", {"lr": 0.1}),
    ("adagrad:lr=0.2,lr_decay=0.01,weight_decay=0.05,initial_accumulator_value=0.1,eps=1e-08",
     "Adagrad", {"lr": 0.2, "lr_decay": 0.01, "weight_decay": 0.05,
                 "initial_accumulator_value": 0.1, "eps": 1e-8}),
    ("rmsprop", "RMSprop", {}),
    ("rmsprop:lr=0.001,centered=true", "RMSprop", {"lr": 0.001, "centered": True}),
    ("rmsprop:lr=0.001,momentum=0.9", "RMSprop", {"lr": 0.001, "momentum": 0.9}),
    ("rmsprop:lr=0.002,alpha=0.9,eps=1e-06,weight_decay=0.1,momentum=0.5,centered=true",
     "RMSprop", {"lr": 0.002, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1,
                 "momentum": 0.5, "centered": True}),
    ("adamax", "Adamax", {}),
    ("adamax:lr=0.05,beta1=0.8,beta2=0.99,weight_decay=0.1", "Adamax",
     {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("nadam", "NAdam", {}),
    ("nadam:lr=0.02,momentum_decay=0.01", "NAdam", {"lr": 0.02, "momentum_decay": 0.01}),
    ("nadam:lr=0.01,weight_decay=0.1", "NAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("nadam:lr=0.02,weight_decay=0.1,decoupled_weight_decay=true", "NAdam",
     {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("radam", "RAdam", {}),
    ("radam:lr=0.05", "RAdam", {"lr": 0.05}),
    ("radam:lr=0.02,beta2=0.9,weight_decay=0.1", "RAdam",
     {"lr": 0.02, "betas": (0.9, 0.9), "weight_decay": 0.1}),
    ("radam:lr=0.02,weight_decay=0.1,decoupled_weight_decay=true", "RAdam",
     {"lr": 0.02, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adadelta", "Adadelta", {}),
    ("adadelta:lr=0.5,rho=0.5,eps=0.0001,weight_decay=0.1", "Adadelta",
     {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1}),
    # -- pytorch-optimizer 4.1.0 (issue 17, section 2: helper "practitioners") --------
    ("lion", "pytorch_optimizer.Lion", {}),
    ("lion:lr=0.01", "pytorch_optimizer.Lion", {"lr": 0.01}),
    ("lion:lr=0.01,beta1=0.8,beta2=0.9,weight_decay=0.5", "pytorch_optimizer.Lion",
     {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.5}),
    ("lion:lr=0.01,weight_decay=0.1,fixed_decay=true", "pytorch_optimizer.Lion",
     {"lr": 0.01, "weight_decay": 0.1, "fixed_decay": True}),
    ("lion:lr=0.01,weight_decay=0.5,weight_decouple=false", "pytorch_optimizer.Lion",
     {"lr": 0.01, "weight_decay": 0.5, "weight_decouple": False}),
    ("signsgd", "pytorch_optimizer.SignSGD", {}),
    ("signsgd:lr=0.01,momentum=0.0", "pytorch_optimizer.SignSGD",
     {"lr": 0.01, "momentum": 0.0}),
    ("signsgd:lr=0.01,momentum=0.5,weight_decay=0.1,weight_decouple=false",
     "pytorch_optimizer.SignSGD",
     {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1, "weight_decouple": False}),
    ("yogi", "pytorch_optimizer.Yogi", {}),
    ("yogi:lr=0.05,beta1=0.8,beta2=0.99,initial_accumulator=0.1,eps=1e-06,weight_decay=0.1",
     "pytorch_optimizer.Yogi", {"lr": 0.05, "betas": (0.8, 0.99), "initial_accumulator": 0.1,
                                "eps": 1e-6, "weight_decay": 0.1}),
    ("yogi:lr=0.02,weight_decay=0.1,weight_decouple=false", "pytorch_optimizer.Yogi",
     {"lr": 0.02, "weight_decay": 0.1, "weight_decouple": False}),
    ("adabelief", "pytorch_optimizer.AdaBelief", {}),
    ("adabelief:lr=0.02,beta1=0.8,beta2=0.99,weight_decay=0.1,eps=1e-08",
     "pytorch_optimizer.AdaBelief",
     {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1, "eps": 1e-8}),
    ("adabelief:lr=0.02,ams_bound=true", "pytorch_optimizer.AdaBelief",
     {"lr": 0.02, "ams_bound": True}),
    ("adabelief:lr=0.02,weight_decay=0.1,weight_decouple=false,fixed_decay=true,rectify=true",
     "pytorch_optimizer.AdaBelief",
     {"lr": 0.02, "weight_decay": 0.1, "weight_decouple": False, "fixed_decay": True,
      "rectify": True}),
    ("adabelief:lr=0.02,beta2=0.9,weight_decay=0.1,fixed_decay=true,rectify=true,"
     "degenerated_to_sgd=false", "pytorch_optimizer.AdaBelief",
     {"lr": 0.02, "betas": (0.9, 0.9), "weight_decay": 0.1, "fixed_decay": True,
      "rectify": True, "degenerated_to_sgd": False}),
    ("qhadam", "pytorch_optimizer.QHAdam", {}),
    ("qhadam:lr=0.02,beta1=0.999,nu1=0.7", "pytorch_optimizer.QHAdam",
     {"lr": 0.02, "betas": (0.999, 0.999), "nus": (0.7, 1.0)}),
    ("qhadam:lr=0.02,beta1=0.8,beta2=0.99,nu1=0.5,nu2=0.8,weight_decay=0.1,eps=1e-06",
     "pytorch_optimizer.QHAdam", {"lr": 0.02, "betas": (0.8, 0.99), "nus": (0.5, 0.8),
                                  "weight_decay": 0.1, "eps": 1e-6}),
    ("qhadam:lr=0.02,weight_decay=0.1,weight_decouple=true", "pytorch_optimizer.QHAdam",
     {"lr": 0.02, "weight_decay": 0.1, "weight_decouple": True}),
    ("adan", "pytorch_optimizer.Adan", {}),
    ("adan:lr=0.02", "pytorch_optimizer.Adan", {"lr": 0.02}),
    ("adan:lr=0.01,beta1=0.9,beta2=0.8,beta3=0.95,weight_decay=0.1,eps=0.001",
     "pytorch_optimizer.Adan", {"lr": 0.01, "betas": (0.9, 0.8, 0.95), "weight_decay": 0.1,
                                "eps": 1e-3}),
    ("adan:lr=0.02,weight_decay=0.1,weight_decouple=true", "pytorch_optimizer.Adan",
     {"lr": 0.02, "weight_decay": 0.1, "weight_decouple": True}),
    ("ademamix", "pytorch_optimizer.AdEMAMix", {}),
    ("ademamix:lr=0.02,alpha=2.0", "pytorch_optimizer.AdEMAMix", {"lr": 0.02, "alpha": 2.0}),
    ("ademamix:lr=0.02,beta3=0.999,weight_decay=0.1,t_alpha_beta3=50.0",
     "pytorch_optimizer.AdEMAMix", {"lr": 0.02, "betas": (0.9, 0.999, 0.999),
                                    "weight_decay": 0.1, "t_alpha_beta3": 50.0}),
    ("ademamix:lr=0.02,weight_decay=0.1,weight_decouple=true,fixed_decay=true",
     "pytorch_optimizer.AdEMAMix", {"lr": 0.02, "weight_decay": 0.1, "weight_decouple": True,
                                    "fixed_decay": True}),
    ("lamb", "pytorch_optimizer.Lamb", {}),
    ("lamb:lr=0.02", "pytorch_optimizer.Lamb", {"lr": 0.02}),
    ("lamb:lr=0.02,beta1=0.8,beta2=0.99,weight_decay=0.1,weight_decouple=false,eps=1e-08",
     "pytorch_optimizer.Lamb", {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1,
                                "weight_decouple": False, "eps": 1e-8}),
    ("lamb:lr=0.02,weight_decay=0.1,grad_averaging=false,adam=true", "pytorch_optimizer.Lamb",
     {"lr": 0.02, "weight_decay": 0.1, "grad_averaging": False, "adam": True}),
    ("lamb:lr=0.02,beta2=0.9,rectify=true,degenerated_to_sgd=true", "pytorch_optimizer.Lamb",
     {"lr": 0.02, "betas": (0.9, 0.9), "rectify": True, "degenerated_to_sgd": True}),
    ("lamb:lr=0.02,beta2=0.9,weight_decay=0.1,rectify=true", "pytorch_optimizer.Lamb",
     {"lr": 0.02, "betas": (0.9, 0.9), "weight_decay": 0.1, "rectify": True}),
    ("madgrad", "pytorch_optimizer.MADGRAD", {}),
    ("madgrad:lr=0.01", "pytorch_optimizer.MADGRAD", {"lr": 0.01}),
    ("madgrad:lr=0.01,momentum=0.0,weight_decay=0.1", "pytorch_optimizer.MADGRAD",
     {"lr": 0.01, "momentum": 0.0, "weight_decay": 0.1}),
    ("madgrad:lr=0.01,momentum=0.5,weight_decay=0.1,weight_decouple=true,eps=0.0",
     "pytorch_optimizer.MADGRAD", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1,
                                   "weight_decouple": True, "eps": 0.0}),
    ("prodigy", "pytorch_optimizer.Prodigy", {}),
    ("prodigy:lr=0.5,beta1=0.8,beta2=0.99,beta3=0.9,d0=0.0001,d_coef=0.5,growth_rate=1.5,"
     "eps=1e-06", "pytorch_optimizer.Prodigy",
     {"lr": 0.5, "betas": (0.8, 0.99), "beta3": 0.9, "d0": 1e-4, "d_coef": 0.5,
      "growth_rate": 1.5, "eps": 1e-6}),
    ("prodigy:weight_decay=0.1,bias_correction=true,safeguard_warmup=true",
     "pytorch_optimizer.Prodigy",
     {"weight_decay": 0.1, "bias_correction": True, "safeguard_warmup": True}),
    ("prodigy:weight_decay=0.1,fixed_decay=true", "pytorch_optimizer.Prodigy",
     {"weight_decay": 0.1, "fixed_decay": True}),
    # -- the rest of torch.optim (issue 17, section 1: helper "torchrest") --------------
    ("asgd", "ASGD", {}),
    ("asgd:lr=0.05,lambd=0.01,alpha=0.5,t0=5.0,weight_decay=0.1", "ASGD",
     {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 5.0, "weight_decay": 0.1}),
    ("rprop", "Rprop", {}),
    ("rprop:lr=0.1,eta_minus=0.3,eta_plus=1.5,step_size_min=0.001,step_size_max=0.2", "Rprop",
     {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (0.001, 0.2)}),
    ("adafactor", "Adafactor", {}),
    ("adafactor:lr=0.1", "Adafactor", {"lr": 0.1}),
    ("adafactor:lr=0.05,beta2_decay=-0.5,eps1=0.001,eps2=0.01,d=1.2,weight_decay=0.1",
     "Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-3, 0.01), "d": 1.2,
                   "weight_decay": 0.1}),
    ("muon", "Muon", {}),
    ("muon:lr=0.02,momentum=0.9,nesterov=false,ns_steps=3,match_rms_adamw=true", "Muon",
     {"lr": 0.02, "momentum": 0.9, "nesterov": False, "ns_steps": 3,
      "adjust_lr_fn": "match_rms_adamw"}),
    ("muon:lr=0.05,weight_decay=0.0,ns_a=2.0,ns_b=-1.5,ns_c=0.5,eps=0.001", "Muon",
     {"lr": 0.05, "weight_decay": 0.0, "ns_coefficients": (2.0, -1.5, 0.5), "eps": 1e-3}),
    # optsim's soap preconditions a run (a vector) by default: precondition_1d=True
    ("soap", "pytorch_optimizer.SOAP", {"precondition_1d": True}),
    ("soap:lr=0.02", "pytorch_optimizer.SOAP", {"lr": 0.02, "precondition_1d": True}),
    ("soap:lr=0.02,beta1=0.9,beta2=0.99,shampoo_beta=0.9,weight_decay=0.0,"
     "precondition_frequency=3,normalize_gradient=true", "pytorch_optimizer.SOAP",
     {"lr": 0.02, "betas": (0.9, 0.99), "shampoo_beta": 0.9, "weight_decay": 0.0,
      "precondition_frequency": 3, "normalize_gradient": True, "precondition_1d": True}),
    ("soap:lr=0.02,max_precondition_dim=1,correct_bias=false", "pytorch_optimizer.SOAP",
     {"lr": 0.02, "max_precondition_dim": 1, "correct_bias": False, "precondition_1d": True}),
    ("soap:lr=0.02,precondition_1d=false", "pytorch_optimizer.SOAP", {"lr": 0.02}),
]

#: torch.optim classes whose step is not elementwise (a norm, a matrix product), stepped
#: like the references outside torch.optim: each start a parameter in a group of its
#: own, shaped as optsim sees one run. Adafactor: a vector (torch factors matrices);
#: Muon: a 1×D matrix (it takes only matrices, and no ``foreach``).
PER_RUN_SHAPE = {"Adafactor": "vector", "Muon": "matrix"}

ROSENBROCK_LR = {
    "sgd:lr=0.01": 1e-4,
    "sgd:lr=0.01,weight_decay=0.1": 1e-4,
    "sgd:lr=0.002,momentum=0.9,dampening=0.5": 2e-4,
    "sgd:lr=0.005,momentum=0.8,nesterov=true,weight_decay=0.01": 1e-4,
    # from (0, 0) the y-gradient starts at 0 and the centred variance near 0, where
    # the sqrt of a difference amplifies the ~1 ulp differences between torch's fused
    # multiply-adds and NumPy's separate ones exponentially at larger lr
    "rmsprop:lr=0.002,alpha=0.9,eps=1e-06,weight_decay=0.1,momentum=0.5,centered=true": 5e-4,
    "radam:lr=0.05": 5e-4,
    "radam:lr=0.02,beta2=0.9,weight_decay=0.1": 5e-4,
    "radam:lr=0.02,weight_decay=0.1,decoupled_weight_decay=true": 5e-4,
}

# pytorch-optimizer (helper "practitioners"): rectified AdaBelief's first steps are SGD
# on the momentum, which leaves Rosenbrock's box at lr 0.02
ROSENBROCK_LR.update({
    "adabelief:lr=0.02,weight_decay=0.1,weight_decouple=false,fixed_decay=true,rectify=true":
        5e-4,
    "adabelief:lr=0.02,beta2=0.9,weight_decay=0.1,fixed_decay=true,rectify=true,"
    "degenerated_to_sgd=false": 5e-4,
    # from (0, 0) Adan's and LAMB's steps at lr 0.02 amplify the ~1 ulp differences of
    # torch's fused multiply-adds exponentially after some 80 steps
    "adan:lr=0.02": 2e-3,
    "adan:lr=0.01,beta1=0.9,beta2=0.8,beta3=0.95,weight_decay=0.1,eps=0.001": 2e-3,
    "adan:lr=0.02,weight_decay=0.1,weight_decouple=true": 2e-3,
    "lamb:lr=0.02": 2e-3,
})


# the rest of torch.optim (helper "torchrest"): ASGD is SGD with a slowly decaying lr
ROSENBROCK_LR.update({
    "asgd": 1e-4,
    "asgd:lr=0.05,lambd=0.01,alpha=0.5,t0=5.0,weight_decay=0.1": 2e-4,
    # Adafactor's relative steps zigzag across the valley at lr 0.01 and more, where
    # ~1 ulp differences (torch's fused lerp) grow 2.3-fold a step from step 20 on
    "adafactor": 2e-3,
    "adafactor:lr=0.1": 3e-3,
})


#: configs that use another lr on the cubic (whose slope leads to −∞ left of x = 0):
#: Prodigy's growing d carries the start at x = 7 over the hump at lr 1
CUBIC_LR = {
    "prodigy": 0.05,
    "prodigy:weight_decay=0.1,fixed_decay=true": 0.1,
}


def for_function(spec: str, kwargs: dict, function: str) -> tuple[str, dict]:
    """The config as used on ``function`` (see ROSENBROCK_LR and CUBIC_LR)."""
    lrs = {"rosenbrock": ROSENBROCK_LR, "cubic": CUBIC_LR}.get(function, {})
    if spec in lrs:
        lr = lrs[spec]
        if re.search(r"\blr=", spec):
            return re.sub(r"\blr=[^,]+", f"lr={lr!r}", spec), {**kwargs, "lr": lr}
        name, _, rest = spec.partition(":")
        return f"{name}:lr={lr!r}" + (f",{rest}" if rest else ""), {**kwargs, "lr": lr}
    return spec, kwargs


def rosenbrock(p: torch.Tensor) -> torch.Tensor:
    x, y = p[:, 0], p[:, 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def bowl(p: torch.Tensor) -> torch.Tensor:
    return p[:, 0] ** 2 + p[:, 1] ** 2


def elongated_bowl(p: torch.Tensor) -> torch.Tensor:
    return p[:, 0] ** 2 + 9 * p[:, 1] ** 2


def cubic(p: torch.Tensor) -> torch.Tensor:
    x = p[:, 0]
    return x**3 - 5 * x**2 + 10


# name -> (loss, one start, a batch of starts)
FUNCTIONS = {
    "rosenbrock": (rosenbrock, [[-1.5, 2.0]],
                   [[-1.5, 2.0], [0.0, 0.0], [1.5, 1.5], [-0.5, 2.5]]),
    "elongated-bowl": (elongated_bowl, [[-1.0, 1.0]],
                       [[-1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [0.5, -1.5]]),
    "bowl": (bowl, [[-1.5, 1.5]], [[-1.5, 1.5], [1.0, 0.5], [0.0, -2.0], [1e-3, 2.0]]),
    "cubic": (cubic, [[7.0]], [[7.0], [5.0], [2.0], [4.5]]),
}


#: references whose state spans all parameter groups (Prodigy's d, from group 0, summed
#: over every group): one optimizer per run
SEPARATE = {"pytorch_optimizer.Prodigy"}


def reference_class(cls_name: str) -> type:
    """The reference optimizer class: ``Adam`` (in torch.optim) or ``module.Class``."""
    module, _, name = cls_name.rpartition(".")
    return getattr(importlib.import_module(module) if module else torch.optim, name)


def run_torch(cls_name: str, kwargs: dict, loss, starts: list, steps: int) -> np.ndarray:
    """Positions (k+1, N, D) of torch.optim's run, k <= steps (see BOX)."""
    if "." in cls_name or cls_name in PER_RUN_SHAPE:  # each run its own parameter group
        return run_torch_schedule(cls_name, kwargs, loss, starts, steps, None)
    p = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, cls_name)([p], foreach=False, **kwargs)
    out = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        loss(p).sum().backward()
        opt.step()
        now = p.detach().clone().numpy()
        if not np.isfinite(now).all() or np.abs(now).max() > BOX:
            break
        out.append(now)
    return np.stack(out)


#: the schedule's factors of the configured lr, one per step (0 at step 8)
def lr_factors(steps: int) -> list[float]:
    out = [0.2 + 1.6 * ((k * 0.6180339887498949) % 1.0) for k in range(steps)]
    if steps > 7:
        out[7] = 0.0
    return out


#: each start of the scheduled batch is a parameter group with its lr times this
ROW_FACTORS = [1.0, 0.5, 2.0, 0.25]
SCHEDULE_FUNCTION = "elongated-bowl"


def run_torch_schedule(cls_name: str, kwargs: dict, loss, starts: list, steps: int,
                       rows: list[float] | None) -> np.ndarray:
    """Positions (k+1, N, D) of torch.optim's run with the lr set before every step:
    one parameter group per start, group i's lr = lr · factor(step) · rows[i]
    (``rows`` None: the lr as configured)."""
    if "." in cls_name:  # a 1-D parameter per run, the reference's own defaults
        params = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in starts]
        cls = reference_class(cls_name)
        if cls_name in SEPARATE:
            opts = [cls([{"params": [p]}], **kwargs) for p in params]
        else:
            opts = [cls([{"params": [p]} for p in params], **kwargs)]
    elif cls_name in PER_RUN_SHAPE:  # (see PER_RUN_SHAPE)
        vector = PER_RUN_SHAPE[cls_name] == "vector"
        params = [torch.tensor(s if vector else [s], dtype=torch.float64, requires_grad=True)
                  for s in starts]
        opts = [getattr(torch.optim, cls_name)([{"params": [p]} for p in params],
                                               **({"foreach": False} if vector else {}),
                                               **kwargs)]
    else:
        params = [torch.tensor([s], dtype=torch.float64, requires_grad=True) for s in starts]
        opts = [getattr(torch.optim, cls_name)([{"params": [p]} for p in params], foreach=False,
                                               **kwargs)]
    groups = [g for opt in opts for g in opt.param_groups]
    base = opts[0].defaults["lr"]
    factors = lr_factors(steps)

    def now() -> np.ndarray:
        return np.stack([p.detach().clone().reshape(-1).numpy() for p in params])

    out = [now()]
    for k in range(steps):
        for opt in opts:
            opt.zero_grad()
        loss(torch.stack([p.reshape(-1) for p in params])).sum().backward()
        if rows is not None:
            for group, row in zip(groups, rows, strict=True):
                group["lr"] = base * factors[k] * row
        for opt in opts:
            opt.step()
        pos = now()
        if not np.isfinite(pos).all() or np.abs(pos).max() > BOX:
            break
        out.append(pos)
    return np.stack(out)


def selected(only: str | None) -> list[tuple[str, str, dict]]:
    """The configurations to (re)write: all, or those whose spec matches ``only``."""
    return [c for c in CONFIGS if only is None or re.search(only, c[0])]


def clear(out: Path, only: str | None) -> None:
    """Remove the files about to be rewritten: all of them without ``only``."""
    if only is None:
        for old in out.glob("*.npz"):
            old.unlink()


def write_index(out: Path, entries: list[dict], only: str | None, names: list[str]) -> None:
    """index.json: the new entries; with ``only``, merged into the old ones in the
    order a full run writes them (``names``), so that a partial run changes only
    its own lines."""
    path = out / "index.json"
    if only is not None and path.exists():
        by_file = {e["file"]: e for e in json.loads(path.read_text())}
        by_file.update({e["file"]: e for e in entries})
        order = {name: i for i, name in enumerate(names)}
        entries = sorted((e for e in by_file.values() if (out / e["file"]).exists()),
                         key=lambda e: order.get(e["file"], len(order)))
    path.write_text(json.dumps(entries, indent=1) + "\n")


def write_schedule_set(out: Path, steps: int, only: str | None = None) -> None:
    """The lr-schedule golden files (see the module's docstring)."""
    out.mkdir(parents=True, exist_ok=True)
    clear(out, only)
    loss, one, batch = FUNCTIONS[SCHEDULE_FUNCTION]
    index = []
    for spec, cls_name, kwargs in selected(only):
        data = {
            "positions_one": run_torch_schedule(cls_name, kwargs, loss, one, steps, [1.0]),
            "positions_batch": run_torch_schedule(cls_name, kwargs, loss, batch, steps,
                                                  ROW_FACTORS),
            "lr_factors": np.array(lr_factors(steps)),
            "row_factors": np.array(ROW_FACTORS),
        }
        name = file_name(spec, SCHEDULE_FUNCTION)
        meta = {"spec": spec, "function": SCHEDULE_FUNCTION, "torch_class": cls_name,
                "torch_kwargs": {k: list(v) if isinstance(v, tuple) else v
                                 for k, v in kwargs.items()},
                "torch_version": torch.__version__,
                "lr": "param_group['lr'] = lr * lr_factors[k] * row_factors[i] before step k+1"}
        np.savez_compressed(out / name, meta=np.array(json.dumps(meta)), **data)
        lengths = {k: len(v) - 1 for k, v in data.items() if k.startswith("positions")}
        index.append({"file": name, **meta, "steps": lengths})
        print(f"lr_schedule/{name}: {lengths}")
    write_index(out, index, only, [file_name(spec, SCHEDULE_FUNCTION) for spec, _, _ in CONFIGS])


def file_name(spec: str, function: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", spec) + "__" + function + ".npz"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "tests" / "golden"))
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--set", choices=("all", "fixed", "schedule"), default="all",
                    help="which files to write: the fixed-lr set, the lr-schedule set, or both")
    ap.add_argument("--only", metavar="REGEX",
                    help="rewrite only the configurations whose spec matches REGEX")
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    out = Path(args.out)
    if args.set in ("all", "schedule"):
        write_schedule_set(out / "lr_schedule", args.steps, args.only)
    if args.set == "schedule":
        return
    out.mkdir(parents=True, exist_ok=True)
    clear(out, args.only)
    index = []
    for config, cls_name, config_kwargs in selected(args.only):
        for fname, (loss, one, batch) in FUNCTIONS.items():
            spec, kwargs = for_function(config, config_kwargs, fname)
            data = {}
            for label, starts in (("one", one), ("batch", batch)):
                data[f"positions_{label}"] = run_torch(cls_name, kwargs, loss, starts, args.steps)
            name = file_name(spec, fname)
            meta = {"spec": spec, "function": fname, "torch_class": cls_name,
                    "torch_kwargs": {k: list(v) if isinstance(v, tuple) else v
                                     for k, v in kwargs.items()},
                    "torch_version": torch.__version__}
            np.savez_compressed(out / name, meta=np.array(json.dumps(meta)), **data)
            steps = {k: len(v) - 1 for k, v in data.items()}
            index.append({"file": name, **meta, "steps": steps})
            print(f"{name}: {steps}")
    write_index(out, index, args.only, [file_name(for_function(c, kw, f)[0], f)
                                        for c, _, kw in CONFIGS for f in FUNCTIONS])
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{len(index)} files, {size / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    main()
