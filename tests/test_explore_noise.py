"""Gradient noise in sweeps, basins and tuning: a cell is the median over K seeds of
runs that equal separate ``optsim.simulation.run(..., noise=..., seed=seed + k)`` runs
(built here one by one, independently of the sweep's batched rows); no noise gives
exactly the exact-gradient arrays; the CLI's --noise/--seed/--seeds; the tuned race
picture states each tuned lr and the criterion."""

from collections import Counter

import numpy as np
import pytest

from optsim.cli import main
from optsim.explore import basins, sweep, tune
from optsim.explore.noise import DEFAULT_SEEDS
from optsim.simulation import run


def _final(r) -> float:
    return np.inf if bool(r.diverged) else float(r.losses[-1])


def _spec(base: str, values: dict) -> str:
    """``base`` with ``values`` written in (before a ``+schedule``)."""
    opt, plus, schedule = base.partition("+")
    text = ",".join(f"{k}={float(v)!r}" for k, v in values.items())
    return opt + (":" if ":" not in opt else ",") + text + plus + schedule


@pytest.mark.parametrize("fn, base, noise, clip", [
    ("rosenbrock", "adam", "gaussian:sigma=0.5", None),
    ("elongated-bowl", "momentum", "student:nu=3,sigma=0.3", None),
    ("rosenbrock", "sgd+steplr:step_size=10,gamma=0.5", "multiplicative:sigma=0.3", "norm=2"),
    ("linear-regression", "momentum", "minibatch:batch=4", None),
])
def test_a_cell_is_the_median_of_separate_seeded_runs(fn, base, noise, clip):
    """Two axes, two starts, three seeds: each cell is the median of the 6 separate runs
    (start s, seed 7 + k), bit for bit; best-loss and diverged too."""
    starts = [(-1.5, 2.0), (0.5, -0.5)]
    y = "beta1=0:0.9:2" if base == "adam" else "momentum=0:0.9:2"
    res = sweep(fn, base, x="lr=0.0003:0.05:3:log", y=y, start=starts, steps=30,
                noise=noise, seed=7, seeds=3, clip=clip, workers=1)
    assert res.values.shape == (2, 3) and res.seeds == 3 and res.noise.spec.startswith(
        noise.split(":")[0])
    yname = y.split("=")[0]
    for j, yv in enumerate(res.y):
        for i, lr in enumerate(res.x):
            runs = [run(fn, _spec(base, {"lr": lr, yname: yv}), s, 30, noise=noise,
                        seed=7 + k, clip=clip) for s in starts for k in range(3)]
            assert res.metrics["final-loss"][j, i] == np.median([_final(r) for r in runs])
            assert res.metrics["best-loss"][j, i] == np.median(
                [np.nanmin(r.losses) for r in runs])
            assert res.metrics["diverged"][j, i] == np.mean([bool(r.diverged) for r in runs])


def test_no_noise_gives_exactly_the_exact_gradient_arrays():
    kw = dict(x="lr=0.001:0.3:6:log", y="beta1=0:0.95:4", start=[(-1.5, 2.0), (1, 1.5)],
              steps=40)
    exact = sweep("rosenbrock", "adam", **kw)
    for noise in (0, 0.0, "0", "gaussian:sigma=0", "multiplicative:sigma=0", None, ""):
        got = sweep("rosenbrock", "adam", noise=noise, seed=11, seeds=4, **kw)
        assert got.noise is None and got.seeds == 1
        for name, values in exact.metrics.items():
            np.testing.assert_array_equal(got.metrics[name], values)
    b0 = basins("himmelblau", "sgd:lr=0.01", grid=9, steps=100)
    b1 = basins("himmelblau", "sgd:lr=0.01", grid=9, steps=100, noise=0, seeds=3)
    np.testing.assert_array_equal(b0.labels, b1.labels)
    np.testing.assert_array_equal(b0.ends, b1.ends)
    assert b1.agreement is None


def test_noisy_maps_are_deterministic_for_a_seed():
    kw = dict(x="lr=0.001:0.3:7:log", y="beta1=0:0.95:5", steps=40, noise=1.0)
    a = sweep("rosenbrock", "adam", seed=3, **kw)
    assert a.seeds == DEFAULT_SEEDS
    # the blocks (and threads) a sweep is cut into do not change it
    b = sweep("rosenbrock", "adam", seed=3, block_rows=7, workers=2, **kw)
    np.testing.assert_array_equal(a.values, b.values)
    c = sweep("rosenbrock", "adam", seed=4, **kw)
    assert not np.array_equal(a.values, c.values)
    exact = sweep("rosenbrock", "adam", x=kw["x"], y=kw["y"], steps=40)
    assert not np.array_equal(a.values, exact.values)


def test_noisy_basins_label_is_the_minimum_most_seeds_reach():
    res = basins("himmelblau", "sgd:lr=0.02", grid=4, steps=150, noise=3.0, seed=2, seeds=5,
                 workers=1)
    minima = np.array(res.function.minima)
    for j, yv in enumerate(res.y):
        for i, xv in enumerate(res.x):
            labels, ends = [], []
            for k in range(5):
                r = run("himmelblau", "sgd:lr=0.02", (xv, yv), 150, noise=3.0, seed=2 + k)
                end = r.positions[-1]
                d = np.sqrt(((minima - end) ** 2).sum(axis=1))
                label = -2 if bool(r.diverged) else (int(d.argmin()) if d.min() <= res.radius
                                                     else -1)
                labels.append(label)
                ends.append(end)
            counts = Counter(labels)
            top = max(counts.values())
            chosen = next(lab for lab in labels if counts[lab] == top)  # ties: lowest seed
            assert res.labels[j, i] == chosen
            assert res.agreement[j, i] == top / 5
            np.testing.assert_array_equal(res.ends[j, i], ends[labels.index(chosen)])


def test_noisy_tune_picks_the_lr_of_the_lowest_median():
    lrs = "lr=0.001:0.1:5:log"
    (r,) = tune("rosenbrock", "momentum", steps=40, start=(-1.5, 2.0), starts=2, lr=lrs,
                noise="gaussian:sigma=1", seed=5, seeds=3)
    from optsim.explore.tune import tune_starts
    from optsim.functions import as_function

    points = tune_starts(as_function("rosenbrock"), (-1.5, 2.0), 2)
    medians = [np.median([_final(run("rosenbrock", f"momentum:lr={float(lr)!r}", p, 40,
                                     noise="gaussian:sigma=1", seed=5 + k))
                          for p in points for k in range(3)]) for lr in r.lrs]
    np.testing.assert_array_equal(r.curve, medians)
    assert r.lr == r.lrs[int(np.argmin(medians))]
    from optsim.explore.tune import describe

    text = describe([r])
    assert "median final loss over 2 starts × 3 seeds" in text
    assert "gaussian:sigma=1 noise (seeds 5–7)" in text


def test_noise_errors_are_one_line():
    from optsim.explore import SweepInputError

    for kw, message in ((dict(noise="minibatch:batch=4"), "no data points"),
                        (dict(noise="foo"), "unknown noise"),
                        (dict(noise=True), "noise must be"),
                        (dict(noise=1, seed=-1), "seed must be"),
                        (dict(noise=1, seeds=0), "seeds must be")):
        with pytest.raises(SweepInputError, match=message):
            sweep("rosenbrock", "adam", x="lr=0.01:0.1:3", steps=5, **kw)
    with pytest.raises(SweepInputError, match="closure"):
        sweep("rosenbrock", "lbfgs", x="lr=0.1:1:3", steps=5, noise=1)


def test_cli_noise_equals_the_api(tmp_path, capsys):
    import csv

    out = tmp_path / "s.csv"
    assert main(["sweep", "-f", "rosenbrock", "-o", "adam", "--x", "lr=0.001:0.3:5:log",
                 "--steps", "30", "--noise", "student:nu=3,sigma=0.5", "--seed", "9",
                 "--seeds", "3", "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "from (-1.5, 2), student:nu=3,sigma=0.5 noise, median over 3 seeds (9–11)" in text
    with open(out, newline="") as f:
        rows = list(csv.reader(f))[1:]
    api = sweep("rosenbrock", "adam", x="lr=0.001:0.3:5:log", steps=30,
                noise="student:nu=3,sigma=0.5", seed=9, seeds=3)
    assert [float(r[1]) for r in rows] == api.values.tolist()
    bcsv = tmp_path / "b.csv"
    assert main(["basins", "-f", "himmelblau", "--grid", "5", "--steps", "100", "--noise", "2",
                 "--seeds", "3", "--csv", str(bcsv)]) == 0
    assert "gaussian:sigma=2 noise, 3 seeds (0–2)" in capsys.readouterr().out
    with open(bcsv, newline="") as f:
        labels = [int(r[4]) for r in list(csv.reader(f))[1:]]
    assert labels == basins("himmelblau", "sgd:lr=0.01", grid=5, steps=100, noise=2,
                            seeds=3).minimum.ravel().tolist()


def _texts(fig) -> tuple[str, list[str]]:
    return fig.title.text(), [label.text for _sample, label in fig.loss_plot.legend.items]


def test_race_picture_states_every_tuned_lr_and_the_criterion():
    from optsim.explore.tune import describe
    from optsim.export.explore import race_figure
    from optsim.functions import as_function

    labels = ["sgd", "momentum:lr=0.01,momentum=0.95,nesterov=true", "adam"]
    results = tune("rosenbrock", labels, steps=30, lr="lr=0.0001:0.1:4:log", noise=0.5,
                   seeds=3, seed=2)
    fig = race_figure(as_function("rosenbrock"), labels, results, (1000, 800))
    title, legend = _texts(fig)
    assert len(legend) == 3
    for r, entry in zip(results, legend, strict=True):
        assert entry.endswith(f"→ lr {r.lr:.3g}") or f"→ lr {r.lr:.3g} (" in entry
    # the long spec is shortened, never its tuned value
    assert legend[1].startswith("momentum:lr=0.01") and "…" in legend[1]
    plain = title.replace("\u00a0", " ")
    assert describe(results) in plain and "raced with seed 2" in plain
    assert "median final loss over 3 seeds" in plain


def test_sweep_titles_state_the_noise_and_its_seeds():
    from optsim.export.explore import sweep_title

    one = sweep("bowl", "sgd", x="lr=0.01:0.1:3", steps=5, noise=0.5, seeds=4, seed=2)
    assert sweep_title(one) == ("bowl: sgd, 5 steps, from (-1.5, 1.5)\n"
                                "gaussian:sigma=0.5 noise, median over 4 seeds (2–5)")
    assert sweep_title(one, spec=False, narrow=True).split("\n") == [
        "5 steps, from (-1.5, 1.5)", "gaussian:sigma=0.5 noise", "median over 4 seeds (2–5)"]
    two = sweep("bowl", "sgd", x="lr=0.01:0.1:3", steps=5, noise=0.5, seeds=1,
                start=[(1, 1), (0, 1)])
    assert sweep_title(two).endswith("5 steps, 2 starts\ngaussian:sigma=0.5 noise, "
                                     "median over 2 starts (seed 0)")
    exact = sweep("bowl", "sgd", x="lr=0.01:0.1:3", steps=5, start=[(1, 1), (0, 1)])
    assert sweep_title(exact) == "bowl: sgd, 5 steps, median over 2 starts"


def test_a_race_picture_without_room_for_the_legend_states_the_values_in_its_title():
    from optsim.export.explore import race_figure
    from optsim.functions import as_function

    labels = ["sgd", "momentum", "adam"]
    results = tune("rosenbrock", labels, steps=300, lr="lr=1e-5:3:41:log")
    big = race_figure(as_function("rosenbrock"), labels, results, (1000, 800))
    assert big.loss_plot.legend.opacity() == 1 and "lr 0" not in big.title.text()
    small = race_figure(as_function("rosenbrock"), labels, results, (480, 360))
    title = small.title.text()
    if small.loss_plot.legend.opacity() == 0:  # (the legend left out: no room for it)
        for label, r in zip(labels, results, strict=True):
            assert f"{label} lr {r.lr:.3g}" in title
    assert "lr tuned for the lowest final loss from the start" in title.replace("\u00a0", " ")


def test_describe_states_the_seeds_and_the_grid_as_they_were():
    from optsim.explore.tune import describe

    one = tune("bowl", "sgd", steps=5, noise=1, seeds=1, seed=3, lr="lr=0.01:0.1:3")
    assert describe(one) == ("lr tuned for the lowest final loss from the start, 5 steps each, "
                             "3 evenly spaced lr, no clipping, gaussian:sigma=1 noise (seed 3)")
    two = tune("bowl", "sgd", steps=5, noise=1, seeds=2, seed=3, lr="lr=0.01:0.1:3:log")
    assert describe(two).endswith("median final loss over 2 seeds, 5 steps each, 3 log-spaced "
                                  "lr, no clipping, gaussian:sigma=1 noise (seeds 3–4)")
