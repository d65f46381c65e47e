"""Exploring hyperparameters: sweep maps, basins of attraction, fair learning-rate
tuning, and the theory of quadratics. No Qt here.

- :func:`sweep`: a metric of every run over a grid of one or two hyperparameters;
- :func:`basins`: the minimum reached from every start of a grid over the view;
- :func:`tune`: the learning rate that minimises a stated criterion, per optimizer;
- :mod:`~optsim.explore.theory`: stability boundary and optimal settings of
  gradient descent and heavy-ball momentum on a quadratic.
"""

from .axes import Axis, SweepInputError
from .basins import BasinsResult, basins
from .runner import DEFAULT_TOL, METRIC_LABELS, METRICS, Cancelled
from .sweep import SweepResult, sweep
from .tune import TuneResult, tune

__all__ = ["Axis", "BasinsResult", "Cancelled", "DEFAULT_TOL", "METRICS", "METRIC_LABELS",
           "SweepInputError", "SweepResult", "TuneResult", "basins", "sweep", "tune"]
