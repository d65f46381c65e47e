"""Make the golden trajectories of Schedule-Free (the ``schedulefree`` package 1.4.1,
train mode) and of Lookahead (pytorch-optimizer 4.1.0) around torch.optim and
Schedule-Free optimizers, in tests/golden/schedulefree/ and tests/golden/lookahead/
(needs torch, schedulefree, pytorch_optimizer).

The files have the layout of tools/make_golden.py's (the same functions, starts,
box and lr schedule: ``param_group["lr"]`` set before every step to
``lr × lr_factors[k] × row_factors[i]``, one parameter group per start), so that
tests/test_wrappers.py replays them the same way, without torch.

Schedule-Free runs in train mode (``optimizer.train()`` before the first step), as
its documentation asks: the positions are y, where the gradients are taken. Each
file also holds ``x_one``/``x_batch``: the averaged point x after every step, as
``optimizer.eval()`` would put it into the parameters (computed from a copy, so
that the run itself never leaves train mode).

Usage: python tools/make_golden_wrappers.py [--steps 100]
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytorch_optimizer
import schedulefree
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_golden import BOX, FUNCTIONS, ROW_FACTORS, SCHEDULE_FUNCTION, file_name, lr_factors  # noqa: E402

STEPS = 100

# (optsim spec, reference class, keyword arguments): Schedule-Free. Rosenbrock's
# gradients are ~100 times the bowls': SCHEDULEFREE_ROSENBROCK gives the lr there.
SCHEDULEFREE: list[tuple[str, str, dict]] = [
    ("schedulefree-sgd:lr=0.02", "SGDScheduleFree", {"lr": 0.02}),
    ("schedulefree-sgd:lr=0.02,momentum=0.5,weight_decay=0.1", "SGDScheduleFree",
     {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.1}),
    ("schedulefree-sgd:lr=0.05,warmup_steps=10,r=1.0,weight_lr_power=1.0", "SGDScheduleFree",
     {"lr": 0.05, "warmup_steps": 10, "r": 1.0, "weight_lr_power": 1.0}),
    ("schedulefree-adamw", "AdamWScheduleFree", {}),
    ("schedulefree-adamw:lr=0.05", "AdamWScheduleFree", {"lr": 0.05}),
    ("schedulefree-adamw:lr=0.05,beta1=0.5,beta2=0.99,eps=1e-06,weight_decay=0.1",
     "AdamWScheduleFree", {"lr": 0.05, "betas": (0.5, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("schedulefree-adamw:lr=0.05,warmup_steps=20,r=0.5,weight_lr_power=0.0",
     "AdamWScheduleFree", {"lr": 0.05, "warmup_steps": 20, "r": 0.5, "weight_lr_power": 0.0}),
]
SCHEDULEFREE_ROSENBROCK = {
    "schedulefree-sgd:lr=0.02": 2e-4,
    "schedulefree-sgd:lr=0.02,momentum=0.5,weight_decay=0.1": 2e-4,
    "schedulefree-sgd:lr=0.05,warmup_steps=10,r=1.0,weight_lr_power=1.0": 5e-4,
    # near (1, 1) the valley's ~1 ulp differences between torch's fused multiply-adds
    # and NumPy's separate ones grow to ~4e-9 by step 100 at lr 0.05
    "schedulefree-adamw:lr=0.05,beta1=0.5,beta2=0.99,eps=1e-06,weight_decay=0.1": 0.01,
}

# (optsim spec, base: torch.optim class or "schedulefree.Class", its arguments,
#  Lookahead's arguments)
LOOKAHEAD: list[tuple[str, str, dict, dict]] = [
    ("adam:lr=0.02+lookahead", "Adam", {"lr": 0.02}, {}),
    ("adam:lr=0.05+lookahead:k=3,alpha=0.8", "Adam", {"lr": 0.05}, {"k": 3, "alpha": 0.8}),
    ("sgd:lr=0.01+lookahead:k=4,alpha=0.3", "SGD", {"lr": 0.01}, {"k": 4, "alpha": 0.3}),
    ("momentum:lr=0.005+lookahead:k=7,alpha=0.6", "SGD", {"lr": 0.005, "momentum": 0.9},
     {"k": 7, "alpha": 0.6}),
    ("rmsprop:lr=0.01,centered=true+lookahead:k=2,alpha=0.1", "RMSprop",
     {"lr": 0.01, "centered": True}, {"k": 2, "alpha": 0.1}),
    ("schedulefree-adamw:lr=0.05+lookahead:k=5,alpha=0.5", "schedulefree.AdamWScheduleFree",
     {"lr": 0.05}, {"k": 5, "alpha": 0.5}),
]
LOOKAHEAD_ROSENBROCK = {
    "sgd:lr=0.01+lookahead:k=4,alpha=0.3": 1e-4,
    "momentum:lr=0.005+lookahead:k=7,alpha=0.6": 1e-4,
}


def for_function(spec: str, kwargs: dict, function: str, table: dict) -> tuple[str, dict]:
    """The config as used on ``function``: Rosenbrock's own lr where ``table`` says."""
    if function == "rosenbrock" and spec in table:
        lr = table[spec]
        old = kwargs["lr"]
        return spec.replace(f"lr={old!r}", f"lr={lr!r}", 1), {**kwargs, "lr": lr}
    return spec, kwargs


def make(cls_name: str, groups: list[dict], kwargs: dict, lookahead: dict | None):
    """The reference optimizer over ``groups``, in train mode for Schedule-Free."""
    if cls_name.startswith("schedulefree."):
        opt = getattr(schedulefree, cls_name.split(".", 1)[1])(groups, **kwargs)
        opt.train()
    elif cls_name in ("SGDScheduleFree", "AdamWScheduleFree"):
        opt = getattr(schedulefree, cls_name)(groups, **kwargs)
        opt.train()
    else:
        opt = getattr(torch.optim, cls_name)(groups, foreach=False, **kwargs)
    if lookahead is not None:
        return pytorch_optimizer.Lookahead(opt, **lookahead), opt
    return opt, opt


def averaged(inner, params: list[torch.Tensor]) -> np.ndarray | None:
    """Schedule-Free's x, as ``eval()`` computes it (``p.lerp_(z, 1 - 1/beta1)``),
    from copies (the run stays in train mode)."""
    if not hasattr(inner, "eval") or not all("z" in inner.state[p] for p in params):
        return None
    out = []
    for group in inner.param_groups:
        beta = group["momentum"] if "momentum" in group else group["betas"][0]
        for p in group["params"]:
            out.append(p.detach().clone().lerp_(inner.state[p]["z"], 1 - 1 / beta)
                       .reshape(-1, p.shape[-1]).numpy())
    return np.concatenate(out)


def run(cls_name: str, kwargs: dict, lookahead: dict | None, loss, starts: list, steps: int,
        rows: list[float] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Positions (k+1, N, D) and, for Schedule-Free, x (k+1, N, D). ``rows``: one
    parameter group per start with the lr set before every step (see the docstring);
    None: the starts as one (N, D) parameter at the configured lr."""
    if rows is None:
        params = [torch.tensor(starts, dtype=torch.float64, requires_grad=True)]
    else:
        params = [torch.tensor([s], dtype=torch.float64, requires_grad=True) for s in starts]
    opt, inner = make(cls_name, [{"params": [p]} for p in params], kwargs, lookahead)
    base = inner.defaults["lr"]
    factors = lr_factors(steps)

    def now() -> np.ndarray:
        return np.concatenate([p.detach().clone().numpy() for p in params])

    out, xs = [now()], [now()]
    for k in range(steps):
        opt.zero_grad()
        loss(torch.cat(params)).sum().backward()
        if rows is not None:
            for group, row in zip(inner.param_groups, rows, strict=True):
                group["lr"] = base * factors[k] * row
        opt.step()
        pos = now()
        if not np.isfinite(pos).all() or np.abs(pos).max() > BOX:
            break
        out.append(pos)
        x = averaged(inner, params)
        xs.append(x if x is not None else pos)
    return np.stack(out), (np.stack(xs) if averaged(inner, params) is not None else None)


def write(out: Path, name: str, meta: dict, data: dict, index: list) -> None:
    np.savez_compressed(out / name, meta=np.array(json.dumps(meta)), **data)
    lengths = {k: len(v) - 1 for k, v in data.items() if k.startswith("positions")}
    index.append({"file": name, **meta, "steps": lengths})
    print(f"{out.name}/{name}: {lengths}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=STEPS)
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    root = Path(__file__).resolve().parents[1] / "tests" / "golden"
    versions = {name: metadata.version(name)
                for name in ("torch", "schedulefree", "pytorch_optimizer")}
    configs = [(spec, cls, kw, None, SCHEDULEFREE_ROSENBROCK, "schedulefree")
               for spec, cls, kw in SCHEDULEFREE]
    configs += [(spec, cls, kw, la, LOOKAHEAD_ROSENBROCK, "lookahead")
                for spec, cls, kw, la in LOOKAHEAD]
    for folder in ("schedulefree", "lookahead"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for old in (root / folder).glob("*.npz"):
            old.unlink()
    indexes: dict[str, list] = {"schedulefree": [], "lookahead": []}
    for config, cls, config_kw, la, table, folder in configs:
        for fname, (loss, one, batch) in FUNCTIONS.items():
            spec, kw = for_function(config, config_kw, fname, table)
            data = {}
            for label, starts in (("one", one), ("batch", batch)):
                pos, xs = run(cls, kw, la, loss, starts, args.steps)
                data[f"positions_{label}"] = pos
                if xs is not None and la is None:
                    data[f"x_{label}"] = xs
            meta = {"spec": spec, "function": fname, "reference": cls,
                    "kwargs": {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()},
                    "lookahead": la, "versions": versions}
            write(root / folder, file_name(spec, fname), meta, data, indexes[folder])
        # the lr changed before every step, per run in the batch
        loss, one, batch = FUNCTIONS[SCHEDULE_FUNCTION]
        data = {"positions_one": run(cls, config_kw, la, loss, one, args.steps, [1.0])[0],
                "positions_batch": run(cls, config_kw, la, loss, batch, args.steps,
                                       ROW_FACTORS)[0],
                "lr_factors": np.array(lr_factors(args.steps)),
                "row_factors": np.array(ROW_FACTORS)}
        meta = {"spec": config, "function": SCHEDULE_FUNCTION, "reference": cls,
                "kwargs": {k: list(v) if isinstance(v, tuple) else v
                           for k, v in config_kw.items()}, "lookahead": la,
                "versions": versions,
                "lr": "param_group['lr'] = lr * lr_factors[k] * row_factors[i] before step k+1"}
        write(root / folder, "lr_schedule__" + file_name(config, SCHEDULE_FUNCTION), meta, data,
              indexes[folder])
    for folder, index in indexes.items():
        (root / folder / "index.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
