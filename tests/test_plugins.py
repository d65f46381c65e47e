"""Plug-ins: the README's example (docs/plugins/sign_momentum.py) loaded and used
everywhere a built-in is; plug-ins that fail to import, declare nonsense or raise
while stepping give one clear line (and their own traceback as details); the
command line exits 2; scenarios name the plug-in file; entry points register."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from optsim import cli, plugins
from optsim.engine import OPTIMIZERS, optimizer_kind, parse_spec
from optsim.engine.base import OptimizerFailed
from optsim.explain import explain_step
from optsim.runset import Run, RunSet
from optsim.simulation import Trajectory, advance_runs, simulate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "plugins" / "sign_momentum.py"


@pytest.fixture(autouse=True)
def _registry():
    """Each test's plug-ins are forgotten after it (the registry is the process's)."""
    saved, sources = dict(OPTIMIZERS), dict(plugins.SOURCES)
    yield
    OPTIMIZERS.clear()
    OPTIMIZERS.update(saved)
    plugins.SOURCES.clear()
    plugins.SOURCES.update(sources)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


GOOD = """
    from typing import NamedTuple
    import numpy as np
    from optsim.engine import HyperParam, Optimizer

    class S(NamedTuple):
        step: int
        total: np.ndarray

    class Halves(Optimizer):
        '''Halves the distance to the gradient step; raises at step {fail}.'''
        algorithm = "{name}"
        hyperparams = (HyperParam("lr", float, 0.1, "lr", low=0.0, high=1.0),)
        State = S

        def update(self, c, params, grads, state, step, out_params, out, info):
            if step == {fail}:
                raise RuntimeError("broken on purpose")
            np.subtract(params, 0.5 * c["lr"] * grads, out=out_params)
            np.add(state.total, grads, out=out["total"])
"""


def test_the_readme_example_is_the_example_file_and_is_25_lines_or_so() -> None:
    code = EXAMPLE.read_text()
    assert code.strip() in (ROOT / "README.md").read_text()
    assert 20 <= len(code.strip().splitlines()) <= 35


def test_the_example_plugin_works_where_a_builtin_does(capsys) -> None:
    (kind,) = plugins.load_plugin(EXAMPLE)
    assert kind.name == "sign-momentum" and OPTIMIZERS["sign-momentum"] is kind
    # spec strings, and the rule: every coordinate moves by exactly lr
    path = simulate("rosenbrock", "sign-momentum:lr=0.05,beta=0.5", [-1.5, 2.0], 20)
    np.testing.assert_allclose(np.abs(np.diff(path, axis=0)), 0.05, rtol=1e-12)
    opt = parse_spec("sign-momentum:lr=0.05")
    assert parse_spec(opt.spec) == opt
    # per-run hyperparameters and a batch, as built-ins
    batch = optimizer_kind("sign-momentum").create(lr=np.array([0.01, 0.1]))
    t = Trajectory("bowl", batch, [[1.0, 1.0], [1.0, 1.0]])
    t.advance(3)
    np.testing.assert_allclose(t.positions[1, :, 0], [0.99, 0.9])
    # the inspector: its state array by name, with numbers, without equations
    t = Trajectory("bowl", "sign-momentum", [[1.0, -1.0]])
    t.advance(2)
    e = explain_step(t, 2)
    rows = {r.key: r.value for r in e.rows}
    np.testing.assert_allclose(rows["momentum_buffer"], t.state.momentum_buffer[0])
    assert e.equations == [] and "update" in rows
    # wrappers wrap it too
    simulate("bowl", "sign-momentum+lookahead:k=2", [1.0, 1.0], 4)
    # optsim list names it and its file
    assert cli.main(["list", "optimizers"]) == 0
    out = capsys.readouterr().out
    assert "sign-momentum" in out and str(EXAMPLE) in out


def test_the_command_line_loads_a_plugin_and_fails_with_one_line(tmp_path, capsys) -> None:
    assert cli.main(["run", "--plugin", str(EXAMPLE), "-o", "sign-momentum:lr=0.05",
                     "-n", "5"]) == 0
    assert "sign-momentum:lr=0.05: final" in capsys.readouterr().out
    broken = _write(tmp_path, "broken.py", GOOD.format(name="broken", fail=3))
    assert cli.main(["run", "--plugin", str(broken), "-o", "broken", "-n", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["optsim: error: broken at step 3: RuntimeError: broken on purpose"]
    assert cli.main(["run", "--plugin", str(tmp_path / "missing.py"), "-o", "adam"]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("text,message", [
    ("import numpy\nx = 1 / 0\n", "failed to import: ZeroDivisionError: division by zero"),
    ("def f(:\n", "failed to import: SyntaxError"),
    ("import numpy\n", "defines no optimizer"),
    (GOOD.format(name="adam", fail=9), "'adam' is a built-in optimizer"),
    (GOOD.format(name="Bad Name", fail=9), "must be lower-case letters"),
    (GOOD.format(name="ok", fail=9).replace('HyperParam("lr", float, 0.1,',
                                            'HyperParam("lr", float, 5.0,'),
     "the default of lr is not valid"),
    (GOOD.format(name="ok", fail=9).replace("step: int\n", "count: int\n"),
     "State must be a NamedTuple whose first field is step"),
    (GOOD.format(name="ok", fail=1), "its first steps fail (step 1): RuntimeError: broken"),
    (GOOD.format(name="ok", fail=9).replace("0.5 * c[", "np.inf * c["),
     "not finite parameters"),
])
def test_a_bad_plugin_says_what_is_wrong_with_its_own_traceback(tmp_path, text, message) -> None:
    path = _write(tmp_path, "mine.py", text)
    with pytest.raises(plugins.PluginError) as err:
        plugins.load_plugin(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    if "import" in message or "first steps" in message:
        assert str(path) in err.value.details  # the plug-in's own frames
    assert "ok" not in OPTIMIZERS and "mine" not in OPTIMIZERS


def test_a_plugin_raising_in_its_update_marks_the_run_failed_at_that_step(tmp_path) -> None:
    plugins.load_plugin(_write(tmp_path, "late.py", GOOD.format(name="late", fail=7)))
    with pytest.raises(OptimizerFailed, match="late at step 7: RuntimeError") as err:
        simulate("bowl", "late", [1.0, 1.0], 10)
    assert "broken on purpose" in err.value.details and "late.py" in err.value.details
    # the window's way: that run stops, failed at step 7; the others go on
    bad = Trajectory("bowl", "late", [[1.0, 1.0]])
    good = Trajectory("bowl", "adam", [[1.0, 1.0]])
    advance_runs([bad, good], 20, stop_diverged=True, chunk=256)
    assert good.steps == 20 and not good.diverged.any()
    assert bad.steps == 6 and bad.diverged.all() and bad.diverged_step[0] == 7
    assert bad.failure is not None and bad.failure.step == 7


def test_scenarios_name_the_plugin_file_and_load_it(tmp_path) -> None:
    plugins.load_plugin(EXAMPLE)
    runs = RunSet("bowl", (Run("sign-momentum", {"lr": 0.05}),), steps=5)
    text = runs.to_json()
    assert str(EXAMPLE) in text
    # a fresh process: the file names the plug-in, reading it loads the optimizer
    OPTIMIZERS.pop("sign-momentum")
    plugins.SOURCES.clear()
    back = RunSet.from_json(text)
    assert back.plugins == (str(EXAMPLE),) and "sign-momentum" in OPTIMIZERS
    missing = text.replace(str(EXAMPLE), str(tmp_path / "gone.py"))
    with pytest.raises(ValueError, match="plugins: plug-in .*gone.py' not found"):
        RunSet.from_json(missing)


def test_installed_packages_register_through_the_entry_point_group(tmp_path, monkeypatch) -> None:
    pkg = tmp_path / "site"
    pkg.mkdir()
    (pkg / "halves_opt.py").write_text(textwrap.dedent(GOOD.format(name="halves", fail=99)))
    dist = pkg / "halves_opt-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: halves-opt\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[optsim.optimizers]\nhalves = halves_opt\n"
                                           "broken = halves_opt:Missing\n")
    monkeypatch.syspath_prepend(str(pkg))
    problems = plugins.load_entry_points()
    assert "halves" in OPTIMIZERS and plugins.plugin_source("halves").startswith("halves_opt")
    assert len(problems) == 1 and "broken" in problems[0]
    sys.modules.pop("halves_opt", None)
