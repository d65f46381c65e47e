"""Learning-rate schedules against torch.optim.lr_scheduler, from the golden files
that tools/make_golden_schedules.py wrote with torch (torch is not needed here),
and the spec syntax ``opt-spec+schedule-spec``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optsim.engine import parse_spec
from optsim.schedules import (
    SCHEDULES,
    make_schedule,
    momentum_name,
    parse_schedule,
    split_plus,
    split_spec,
)

GOLDEN = Path(__file__).parent / "golden" / "schedules"
LR_FILES = sorted(GOLDEN.glob("lr__*.npz"))
TOL = 1e-12


def _load(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path) as data:
        return json.loads(str(data["meta"])), {k: data[k] for k in data.files if k != "meta"}


def test_golden_lr_files_cover_every_schedule() -> None:
    names = {parse_schedule(_load(f)[0]["schedule"]).name for f in LR_FILES}
    assert names == set(SCHEDULES)
    # momentum cycled on SGD's momentum and on Adam's beta1
    optimizers = {(_load(f)[0]["schedule"].split(":")[0], _load(f)[0]["optimizer"].split(":")[0])
                  for f in LR_FILES}
    assert {("cycliclr", "adam"), ("cycliclr", "sgd"), ("onecyclelr", "adam"),
            ("onecyclelr", "sgd"), ("onecyclelr", "adagrad")} <= optimizers


@pytest.mark.parametrize("path", LR_FILES, ids=[f.stem for f in LR_FILES])
def test_learning_rates_match_torch(path: Path) -> None:
    meta, arrays = _load(path)
    schedule = parse_schedule(meta["schedule"])
    opt = parse_spec(meta["optimizer"])
    target = momentum_name(opt.hp)
    steps = len(arrays["lr"])
    sched = schedule.start(opt.hp["lr"], opt.hp[target] if target else None)
    lrs, moms = [], []
    for t in range(steps):
        if t:
            sched.step(arrays["losses"][t - 1] if "losses" in arrays else None)
        lrs.append(float(np.asarray(sched.lr)))
        moms.append(np.nan if sched.momentum is None else float(sched.momentum))
    np.testing.assert_allclose(lrs, arrays["lr"], rtol=TOL, atol=TOL)
    if schedule.cycles_momentum:
        np.testing.assert_allclose(moms, arrays["momentum"], rtol=TOL, atol=TOL)
    if "losses" not in arrays:
        table, mom_table = schedule.lrs(opt.hp["lr"], steps, opt.hp[target] if target else None)
        np.testing.assert_allclose(table, arrays["lr"], rtol=TOL, atol=TOL)
        assert (mom_table is not None) == schedule.cycles_momentum


def test_plateau_is_per_row() -> None:
    """A batch of runs: each row's lr follows its own losses, as the runs alone."""
    schedule = parse_schedule("reducelronplateau:patience=1,factor=0.5")
    losses = np.array([[1.0, 1.0], [0.5, 1.0], [0.25, 1.0], [0.1, 1.0]])
    s = schedule.start(np.array([0.1, 0.2]))
    for row in losses:
        s.step(row)
    # row 0 keeps improving; row 1 is flat: better once, then bad, bad -> cut
    np.testing.assert_array_equal(s.lr, [0.1, 0.1])
    alone = schedule.start(0.2)
    for row in losses:
        alone.step(row[1])
    assert alone.lr == 0.1


def test_split_spec() -> None:
    opt, sched = split_spec("sgd:lr=0.1,momentum=0.9+onecyclelr:max_lr=0.5,total_steps=300")
    assert opt == "sgd:lr=0.1,momentum=0.9"
    assert sched.name == "onecyclelr" and sched.values["max_lr"] == 0.5
    assert sched.values["total_steps"] == 300
    opt, sched = split_spec("adam:lr=0.01+multisteplr:milestones=[30;80],gamma=0.1")
    assert opt == "adam:lr=0.01" and sched.values["milestones"] == (30, 80)
    assert split_spec("adam:lr=1e+3") == ("adam:lr=1e+3", None)  # a number's +
    opt, sched = split_spec("sgd+linearlr+exponentiallr:gamma=0.9")
    assert sched.name == "chainedscheduler" and len(sched.values["schedulers"]) == 2
    assert split_plus("a+b:x=[1;2]+c") == ["a", "b:x=[1;2]", "c"]


@pytest.mark.parametrize("spec", [
    "steplr:step_size=30", "multisteplr:milestones=[30;80],gamma=0.5",
    "onecyclelr:max_lr=0.5,total_steps=300,three_phase=true,anneal_strategy=linear",
    "cycliclr:base_lr=0.001,max_lr=0.01,step_size_down=none,mode=exp_range,gamma=0.99",
    "sequentiallr:schedulers=[linearlr:start_factor=0.1,total_iters=10;"
    "cosineannealinglr:T_max=90],milestones=[10]",
    "linearlr:start_factor=0.1+exponentiallr:gamma=0.9",
    "wsd:warmup_steps=10,decay_steps=20,total_steps=100,decay_type=1-sqrt",
    "warmup-cosine:warmup_steps=5,total_steps=50",
    "reducelronplateau:mode=max,threshold_mode=abs",
])
def test_spec_round_trips(spec: str) -> None:
    s = parse_schedule(spec)
    again = parse_schedule(s.spec)
    assert again == s and again.values == s.values


def test_torch_names_and_defaults() -> None:
    s = make_schedule("onecyclelr", max_lr=0.1, total_steps=10)
    assert s.values["pct_start"] == 0.3 and s.values["div_factor"] == 25.0
    assert s.values["final_div_factor"] == 1e4 and s.values["base_momentum"] == 0.85
    c = make_schedule("cycliclr", base_lr=0.001, max_lr=0.01)
    assert c.values["step_size_up"] == 2000 and c.values["step_size_down"] is None
    assert c.values["mode"] == "triangular" and c.values["max_momentum"] == 0.9
    assert make_schedule("linearlr").values == {"start_factor": 1 / 3, "end_factor": 1.0,
                                                "total_iters": 5}
    p = make_schedule("reducelronplateau").values
    assert (p["factor"], p["patience"], p["threshold"], p["cooldown"], p["eps"]) == \
        (0.1, 10, 1e-4, 0, 1e-8)
    assert parse_schedule("cosineannealinglr:t_max=5").values["T_max"] == 5  # any case


@pytest.mark.parametrize(("spec", "message"), [
    ("steplr", "step_size is required"),
    ("steplr:step_size=0", "step_size=0 is out of range"),
    ("steplr:gama=0.1", "unknown parameter 'gama'"),
    ("nosuchlr", "unknown schedule 'nosuchlr'"),
    ("multisteplr:milestones=30;80", "list in brackets"),
    ("multisteplr:milestones=[30;x]", "'x' is not a number"),
    ("multisteplr:milestones=[30;80", "unbalanced"),
    ("cycliclr:base_lr=0.1,max_lr=0.2,mode=sine", "mode must be one of"),
    ("onecyclelr:max_lr=0.1", "give total_steps"),
    ("reducelronplateau:factor=1.0", "factor must be < 1"),
    ("sequentiallr:schedulers=[linearlr;steplr:step_size=3],milestones=[5;9]",
     "need 1 milestone"),
    ("sequentiallr:schedulers=[linearlr;reducelronplateau],milestones=[5]",
     "cannot hold reducelronplateau"),
    ("wsd:warmup_steps=50,decay_steps=60,total_steps=100", "more than total_steps"),
    ("steplr:step_size=3,step_size=4", "given twice"),
])
def test_bad_specs_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_schedule(spec)


def test_stepping_past_total_steps_is_an_error() -> None:
    s = parse_schedule("onecyclelr:max_lr=0.1,total_steps=5")
    assert s.max_steps == 5
    lrs, _ = s.lrs(0.01, 5, 0.9)
    assert lrs[0] == pytest.approx(0.1 / 25)
    with pytest.raises(ValueError, match="no learning rate for step 6"):
        s.lrs(0.01, 6, 0.9)
    with pytest.raises(ValueError, match="no learning rate for step 11"):
        parse_schedule("warmup-cosine:warmup_steps=2,total_steps=10").lrs(0.1, 11)


def test_momentum_cycling_needs_a_momentum() -> None:
    s = parse_schedule("onecyclelr:max_lr=0.1,total_steps=10")
    assert momentum_name(parse_spec("adagrad").hp) is None
    with pytest.raises(ValueError, match="no momentum or beta1 to cycle"):
        s.start(0.1, None)
    assert momentum_name(parse_spec("nadam").hp) == "beta1"
    assert momentum_name(parse_spec("rmsprop").hp) == "momentum"


def test_every_parameter_is_declared_with_help_and_range() -> None:
    for kind in SCHEDULES.values():
        assert kind.summary
        for p in kind.params:
            assert p.help and p.range_text()
            if not p.required:
                p.validate(p.default, kind.name)
