"""Optimizers by name, including named variants (``momentum`` = SGD with
momentum 0.9), and the spec strings that name them: ``"adam:lr=0.01,beta1=0.8"``."""

from __future__ import annotations

from dataclasses import dataclass, field

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


OPTIMIZERS: dict[str, OptimizerKind] = {}


def register(kind: OptimizerKind) -> OptimizerKind:
    OPTIMIZERS[kind.name] = kind
    return kind


def optimizer_kind(name: str) -> OptimizerKind:
    key = name.strip().lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[key]


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
    name, _, rest = spec.partition(":")
    kind = optimizer_kind(name)
    declared = {p.name: p for p in kind.hyperparams}
    values: dict[str, Value] = {}
    if rest.strip():
        for item in rest.split(","):
            key, eq, text = item.partition("=")
            key = key.strip()
            if not eq or not key:
                raise ValueError(
                    f"malformed optimizer spec {spec!r}: expected key=value, got {item.strip()!r}"
                )
            if key not in declared:
                raise ValueError(
                    f"{kind.name}: unknown hyperparameter {key!r}; known: {', '.join(declared)}"
                )
            if key in values:
                raise ValueError(f"{kind.name}: {key} given twice in {spec!r}")
            values[key] = declared[key].parse(text, kind.name)
    return kind.create(**values)


def as_optimizer(optimizer: str | Optimizer) -> Optimizer:
    """An optimizer object from a spec string or an optimizer."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        return parse_spec(optimizer)
    raise TypeError(f"expected an optimizer spec string or Optimizer, got {type(optimizer).__name__}")
