"""Optimizers by name, including named variants (``momentum`` = SGD with
momentum 0.9), and the spec strings that name them: ``"adam:lr=0.01,beta1=0.8"``.

Wrappers (``lookahead``) modify any optimizer, written after it with ``+`` as the
schedules are: ``"adam:lr=0.01+lookahead:k=5,alpha=0.5"``. The wrapped optimizer is
a kind of its own, named ``adam+lookahead``, whose hyperparameters are the
optimizer's and the wrapper's (prefixed: ``lookahead_k``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .base import Optimizer
from .hyperparams import HyperParam, Value, Values


@dataclass(frozen=True)
class OptimizerKind:
    """A name the user can type: an algorithm plus its default overrides."""

    name: str
    cls: type[Optimizer]
    summary: str
    defaults: dict[str, Value] = field(default_factory=dict)
    #: hyperparameters that follow another one (name -> source), hidden from editors
    tied: dict[str, str] = field(default_factory=dict)
    #: how lists and legends name it ("RMSProp"); default: the name
    title: str = ""
    #: the implementation it matches step for step ("torch.optim.Adam",
    #: "pytorch_optimizer.Lion"); default: the class's ``reference``
    reference: str = ""

    def __post_init__(self) -> None:
        if not self.reference:
            object.__setattr__(self, "reference", getattr(self.cls, "reference", ""))

    @property
    def display_name(self) -> str:
        """The name shown in the window's lists and legends."""
        return self.title or self.name

    @property
    def hyperparams(self) -> tuple[HyperParam, ...]:
        """The editable declarations, with this variant's defaults."""
        return tuple(
            p.with_default(self.defaults[p.name]) if p.name in self.defaults else p
            for p in self.cls.hyperparams if p.name not in self.tied
        )

    def create(self, **values: Values) -> Optimizer:
        """The optimizer with these hyperparameters (numbers, or one per run)."""
        return self.cls(name=self.name, defaults=self.defaults, tied=self.tied, **values)


@dataclass(frozen=True)
class WrapperKind:
    """A wrapper the user can write after an optimizer (``+lookahead:k=5``): its
    parameters as typed in specs, and ``wrap``, which makes the class of a wrapped
    optimizer from the optimizer's class. In the wrapped optimizer a parameter
    ``k`` is the hyperparameter ``<name>_k``."""

    name: str
    summary: str
    params: tuple[HyperParam, ...]
    wrap: Callable[[type[Optimizer]], type[Optimizer]]
    title: str = ""
    reference: str = ""

    def key(self, param: str) -> str:
        """The wrapped optimizer's name for the parameter ``param``."""
        return f"{self.name}_{param}"

    @property
    def hyperparams(self) -> tuple[HyperParam, ...]:
        """The declarations as the wrapped optimizer holds them (prefixed names)."""
        return tuple(_renamed(p, self.key(p.name)) for p in self.params)


def _renamed(p: HyperParam, name: str) -> HyperParam:
    return replace(p, name=name)


OPTIMIZERS: dict[str, OptimizerKind] = {}
WRAPPERS: dict[str, WrapperKind] = {}
#: called with a name no kind has, before it is refused: each may register it (the
#: installed packages' plug-ins are looked for only then: a scan costs ~0.5 s)
MISSING: list[Callable[[str], None]] = []
#: wrapped kinds made so far (``adam+lookahead``), not listed with the others
_WRAPPED: dict[str, OptimizerKind] = {}


def register(kind: OptimizerKind) -> OptimizerKind:
    OPTIMIZERS[kind.name] = kind
    _WRAPPED.clear()
    return kind


def register_wrapper(kind: WrapperKind) -> WrapperKind:
    WRAPPERS[kind.name] = kind
    _WRAPPED.clear()
    return kind


def optimizer_kind(name: str) -> OptimizerKind:
    """The kind registered as ``name``, or a wrapped kind ``base+wrapper+...``."""
    key = name.strip().lower()
    if key in OPTIMIZERS:
        return OPTIMIZERS[key]
    if "+" in key:
        return _wrapped_kind(key)
    for hook in MISSING:
        hook(key)
        if key in OPTIMIZERS:
            return OPTIMIZERS[key]
    raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")


def _wrapped_kind(key: str) -> OptimizerKind:
    """``adam+lookahead``: the optimizer's kind with each wrapper around it in turn."""
    if key in _WRAPPED:
        return _WRAPPED[key]
    base_name, *names = [n.strip() for n in key.split("+")]
    base = optimizer_kind(base_name)
    if "+" in base.name:
        raise ValueError(f"unknown optimizer {base_name!r}")
    cls = base.cls
    titles = [base.display_name]
    for w in names:
        if w not in WRAPPERS:
            known = ", ".join(WRAPPERS) or "none"
            raise ValueError(f"unknown wrapper {w!r} after {base.name!r}; wrappers: {known}")
        if names.count(w) > 1:
            raise ValueError(f"{base.name}: {w} is given twice")
        cls = WRAPPERS[w].wrap(cls)
        titles.append(WRAPPERS[w].title or w)
    kind = OptimizerKind("+".join([base.name, *names]), cls,
                         f"{base.summary}, wrapped in " + " and ".join(names),
                         base.defaults, base.tied, " + ".join(titles))
    _WRAPPED[key] = kind
    return kind


def make_optimizer(name: str, **values: Values) -> Optimizer:
    """Create a validated optimizer by registered name. Every numeric hyperparameter
    is a number or a 1-D array with one value per run of the batch it will step,
    e.g. ``make_optimizer("sgd", lr=np.geomspace(1e-3, 1, n), momentum=0.9)``."""
    return optimizer_kind(name).create(**values)


def parse_spec(spec: str) -> Optimizer:
    """Parse ``"name"`` or ``"name:key=value,key=value"`` into an optimizer.

    Booleans are written ``true``/``false``. Raises ValueError saying what is wrong.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("empty optimizer spec; expected e.g. 'adam:lr=0.01'")
    first, *wrappers = split_wrappers(spec)
    name, _, rest = first.partition(":")
    kind = optimizer_kind(name)
    if "+" in name:
        raise ValueError(f"malformed optimizer spec {spec!r}: write a wrapper after the "
                         "optimizer's values, e.g. 'adam:lr=0.01+lookahead:k=5'")
    values: dict[str, Value] = {}
    _parse_values(spec, rest, kind.name, {p.name: p for p in kind.hyperparams}, values)
    names = []
    for part in wrappers:
        wname, _, wrest = part.partition(":")
        wname = wname.strip().lower()
        if wname not in WRAPPERS:
            known = ", ".join(WRAPPERS) or "none"
            raise ValueError(f"unknown wrapper {wname!r} in {spec!r}; wrappers: {known}")
        w = WRAPPERS[wname]
        own: dict[str, Value] = {}
        _parse_values(spec, wrest, w.name, {p.name: p for p in w.params}, own)
        values.update({w.key(k): v for k, v in own.items()})
        names.append(wname)
    if names:
        kind = optimizer_kind("+".join([kind.name, *names]))
    return kind.create(**values)


def _parse_values(spec: str, rest: str, owner: str, declared: dict[str, HyperParam],
                  values: dict[str, Value]) -> None:
    """The ``key=value`` items of ``rest`` into ``values``, checked against ``declared``."""
    if not rest.strip():
        return
    for item in rest.split(","):
        key, eq, text = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(
                f"malformed optimizer spec {spec!r}: expected key=value, got {item.strip()!r}"
            )
        if key not in declared:
            raise ValueError(
                f"{owner}: unknown hyperparameter {key!r}; known: {', '.join(declared)}"
            )
        if key in values:
            raise ValueError(f"{owner}: {key} given twice in {spec!r}")
        values[key] = declared[key].parse(text, owner)


def split_wrappers(spec: str) -> list[str]:
    """A spec split at the ``+`` signs that start a new name (``lr=1e+3`` is a number)."""
    return [p.strip() for p in re.split(r"\+(?=\s*[A-Za-z])", spec)]


def is_wrapper(part: str) -> bool:
    """Whether a spec's part after ``+`` names a wrapper (not a schedule)."""
    return part.partition(":")[0].strip().lower() in WRAPPERS


def as_optimizer(optimizer: str | Optimizer) -> Optimizer:
    """An optimizer object from a spec string or an optimizer."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        return parse_spec(optimizer)
    raise TypeError(f"expected an optimizer spec string or Optimizer, got {type(optimizer).__name__}")
