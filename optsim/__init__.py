"""optsim: watch gradient-descent optimizers walk over 1D and 2D loss functions.

Public API::

    import optsim
    path = optsim.simulate("rosenbrock", "adam:lr=0.01", start=(-1.5, 2.0), steps=300)
"""

from .engine import OPTIMIZERS, Optimizer, make_optimizer, parse_spec
from .functions import FUNCTIONS, LossFunction, as_function, get_function
from .simulation import SimulationResult, Trajectory, run, simulate


def __getattr__(name: str):
    """``optsim.sweep``, ``basins`` and ``tune`` are imported when first used (the
    window's start-up does not need them)."""
    if name in ("sweep", "basins", "tune"):
        from . import explore

        return getattr(explore, name)
    raise AttributeError(f"module 'optsim' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = ["OPTIMIZERS", "FUNCTIONS", "LossFunction", "Optimizer", "SimulationResult",
           "Trajectory", "as_function", "get_function", "make_optimizer", "parse_spec", "run",
           "simulate", "sweep", "basins", "tune", "__version__"]
