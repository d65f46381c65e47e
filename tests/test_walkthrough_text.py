"""The words the inspector, the editors and ``optsim list`` show for every optimizer
write subscripts as subscripts (xₜ, wₜ₋₁), not as code (x_t, w_(t−1), g_{t−1})."""

from __future__ import annotations

import re

import pytest

from optsim.engine import OPTIMIZERS
from optsim.explain import explain_step
from optsim.simulation import Trajectory

#: a letter followed by _t, _(t..., _{t..., _1: TeX or code written into plain words
#: (not a hyperparameter's name such as precondition_1d)
CODE_SUBSCRIPT = re.compile(r"[A-Za-z\u0370-\u03ff]_(?:[({]?t\b|\d\b)")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_inspector_and_editor_words_have_no_code_subscripts(name: str) -> None:
    kind = OPTIMIZERS[name]
    words = [kind.summary, *(p.help for p in kind.hyperparams)]
    traj = Trajectory("elongated-bowl", name, [[-1.0, 1.0]])
    traj.advance(2)
    ex = explain_step(traj, 2)
    words += [ex.note, *(e.note for e in ex.equations)]
    words += [f"{r.name} {r.hint}" for r in ex.rows]
    words += [line for _heading, lines in ex.sections for line in lines]
    bad = [w for w in words if w and CODE_SUBSCRIPT.search(w)]
    assert not bad, f"{name}: {bad}"
