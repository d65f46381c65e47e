"""Tuned runs' names (Sweep dock ▸ Tune learning rates, and the CLI's race picture):
the base name is shortened part-wise, never in a number, apart from the other
runs', just enough that the legend shows the tuned value whole. It was cut by
characters: "GD from (−1, 1)" and "GD from (−1, −1)" both became "GD from (−1…"."""

from __future__ import annotations

import pytest
from test_status_names import NAME_SETS, NAMES, assert_never_cut_in_a_number

import optsim
from optsim.render.compute import legend_lines, reads_as, suffixed_names

LONG = [f"gradient descent started from the lower left corner of the square at {p}"
        for p in ("(−1, 1)", "(−1, −1)", "(1, −1)")]


def _check(bases: list[str], names: list[str], suffixes: list[str]) -> None:
    assert len(set(names)) == len(set(bases)), names
    for base, name, suffix in zip(bases, names, suffixes, strict=True):
        assert name.endswith(suffix), (name, suffix)
        short = name[: -len(suffix)]
        assert reads_as(short, base), (short, base)
        assert not [o for o in bases if o != base and reads_as(short, o)], (short, bases)
        assert_never_cut_in_a_number(short, base)
        lines = legend_lines(name)
        assert lines[-1].endswith(suffix.strip()), lines  # the value whole, last


def test_tuned_name_of_a_himmelblau_run_keeps_its_start_whole(qapp):
    from optsim.gui.sweep_dock import SweepPanel

    for base in NAMES:
        name = SweepPanel.tuned_name(base, 0.0123)
        assert name == f"{base} (tuned lr=0.0123)", name
    names = SweepPanel.tuned_names([(b, 0.0123) for b in NAMES])
    _check(NAMES, names, [" (tuned lr=0.0123)"] * 4)


@pytest.mark.parametrize("bases", [*NAME_SETS, LONG])
@pytest.mark.parametrize("lr", [0.0123, 1.5e-05, 3.0])
def test_tuned_names_stay_apart_with_the_value_whole(qapp, bases, lr):
    from optsim.gui.sweep_dock import SweepPanel

    names = SweepPanel.tuned_names([(b, lr) for b in bases])
    _check(bases, names, [f" (tuned lr={lr:.3g})"] * len(bases))


def test_long_names_are_shortened_where_they_differ_not_cut_in_a_number(qapp):
    from optsim.gui.sweep_dock import SweepPanel

    names = SweepPanel.tuned_names([(b, 0.05) for b in LONG])
    assert all(len(" ".join(legend_lines(n))) < len(b) + 20 for n, b in zip(names, LONG, strict=True))
    assert all("…" in n for n in names), names  # (too long for three lines: shortened)
    # the two that share "(−1, " keep their brackets whole; the third reads apart
    # already as "…(1,…" (no other start begins with 1)
    assert [n.split("…")[-1] for n in names[:2]] == ["(−1, 1) (tuned lr=0.05)",
                                                     "(−1, −1) (tuned lr=0.05)"]


def test_race_picture_labels_stay_apart():
    suffixes = [" → lr 0.05", " → lr 0.1", " → lr 0.0123"]
    names = suffixed_names(LONG, suffixes)
    _check(LONG, names, suffixes)


def test_tune_learning_rates_names_runs_apart(qtbot, window):
    """Through the dock: three long names that differ only in their start."""
    panel = window.sweep_panel
    window.model.set_function("quadratic")
    window.model.replace_runs([(optsim.parse_spec("sgd"), n, c, True)
                               for n, c in zip(LONG, ("#E69F00", "#56B4E9", "#009E73"), strict=True)])
    panel.steps.setValue(10)
    with qtbot.waitSignal(panel.message, timeout=60000,
                          check_params_cb=lambda m: m.startswith("tuned")):
        panel.tune_runs()
    window.playback.set_playing(False)
    names = [r.name for r in window.model.runs]
    lrs = [r.optimizer.hp["lr"] for r in window.model.runs]
    _check(LONG, names, [f" (tuned lr={lr:.3g})" for lr in lrs])
    # the status table tells them apart ("…(−1, 1)…", not "…(−1, 1) (…")
    shown = [window.status_table.item(r, 0).text() for r in range(len(LONG))]
    for short, name in zip(shown, names, strict=True):
        assert not short.rstrip("…").endswith("("), short
        assert [n for n in names if reads_as(short, n)] == [name], (short, shown)
    legend = [label.text for _sample, label in window.plot.legend.items]
    for text, lr in zip(legend, lrs, strict=True):
        assert text.endswith(f"(tuned lr={lr:.3g})"), text
