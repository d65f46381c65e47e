"""Plug-ins: optimizers of the user's own, defined the way the built-ins are.

A plug-in is a Python file (or an installed package's module, found through the
entry-point group ``optsim.optimizers``) that defines an :class:`~optsim.engine.Optimizer`
subclass: declared hyperparameters, a ``State`` NamedTuple, ``update`` (equations,
``rule``, are optional). ``KINDS`` lists the names it registers
(:class:`~optsim.engine.OptimizerKind`); without ``KINDS``, each subclass the file
defines is registered under its ``algorithm``. A plug-in then works wherever a
built-in does: spec strings, ``optsim list``, the window's editors and inspector,
sweeps, scenarios (which name the file).

A plug-in is the user's own code, run as the user with the user's rights: optsim
imports it as Python, it is not sandboxed. What optsim does check is what the
plug-in declares (names, hyperparameters, state) and a first step on a small
problem, so that a mistake shows as one clear message (:class:`PluginError`, with
the plug-in's own traceback in ``details``) rather than as a crash later. A plug-in
that raises while stepping raises :class:`~optsim.engine.base.OptimizerFailed` (the
step, the message and the traceback): the window marks that run failed at that
step, the command line exits with one line.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .engine import OPTIMIZERS, HyperParam, Optimizer, OptimizerKind, register
from .engine.base import OptimizerFailed
from .engine.registry import MISSING

#: the entry-point group installed packages register optimizers under
ENTRY_POINT_GROUP = "optsim.optimizers"
#: plug-in kinds by name -> the file (or "package:module" of an entry point) it came from
SOURCES: dict[str, str] = {}
#: the built-in names a plug-in may not take
_BUILTIN = frozenset(OPTIMIZERS)
_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")


class PluginError(ValueError):
    """A plug-in that cannot be used: ``str()`` is one line saying why, ``details``
    the plug-in's own traceback (empty when there is none)."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


def load_plugin(path: str | Path) -> list[OptimizerKind]:
    """Import the plug-in file ``path`` and register its optimizers (again, if it was
    loaded before: a file edited since replaces its kinds). Returns the kinds.
    PluginError if the file is missing, fails to import, or declares nonsense."""
    file = Path(path).expanduser()
    try:
        file = file.resolve(strict=True)
    except (OSError, RuntimeError):
        raise PluginError(f"plug-in {str(path)!r} not found") from None
    if not file.is_file() or file.suffix != ".py":
        raise PluginError(f"plug-in {str(path)!r} is not a Python file (.py)")
    name = "optsim_plugin_" + re.sub(r"\W", "_", file.stem) + f"_{abs(hash(str(file))):x}"
    try:
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise PluginError(f"plug-in {file.name}: not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # (dataclasses and pickling look modules up)
        spec.loader.exec_module(module)
    except PluginError:
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's code may raise anything
        sys.modules.pop(name, None)
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise PluginError(f"plug-in {file.name} failed to import: {_one_line(exc)}",
                          _own_traceback(exc, str(file))) from None
    return register_module(module, str(file))


def register_module(module: ModuleType | Any, source: str) -> list[OptimizerKind]:
    """Check and register the optimizers a plug-in module (or an entry point's object:
    a module, an Optimizer subclass, an OptimizerKind or a sequence of them) defines.
    All or nothing: one bad declaration registers none of them."""
    kinds = _kinds_of(module, source)
    for kind in kinds:
        check_kind(kind, source)
    names = [k.name for k in kinds]
    if len(set(names)) != len(names):
        raise PluginError(f"plug-in {_short(source)}: a name is declared twice: "
                          f"{', '.join(names)}")
    for kind in kinds:
        register(_guarded_kind(kind))
        SOURCES[kind.name] = source
    return [OPTIMIZERS[n] for n in names]


def _kinds_of(obj: Any, source: str) -> list[OptimizerKind]:
    if isinstance(obj, OptimizerKind):
        return [obj]
    if isinstance(obj, type) and issubclass(obj, Optimizer):
        return [_kind_of_class(obj, source)]
    if isinstance(obj, (list, tuple)):
        return [k for item in obj for k in _kinds_of(item, source)]
    if not isinstance(obj, ModuleType):
        raise PluginError(f"plug-in {_short(source)}: expected a module, an Optimizer subclass "
                          f"or an OptimizerKind, got {type(obj).__name__}")
    declared = getattr(obj, "KINDS", None)
    if declared is not None:
        if isinstance(declared, OptimizerKind):
            declared = (declared,)
        if not isinstance(declared, (list, tuple)) or not all(
                isinstance(k, OptimizerKind) for k in declared):
            raise PluginError(f"plug-in {_short(source)}: KINDS must be a tuple of "
                              "OptimizerKind(name, class, summary)")
        return list(declared)
    classes = [v for v in vars(obj).values() if isinstance(v, type) and issubclass(v, Optimizer)
               and v.__module__ == obj.__name__]
    if not classes:
        raise PluginError(f"plug-in {_short(source)} defines no optimizer: a subclass of "
                          "optsim.engine.Optimizer (or KINDS)")
    return [_kind_of_class(c, source) for c in classes]


def _kind_of_class(cls: type[Optimizer], source: str) -> OptimizerKind:
    name = getattr(cls, "algorithm", None)
    if not isinstance(name, str):
        raise PluginError(f"plug-in {_short(source)}: {cls.__name__} has no algorithm "
                          "name (algorithm = \"my-optimizer\")")
    doc = (cls.__doc__ or "").strip().splitlines()
    return OptimizerKind(name, cls, doc[0] if doc else f"{name} (plug-in)")


def check_kind(kind: OptimizerKind, source: str) -> None:
    """PluginError unless ``kind`` is a usable optimizer: a free lower-case name, a
    subclass of Optimizer with declared hyperparameters (their defaults in their
    ranges), a State NamedTuple starting with ``step``, and a first step from a
    small start that gives finite parameters and state of the right shapes."""
    where = f"plug-in {_short(source)}"
    name = kind.name
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginError(f"{where}: the name {name!r} must be lower-case letters, digits, "
                          "'-' or '_', starting with a letter")
    if name in _BUILTIN:
        raise PluginError(f"{where}: {name!r} is a built-in optimizer; choose another name")
    if SOURCES.get(name, source) != source:
        raise PluginError(f"{where}: {name!r} is already taken by the plug-in "
                          f"{_short(SOURCES[name])}")
    cls = kind.cls
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        raise PluginError(f"{where}: {name} must be a subclass of optsim.engine.Optimizer")
    hps = getattr(cls, "hyperparams", None)
    if not isinstance(hps, tuple) or not all(isinstance(p, HyperParam) for p in hps):
        raise PluginError(f"{where}: {cls.__name__}.hyperparams must be a tuple of HyperParam")
    seen: set[str] = set()
    for p in hps:
        if not isinstance(p.name, str) or not p.name.isidentifier() or p.name in seen:
            raise PluginError(f"{where}: hyperparameter name {p.name!r} is not a unique "
                              "Python name")
        seen.add(p.name)
        if p.kind not in (float, int, bool):
            raise PluginError(f"{where}: {p.name}'s kind must be float, int or bool, "
                              f"got {p.kind!r}")
        try:
            p.validate(p.default, name)
        except ValueError as e:
            raise PluginError(f"{where}: the default of {p.name} is not valid: {e}") from None
    state = getattr(cls, "State", None)
    fields = getattr(state, "_fields", None)
    if not (isinstance(state, type) and issubclass(state, tuple) and fields
            and fields[0] == "step"):
        raise PluginError(f"{where}: {cls.__name__}.State must be a NamedTuple whose first "
                          "field is step")
    if cls.update is Optimizer.update:
        raise PluginError(f"{where}: {cls.__name__} does not define update(...)")
    _first_step(kind, where)


def _first_step(kind: OptimizerKind, where: str) -> None:
    """A first and second step of the default optimizer from two small starts."""
    params = np.array([[0.5, -1.0], [1.5, 2.0]])
    at = "making it"
    try:
        with np.errstate(all="ignore"):
            opt = kind.create()
            at = "init"
            state = opt.init(params)
            for k in (1, 2):
                at = f"step {k}"
                grads = 2 * params
                new, state = opt.step(params, grads, state)
                params = new
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise PluginError(f"{where}: its first steps fail ({at}): {_one_line(exc)}",
                          traceback.format_exc()) from None
    if np.shape(new) != params.shape or not np.all(np.isfinite(new)):
        raise PluginError(f"{where}: a first step from (0.5, -1) on a bowl gave "
                          f"{np.asarray(new).tolist()!r}, not finite parameters of shape (N, D)")
    for f, v in zip(state._fields[1:], state[1:], strict=True):
        if not (isinstance(v, np.ndarray) and v.shape == params.shape):
            raise PluginError(f"{where}: state array {f} must have the parameters' shape "
                              f"(N, D) = {params.shape}, got {np.shape(v)}")


def _guarded_kind(kind: OptimizerKind) -> OptimizerKind:
    """The kind with its class's user code wrapped so that an exception in it becomes
    OptimizerFailed (the step, one line, the plug-in's traceback)."""
    return dataclasses.replace(kind, cls=_guarded(kind.cls))


@functools.cache
def _guarded(cls: type[Optimizer]) -> type[Optimizer]:
    def fail(self: Optimizer, step: int | None, exc: BaseException) -> OptimizerFailed:
        where = f" at step {step}" if step else ""
        return OptimizerFailed(f"{self.name}{where}: {_one_line(exc)}", step,
                               traceback.format_exc())

    def update(self, c, params, grads, state, step, out_params, out, info):  # noqa: ANN001
        try:
            return cls.update(self, c, params, grads, state, step, out_params, out, info)
        except OptimizerFailed:
            raise
        except Exception as exc:  # noqa: BLE001
            raise fail(self, step, exc) from None

    def scalars(self, c, step):  # noqa: ANN001
        try:
            return cls.scalars(self, c, step)
        except Exception as exc:  # noqa: BLE001
            raise fail(self, step, exc) from None

    def init(self, params):  # noqa: ANN001
        try:
            return cls.init(self, params)
        except Exception as exc:  # noqa: BLE001
            raise fail(self, None, exc) from None

    return type(cls.__name__, (cls,), {"update": update, "scalars": scalars, "init": init,
                                       "__module__": cls.__module__, "__doc__": cls.__doc__,
                                       "plugin": True})


def ensure_plugin(path: str | Path) -> list[OptimizerKind]:
    """The plug-in ``path``'s kinds: loaded now unless this file already was (a
    scenario naming it, a remembered one)."""
    try:
        file = str(Path(path).expanduser().resolve(strict=True))
    except (OSError, RuntimeError):
        raise PluginError(f"plug-in {str(path)!r} not found") from None
    names = [n for n, src in SOURCES.items() if src == file]
    if names:
        return [OPTIMIZERS[n] for n in names]
    return load_plugin(file)


def load_entry_points() -> list[str]:
    """Register the optimizers of installed packages (entry-point group
    ``optsim.optimizers``; each entry a module, an Optimizer subclass or kinds).
    Returns one line per entry that failed (the others are registered)."""
    from importlib.metadata import entry_points

    problems = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        source = f"{ep.value} (package entry point {ep.name})"
        try:
            register_module(ep.load(), source)
        except PluginError as e:
            problems.append(str(e))
        except Exception as exc:  # noqa: BLE001 - the package's code may raise anything
            problems.append(f"plug-in {source} failed to load: {_one_line(exc)}")
    return problems


@functools.cache
def entry_point_problems() -> tuple[str, ...]:
    """:func:`load_entry_points`, once per process (when a name is not known, for
    lists, and in the window after its first paint: the scan takes ~0.5 s)."""
    return tuple(load_entry_points())


def _look_in_packages(_name: str) -> None:
    entry_point_problems()


MISSING.append(_look_in_packages)


def plugin_source(name: str) -> str | None:
    """The file a plug-in optimizer ``name`` (or a wrapped one, ``name+lookahead``)
    came from; None for a built-in."""
    return SOURCES.get(name.split("+")[0])


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _own_traceback(exc: BaseException, file: str) -> str:
    """The traceback from the plug-in's own frames on (not optsim's import machinery)."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [i for i, f in enumerate(frames) if f.filename == file]
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    if own and not isinstance(exc, SyntaxError):
        tb = traceback.format_list(frames[own[0]:])
        return "Traceback (most recent call last):\n" + "".join(tb) + "".join(
            traceback.format_exception_only(type(exc), exc))
    return "".join(lines)


def _short(source: str) -> str:
    return Path(source).name if source.endswith(".py") else source


__all__ = ["ENTRY_POINT_GROUP", "SOURCES", "PluginError", "check_kind", "ensure_plugin",
           "entry_point_problems",
           "load_entry_points", "load_plugin", "plugin_source", "register_module"]
