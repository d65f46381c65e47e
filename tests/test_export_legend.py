"""The run legend shows every name readably: wrapped between its parts, or elided
after a whole part, never cut to a symbol and an ellipsis (the schedulefree
preset's "Schedule-Free SGD, lr 0.1, β…"), names that differ kept apart; and in
the exported pictures of every preset at slide sizes, the legend, the tick labels
and the title are whole inside the picture."""

from __future__ import annotations

import re

import pytest

from optsim.cli import picture_runs
from optsim.cli_scenarios import point_runs
from optsim.export.image import build_figure, bundle_runs
from optsim.render.compute import (
    LEGEND_CHARS,
    LEGEND_LINES,
    legend_labels,
    legend_lines,
    short_name,
)
from optsim.runset import run_set
from optsim.scenarios import load_preset, preset_dir

PRESETS = sorted(p.name[:-5] for p in preset_dir().iterdir() if p.name.endswith(".json"))


def _plain(lines: list[str]) -> str:
    return " ".join(lines)


@pytest.mark.parametrize("name", [
    "Schedule-Free SGD, lr 0.1, β 0.5",
    "momentum (PyTorch SGD, momentum = 0.9)",
    "momentum (course: moving average, β = 0.9)",
    "L-BFGS, strong Wolfe line search",
    "Adam, 30 steps of linear warm-up",
    "Schedule-Free SGD, lr 0.1, β 0.5: averaged point x",
])
def test_preset_names_are_kept_whole_on_two_lines(name):
    lines = legend_lines(name)
    assert 1 <= len(lines) <= 2
    assert _plain(lines) == name  # nothing left out, nothing cut inside a word
    assert all(len(line) <= LEGEND_CHARS for line in lines)
    # broken between parts: a line ends a part ("," or ":") or the next opens one
    for a, b in zip(lines, lines[1:], strict=False):
        assert a.endswith((",", ":")) or b.startswith("("), (a, b)


def test_a_name_too_long_for_two_lines_is_elided_after_a_whole_part():
    name = ("Schedule-Free AdamW, lr 0.05, β₁ 0.9, β₂ 0.999, weight decay 0.01, "
            "warm-up 20 steps, r 0.5, weight_lr_power 2, seed 7")
    lines = legend_lines(name)
    assert len(lines) == LEGEND_LINES and lines[-1].endswith("…")
    kept = _plain(lines)[:-1]
    assert name.startswith(kept)
    assert name[len(kept):].startswith(", "), kept  # ends where a part ends
    # never a lone symbol before the ellipsis
    assert len(lines[-1].rstrip("…").split(",")[-1].strip()) >= 3


def test_a_diverged_run_keeps_its_note():
    lines = legend_lines("momentum (course: moving average, β = 0.9) (diverged at step 43)")
    assert lines[-1] == "(diverged at step 43)"


def test_a_long_word_without_spaces_is_broken_after_commas():
    name = "adam:lr=0.01,beta1=0.8,beta2=0.95,eps=1e-8,weight_decay=0.1"
    lines = legend_lines(name)
    assert 2 <= len(lines) <= LEGEND_LINES and all(len(line) <= LEGEND_CHARS for line in lines)
    assert "".join(lines) == name and all(line.endswith(",") for line in lines[:-1])


def test_names_that_differ_stay_distinguishable():
    base = "Schedule-Free SGD, lr 0.1, momentum 0.9, warm-up 10 steps, weight decay 0.1"
    names = [f"{base}, seed {k}" for k in (1, 2)] + ["SGD"]
    labels = legend_labels(names)
    assert len({tuple(x) for x in labels}) == 3
    assert labels[2] == ["SGD"]


def _figure(preset: str, size):
    runs = load_preset(preset)
    pictures = picture_runs(runs, run_set(runs, record_state=point_runs(runs)))
    return build_figure(runs.loss_function(), pictures, size, view=runs.view), runs, pictures


def _legend_texts(fig) -> list[str]:
    return [re.sub(r"<br\s*/?>", " ", label.text).replace("&amp;", "&")
            for _s, label in fig.loss_plot.legend.items]


def _check_picture(fig, runs, pictures) -> None:
    """The legend names every shown run readably and lies whole inside its plot;
    the title is on at most two lines inside the picture."""
    from PySide6 import QtCore

    plot = fig.loss_plot
    texts = _legend_texts(fig)
    bundles = bundle_runs(runs.loss_function(), pictures)
    names = [b.name for b in bundles] if bundles is not None else [r[0] for r in pictures]
    for name in names:
        assert name in texts or any(t.endswith("…") and name.startswith(t[:-1]) for t in texts), \
            (name, texts)
    for text in texts:
        assert not re.search(r"(^|[ ,(])\S?…$", text), text  # no "β…"
    legend = plot.legend
    if legend.isVisible() and legend.opacity() > 0:
        rect = plot.mapFromScene(legend.sceneBoundingRect()).boundingRect()
        assert plot.viewport().rect().adjusted(-1, -1, 1, 1).contains(rect), (rect, plot.size())
        for _sample, label in legend.items:  # each label inside the legend's box
            inner = label.mapRectToItem(legend, label.boundingRect())
            assert legend.boundingRect().adjusted(-1, -1, 1, 1).contains(inner), texts
    title = fig.title
    lines = title.heightForWidth(title.width()) / title.fontMetrics().lineSpacing()
    assert lines < 3.5, title.text()
    assert QtCore.QRect(0, 0, fig.width(), fig.height()).contains(title.geometry())


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
def test_schedulefree_picture_names_both_runs_whole(size):
    fig, runs, pictures = _figure("schedulefree", size)
    try:
        texts = _legend_texts(fig)
        assert "Schedule-Free SGD, lr 0.1, β 0.5" in texts, texts
        assert "averaged point x" in texts, texts
        _check_picture(fig, runs, pictures)
    finally:
        fig.hide()  # (a shown idle figure may keep relaying out)
        fig.deleteLater()


@pytest.mark.slow
@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["720p", "1080p"])
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_picture_has_its_legend_and_title_whole(preset, size):
    fig, runs, pictures = _figure(preset, size)
    try:
        _check_picture(fig, runs, pictures)
    finally:
        fig.hide()  # (a shown idle figure may keep relaying out)
        fig.deleteLater()


@pytest.mark.parametrize("limit", [14, 16, 24])
def test_narrow_limits_keep_every_word_and_space(limit):
    """A part longer than the limit is broken between its words, spaces kept (a part
    ending in ", " gave an IndexError; "SGD,lr" lost its space; a long bracket
    lost the space before it: "AdamW(tuned lr=0.0123) with a")."""
    for name in ("Schedule-Free SGD, lr 0.1, β 0.5", "momentum (PyTorch SGD, momentum = 0.9)",
                 "AdamW (tuned lr=0.0123) with a very long name"):
        for lim in (limit, 30):
            lines = legend_lines(name, lim, 10)
            assert " ".join(lines) == name, lines


def test_short_name_still_cuts_one_line_to_its_limit():
    """(the sweep's tuned names put it before their value)"""
    assert short_name("momentum (PyTorch SGD, momentum = 0.9)", 16) == "momentum (PyTor…"
    assert short_name("gradient descent", 16) == "gradient descent"
