"""Make the golden files of learning-rate schedules and gradient clipping in
tests/golden/schedules/ with torch (needs torch; tests/test_schedules_golden.py
replays them without it).

Two kinds of file, float64 throughout (torch's default dtype set to float64):

- ``lr__<schedule>__<optimizer>.npz``: the learning rate (and the cycled momentum
  or beta1) that ``torch.optim.lr_scheduler.<Class>`` gives each of ``LR_STEPS``
  optimizer steps, read from ``param_groups[0]`` before each ``optimizer.step()``,
  with ``scheduler.step()`` after it (``scheduler.step(loss)`` for
  ReduceLROnPlateau, fed the stored ``losses``).
- ``run__<spec>__<function>.npz``: positions of a training loop (gradient,
  optional ``clip_grad_norm_``/``clip_grad_value_``, ``optimizer.step()``,
  ``scheduler.step()``) on a loss written here in torch ops, for one start and for
  a batch of starts, each start its own parameter tensor with its own optimizer,
  scheduler and clipping (as optsim's rows are independent runs), plus each step's
  learning rate per row. ReduceLROnPlateau is given the loss at the point where
  the step's gradient was taken.

Both columns (optsim's spec, torch's constructor) are written out by hand so that
neither is derived from the other. ``warmup-cosine`` and ``wsd`` are torch
``LambdaLR`` schedules with the lambdas of Hugging Face transformers'
``get_cosine_with_min_lr_schedule_with_warmup`` and ``get_wsd_schedule``, copied
here.

Usage: python tools/make_golden_schedules.py [--out tests/golden/schedules]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.optim import lr_scheduler as S

LR_STEPS = 60
RUN_STEPS = 100


# -- transformers' lambdas (LambdaLR) ------------------------------------------------

def cosine_min_lr_lambda(current_step, *, num_warmup_steps, num_training_steps, num_cycles,
                         min_lr_rate=0.0):
    if current_step < num_warmup_steps:
        return float(current_step) / float(max(1, num_warmup_steps))
    progress = float(current_step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


def wsd_lambda(current_step, *, num_warmup_steps, num_stable_steps, num_decay_steps, warmup_type,
               decay_type, min_lr_ratio, num_cycles):
    if current_step < num_warmup_steps:
        progress = float(current_step) / float(max(1, num_warmup_steps))
        if warmup_type == "linear":
            factor = progress
        elif warmup_type == "cosine":
            factor = 0.5 * (1.0 - math.cos(math.pi * progress))
        elif warmup_type == "1-sqrt":
            factor = 1.0 - math.sqrt(1.0 - progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    if current_step < num_warmup_steps + num_stable_steps:
        return 1.0
    if current_step < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress = float(current_step - num_warmup_steps - num_stable_steps) / float(max(1, num_decay_steps))
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        elif decay_type == "1-sqrt":
            factor = 1.0 - math.sqrt(progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    return min_lr_ratio


def warmup_cosine(opt, warmup, total, num_cycles=0.5, min_lr_rate=0.0):
    return S.LambdaLR(opt, partial(cosine_min_lr_lambda, num_warmup_steps=warmup,
                                   num_training_steps=total, num_cycles=num_cycles,
                                   min_lr_rate=min_lr_rate))


def wsd(opt, warmup, decay, total, warmup_type="linear", decay_type="cosine", min_lr_ratio=0.0,
        num_cycles=0.5):
    return S.LambdaLR(opt, partial(wsd_lambda, num_warmup_steps=warmup,
                                   num_stable_steps=total - warmup - decay,
                                   num_decay_steps=decay, warmup_type=warmup_type,
                                   decay_type=decay_type, min_lr_ratio=min_lr_ratio,
                                   num_cycles=num_cycles))


# -- learning-rate sequences -----------------------------------------------------------

# optimizers the schedules run on: optsim spec, torch class, kwargs
OPTS = {
    "sgd": ("sgd:lr=0.1", "SGD", {"lr": 0.1}),
    "momentum": ("sgd:lr=0.1,momentum=0.9", "SGD", {"lr": 0.1, "momentum": 0.9}),
    "adam": ("adam:lr=0.1,beta1=0.8", "Adam", {"lr": 0.1, "betas": (0.8, 0.999)}),
    "adagrad": ("adagrad:lr=0.1", "Adagrad", {"lr": 0.1}),
}

# (optsim schedule spec, torch builder, optimizers)
LR_CASES = [
    ("steplr:step_size=7", lambda o: S.StepLR(o, step_size=7), ["sgd"]),
    ("steplr:step_size=5,gamma=0.5", lambda o: S.StepLR(o, 5, gamma=0.5), ["momentum"]),
    ("multisteplr:milestones=[10;25;25],gamma=0.5",
     lambda o: S.MultiStepLR(o, [10, 25, 25], gamma=0.5), ["sgd"]),
    ("multisteplr:milestones=[30;45]", lambda o: S.MultiStepLR(o, milestones=[30, 45]), ["adam"]),
    ("constantlr", lambda o: S.ConstantLR(o), ["sgd"]),
    ("constantlr:factor=0.5,total_iters=12", lambda o: S.ConstantLR(o, 0.5, 12), ["sgd"]),
    ("linearlr", lambda o: S.LinearLR(o), ["sgd"]),
    ("linearlr:start_factor=0.1,end_factor=0.5,total_iters=20",
     lambda o: S.LinearLR(o, 0.1, 0.5, 20), ["adam"]),
    ("exponentiallr:gamma=0.95", lambda o: S.ExponentialLR(o, 0.95), ["sgd"]),
    ("polynomiallr", lambda o: S.PolynomialLR(o), ["sgd"]),
    ("polynomiallr:total_iters=30,power=2.0", lambda o: S.PolynomialLR(o, 30, 2.0), ["sgd"]),
    ("cosineannealinglr:T_max=20", lambda o: S.CosineAnnealingLR(o, 20), ["sgd"]),
    ("cosineannealinglr:T_max=15,eta_min=0.01", lambda o: S.CosineAnnealingLR(o, 15, 0.01),
     ["adam"]),
    ("cosineannealingwarmrestarts:T_0=10", lambda o: S.CosineAnnealingWarmRestarts(o, 10),
     ["sgd"]),
    ("cosineannealingwarmrestarts:T_0=5,T_mult=2,eta_min=0.001",
     lambda o: S.CosineAnnealingWarmRestarts(o, 5, 2, 0.001), ["sgd"]),
    ("cycliclr:base_lr=0.01,max_lr=0.1,step_size_up=10",
     lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=10), ["momentum", "adam"]),
    ("cycliclr:base_lr=0.01,max_lr=0.1,step_size_up=8,step_size_down=4,mode=triangular2,"
     "base_momentum=0.7,max_momentum=0.95",
     lambda o: S.CyclicLR(o, 0.01, 0.1, 8, 4, mode="triangular2", base_momentum=0.7,
                          max_momentum=0.95), ["momentum", "adam"]),
    ("cycliclr:base_lr=0.02,max_lr=0.2,step_size_up=6,mode=exp_range,gamma=0.97",
     lambda o: S.CyclicLR(o, 0.02, 0.2, 6, mode="exp_range", gamma=0.97), ["momentum"]),
    ("cycliclr:base_lr=0.01,max_lr=0.1,step_size_up=10,cycle_momentum=false",
     lambda o: S.CyclicLR(o, 0.01, 0.1, 10, cycle_momentum=False), ["adagrad"]),
    ("onecyclelr:max_lr=0.5,total_steps=60",
     lambda o: S.OneCycleLR(o, 0.5, total_steps=60), ["momentum", "adam", "sgd"]),
    ("onecyclelr:max_lr=0.5,total_steps=60,three_phase=true",
     lambda o: S.OneCycleLR(o, 0.5, 60, three_phase=True), ["momentum", "adam"]),
    ("onecyclelr:max_lr=0.3,epochs=6,steps_per_epoch=10,pct_start=0.25,anneal_strategy=linear,"
     "base_momentum=0.8,max_momentum=0.9,div_factor=10.0,final_div_factor=100.0",
     lambda o: S.OneCycleLR(o, 0.3, epochs=6, steps_per_epoch=10, pct_start=0.25,
                            anneal_strategy="linear", base_momentum=0.8, max_momentum=0.9,
                            div_factor=10.0, final_div_factor=100.0), ["momentum", "adam"]),
    ("onecyclelr:max_lr=0.5,total_steps=70,cycle_momentum=false",
     lambda o: S.OneCycleLR(o, 0.5, 70, cycle_momentum=False), ["adagrad"]),
    ("reducelronplateau:patience=3", lambda o: S.ReduceLROnPlateau(o, patience=3), ["sgd"]),
    ("reducelronplateau:factor=0.5,patience=2,threshold=0.01,threshold_mode=abs,cooldown=3,"
     "min_lr=0.01", lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=0.01,
                                                  threshold_mode="abs", cooldown=3, min_lr=0.01),
     ["sgd"]),
    ("reducelronplateau:mode=max,patience=5", lambda o: S.ReduceLROnPlateau(o, "max", patience=5),
     ["sgd"]),
    ("sequentiallr:schedulers=[linearlr:start_factor=0.1,total_iters=10;"
     "cosineannealinglr:T_max=50],milestones=[10]",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=10), S.CosineAnnealingLR(o, 50)],
                              [10]), ["sgd"]),
    ("sequentiallr:schedulers=[constantlr:factor=0.5,total_iters=5;exponentiallr:gamma=0.9;"
     "steplr:step_size=5],milestones=[8;20]",
     lambda o: S.SequentialLR(o, [S.ConstantLR(o, 0.5, 5), S.ExponentialLR(o, 0.9),
                                  S.StepLR(o, 5)], [8, 20]), ["sgd"]),
    ("sequentiallr:schedulers=[linearlr:start_factor=0.2,total_iters=8;"
     "cosineannealingwarmrestarts:T_0=12],milestones=[8]",
     lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.2, total_iters=8),
                                  S.CosineAnnealingWarmRestarts(o, 12)], [8]), ["sgd"]),
    ("linearlr:start_factor=0.2,total_iters=10+exponentiallr:gamma=0.97",
     lambda o: S.ChainedScheduler([S.LinearLR(o, 0.2, total_iters=10), S.ExponentialLR(o, 0.97)]),
     ["sgd"]),
    ("constantlr:factor=0.5,total_iters=4+multisteplr:milestones=[20;40],gamma=0.3",
     lambda o: S.ChainedScheduler([S.ConstantLR(o, 0.5, 4), S.MultiStepLR(o, [20, 40], 0.3)]),
     ["sgd"]),
    ("warmup-cosine:warmup_steps=10,total_steps=60", lambda o: warmup_cosine(o, 10, 60), ["sgd"]),
    ("warmup-cosine:warmup_steps=5,total_steps=60,num_cycles=1.0,min_lr_rate=0.1",
     lambda o: warmup_cosine(o, 5, 60, 1.0, 0.1), ["adam"]),
    ("wsd:warmup_steps=10,decay_steps=20,total_steps=60",
     lambda o: wsd(o, 10, 20, 60), ["sgd"]),
    ("wsd:warmup_steps=8,decay_steps=25,total_steps=50,warmup_type=cosine,decay_type=1-sqrt,"
     "min_lr_ratio=0.05", lambda o: wsd(o, 8, 25, 50, "cosine", "1-sqrt", 0.05), ["sgd"]),
    ("wsd:warmup_steps=6,decay_steps=30,total_steps=60,warmup_type=1-sqrt,decay_type=linear",
     lambda o: wsd(o, 6, 30, 60, "1-sqrt", "linear"), ["sgd"]),
]


def plateau_losses(steps: int) -> np.ndarray:
    """A loss curve with falls, plateaus and a rise, for ReduceLROnPlateau."""
    t = np.arange(steps, dtype=np.float64)
    loss = 1.0 / (1.0 + 0.2 * t)
    loss[15:30] = loss[15] + 1e-6 * np.sin(t[15:30])  # a plateau (tiny wiggles)
    loss[30:] = loss[15] * np.exp(-0.05 * (t[30:] - 30))
    loss[45:52] += 0.05  # a bump
    return loss


def lr_sequence(builder, opt_key: str, steps: int, losses: np.ndarray | None):
    _, cls, kwargs = OPTS[opt_key]
    p = torch.zeros(1, 2, requires_grad=True)
    opt = getattr(torch.optim, cls)([p], foreach=False, **kwargs)
    sched = builder(opt)
    lrs, moms = [], []
    for t in range(steps):
        g = opt.param_groups[0]
        lrs.append(float(g["lr"]))
        moms.append(float(g["betas"][0]) if "betas" in g else float(g.get("momentum", np.nan)))
        p.grad = torch.zeros_like(p)
        opt.step()
        if losses is not None:
            sched.step(float(losses[t]))
        else:
            sched.step()
    return np.array(lrs), np.array(moms)


# -- trajectories ----------------------------------------------------------------------

def rosenbrock(p):
    x, y = p[:, 0], p[:, 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def elongated_bowl(p):
    return p[:, 0] ** 2 + 9 * p[:, 1] ** 2


def bowl(p):
    return p[:, 0] ** 2 + p[:, 1] ** 2


def steep_cliff(p):
    x = p[:, 0]
    return 0.25 * x**2 + 4 * torch.tanh(8 * (x - 1))


FUNCTIONS = {
    "rosenbrock": (rosenbrock, [[-1.5, 2.0]], [[-1.5, 2.0], [0.0, 0.0], [1.5, 1.5], [-0.5, 2.5]]),
    "elongated-bowl": (elongated_bowl, [[-1.0, 1.0]],
                       [[-1.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [0.5, -1.5]]),
    "bowl": (bowl, [[-1.5, 1.5]], [[-1.5, 1.5], [1.0, 0.5], [0.0, -2.0], [1e-3, 2.0]]),
    "steep-cliff": (steep_cliff, [[2.8]], [[2.8], [1.2], [-1.0], [0.4]]),
}

# (optsim spec, torch class, kwargs, scheduler builder or None, clip, functions)
RUN_CASES = [
    ("sgd:lr=0.1,momentum=0.9+onecyclelr:max_lr=0.1,total_steps=100", "SGD",
     {"lr": 0.1, "momentum": 0.9}, lambda o: S.OneCycleLR(o, 0.1, total_steps=100), None,
     ["elongated-bowl", "bowl"]),
    ("sgd:lr=0.1+onecyclelr:max_lr=0.05,total_steps=100", "SGD", {"lr": 0.1},
     lambda o: S.OneCycleLR(o, 0.05, total_steps=100), None, ["elongated-bowl"]),
    ("adam:lr=0.05+onecyclelr:max_lr=0.1,total_steps=100", "Adam", {"lr": 0.05},
     lambda o: S.OneCycleLR(o, 0.1, total_steps=100), None, ["elongated-bowl", "bowl"]),
    ("adam:lr=0.001+onecyclelr:max_lr=0.002,total_steps=100,three_phase=true", "Adam",
     {"lr": 0.001}, lambda o: S.OneCycleLR(o, 0.002, total_steps=100, three_phase=True), None,
     ["rosenbrock"]),
    ("adamw:lr=0.01,weight_decay=0.1+cycliclr:base_lr=0.01,max_lr=0.1,step_size_up=10,"
     "mode=triangular2", "AdamW", {"lr": 0.01, "weight_decay": 0.1},
     lambda o: S.CyclicLR(o, 0.01, 0.1, 10, mode="triangular2"), None, ["elongated-bowl"]),
    ("nadam+cycliclr:base_lr=0.005,max_lr=0.05,step_size_up=20", "NAdam", {},
     lambda o: S.CyclicLR(o, 0.005, 0.05, 20), None, ["elongated-bowl"]),
    ("adamax:lr=0.05+sequentiallr:schedulers=[linearlr:start_factor=0.1,total_iters=10;"
     "cosineannealingwarmrestarts:T_0=30],milestones=[10]", "Adamax", {"lr": 0.05},
     lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=10),
                                  S.CosineAnnealingWarmRestarts(o, 30)], [10]), None,
     ["elongated-bowl"]),
    ("radam:lr=0.05+steplr:step_size=20,gamma=0.5", "RAdam", {"lr": 0.05},
     lambda o: S.StepLR(o, 20, 0.5), None, ["bowl"]),
    ("rmsprop:lr=0.01,momentum=0.5+onecyclelr:max_lr=0.02,total_steps=100,three_phase=true",
     "RMSprop", {"lr": 0.01, "momentum": 0.5},
     lambda o: S.OneCycleLR(o, 0.02, total_steps=100, three_phase=True), None, ["bowl"]),
    ("adagrad:lr=0.5,lr_decay=0.01+cosineannealinglr:T_max=50", "Adagrad",
     {"lr": 0.5, "lr_decay": 0.01}, lambda o: S.CosineAnnealingLR(o, 50), None, ["bowl"]),
    ("adadelta+exponentiallr:gamma=0.97", "Adadelta", {},
     lambda o: S.ExponentialLR(o, 0.97), None, ["bowl"]),
    ("sgd:lr=1.0+reducelronplateau:patience=3,factor=0.5", "SGD", {"lr": 1.0},
     lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=3), None, ["bowl"]),
    ("sgd:lr=0.11+reducelronplateau:patience=2,factor=0.7,threshold=0.01", "SGD", {"lr": 0.11},
     lambda o: S.ReduceLROnPlateau(o, factor=0.7, patience=2, threshold=0.01), None,
     ["elongated-bowl"]),
    ("adam:lr=0.1+warmup-cosine:warmup_steps=10,total_steps=100", "Adam", {"lr": 0.1},
     lambda o: warmup_cosine(o, 10, 100), None, ["elongated-bowl"]),
    ("sgd:lr=0.05,momentum=0.9+wsd:warmup_steps=10,decay_steps=30,total_steps=100,"
     "decay_type=1-sqrt", "SGD", {"lr": 0.05, "momentum": 0.9},
     lambda o: wsd(o, 10, 30, 100, decay_type="1-sqrt"), None, ["elongated-bowl"]),
    ("sgd:lr=0.02+linearlr:start_factor=0.5,total_iters=10+exponentiallr:gamma=0.98", "SGD",
     {"lr": 0.02}, lambda o: S.ChainedScheduler([S.LinearLR(o, 0.5, total_iters=10),
                                                 S.ExponentialLR(o, 0.98)]), None, ["bowl"]),
    ("sgd:lr=0.1+multisteplr:milestones=[30;60],gamma=0.1", "SGD", {"lr": 0.1},
     lambda o: S.MultiStepLR(o, [30, 60], 0.1), None, ["elongated-bowl"]),
    # gradient clipping, alone and with a schedule
    ("sgd:lr=0.1", "SGD", {"lr": 0.1}, None, ("norm", 1.0), ["steep-cliff", "elongated-bowl"]),
    ("sgd:lr=0.001,momentum=0.9", "SGD", {"lr": 0.001, "momentum": 0.9}, None, ("norm", 5.0),
     ["rosenbrock"]),
    ("adam:lr=0.01", "Adam", {"lr": 0.01}, None, ("value", 0.5), ["rosenbrock", "elongated-bowl"]),
    ("sgd:lr=0.2", "SGD", {"lr": 0.2}, None, ("value", 1.0), ["steep-cliff"]),
    ("sgd:lr=0.1,momentum=0.9+onecyclelr:max_lr=0.2,total_steps=100", "SGD",
     {"lr": 0.1, "momentum": 0.9}, lambda o: S.OneCycleLR(o, 0.2, total_steps=100),
     ("norm", 2.0), ["steep-cliff", "elongated-bowl"]),
]


def run_torch(cls: str, kwargs: dict, builder, clip, loss, starts: list, steps: int):
    """Positions (steps+1, N, D) and learning rates (steps, N); each start is its own
    parameter, optimizer and scheduler."""
    params = [torch.tensor([s], requires_grad=True) for s in starts]
    opts = [getattr(torch.optim, cls)([p], foreach=False, **kwargs) for p in params]
    scheds = [builder(o) if builder else None for o in opts]
    pos = [np.concatenate([p.detach().numpy() for p in params])]
    lrs = []
    for _ in range(steps):
        lrs.append([float(o.param_groups[0]["lr"]) for o in opts])
        values = []
        for p, o in zip(params, opts, strict=True):
            o.zero_grad()
            value = loss(p).sum()
            value.backward()
            values.append(float(value.detach()))
            if clip is not None:
                if clip[0] == "norm":
                    torch.nn.utils.clip_grad_norm_(p, clip[1])
                else:
                    torch.nn.utils.clip_grad_value_(p, clip[1])
            o.step()
        for s, v in zip(scheds, values, strict=True):
            if isinstance(s, S.ReduceLROnPlateau):
                s.step(v)
            elif s is not None:
                s.step()
        now = np.concatenate([p.detach().numpy() for p in params])
        assert np.isfinite(now).all() and np.abs(now).max() < 1000, (cls, kwargs)
        pos.append(now)
    return np.stack(pos), np.array(lrs)


def safe(text: str, limit: int = 200) -> str:
    """A file-name part for ``text``: long ones cut, with a hash to keep them apart."""
    name = re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)
    if len(name) > limit:
        name = name[:limit] + "_" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "tests" / "golden"
                                          / "schedules"))
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.npz"):
        old.unlink()
    index = []
    for spec, builder, opt_keys in LR_CASES:
        for key in opt_keys:
            losses = plateau_losses(LR_STEPS) if spec.startswith("reducelronplateau") else None
            lrs, moms = lr_sequence(builder, key, LR_STEPS, losses)
            meta = {"schedule": spec, "optimizer": OPTS[key][0], "torch_optimizer": OPTS[key][1],
                    "torch_version": torch.__version__}
            data = {"lr": lrs, "momentum": moms}
            if losses is not None:
                data["losses"] = losses
            name = f"lr__{safe(spec, 60)}__{key}.npz"
            np.savez_compressed(out / name, meta=np.array(json.dumps(meta)), **data)
            index.append({"file": name, **meta})
    for spec, cls, kwargs, builder, clip, fnames in RUN_CASES:
        for fname in fnames:
            loss, one, batch = FUNCTIONS[fname]
            data = {}
            for label, starts in (("one", one), ("batch", batch)):
                pos, lrs = run_torch(cls, kwargs, builder, clip, loss, starts, RUN_STEPS)
                data[f"positions_{label}"] = pos
                data[f"lr_{label}"] = lrs
            meta = {"spec": spec, "function": fname, "clip": f"{clip[0]}={clip[1]!r}" if clip else "",
                    "torch_class": cls, "torch_version": torch.__version__}
            name = f"run__{safe(spec, 60)}__{('clip_' + safe(meta['clip']) + '__') if clip else ''}{fname}.npz"
            np.savez_compressed(out / name, meta=np.array(json.dumps(meta)), **data)
            index.append({"file": name, **meta})
    # clipping alone: rows of gradients (each row one parameter), clipped by torch
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((64, 2)) * np.exp(rng.uniform(-4, 4, (64, 1)))
    grads[0] = 0.0
    grads[1] = [1.0, 0.0]  # norm exactly at the threshold 1
    data = {"grads": grads}
    for mode, c in (("norm", 1.0), ("norm", 0.3), ("value", 0.5), ("value", 2.0)):
        rows = []
        for g in grads:
            p = torch.zeros(1, 2, requires_grad=True)
            p.grad = torch.from_numpy(g.copy()).reshape(1, 2)
            if mode == "norm":
                torch.nn.utils.clip_grad_norm_(p, c)
            else:
                torch.nn.utils.clip_grad_value_(p, c)
            rows.append(p.grad[0].numpy().copy())
        data[f"{mode}={c!r}"] = np.array(rows)
    np.savez_compressed(out / "clip.npz", meta=np.array(json.dumps(
        {"torch_version": torch.__version__})), **data)
    index.append({"file": "clip.npz", "clips": [k for k in data if k != "grads"]})
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    size = sum(f.stat().st_size for f in out.iterdir())
    print(f"{len(index)} files, {size / 1e6:.2f} MB in {out}")


if __name__ == "__main__":
    main()
