"""What the window remembers between launches (QSettings): geometry and dock
layout, the last function (name or formula), view and start, the runs (spec, name,
colour, visibility) and the playback settings.

Everything read back is validated; a corrupt store (garbage, wrong types, invalid
specs) falls back to the defaults, part by part, and never raises.

Tests and tools isolate the store: ``OPTSIM_SETTINGS_ISOLATED`` set to a file path
uses that INI file; set to anything else (``1``) uses a fresh temporary INI file for
the process. The window also takes a QSettings or a path directly.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from typing import Any

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QColor

from ..engine import Optimizer, parse_spec
from ..files import ReadError, check_readable
from ..functions import FUNCTIONS, as_function
from .model import SimulationModel

ORG, APP = "optsim", "optsim"
KEY_SESSION = "session/state"
KEY_GEOMETRY = "window/geometry"
KEY_STATE = "window/state"
SCHEMA = 1
#: a settings file larger than this is not read
MAX_SETTINGS_BYTES = 16 * 1024 * 1024

_isolated_path: str | None = None


def open_settings(where: QSettings | str | os.PathLike | None = None) -> QSettings:
    """The settings store: ``where`` if given (a QSettings or an INI file path), else
    an isolated INI file if ``OPTSIM_SETTINGS_ISOLATED`` is set, else the user's.

    A file path that is not a regular file (a FIFO, a device) or is larger than
    :data:`MAX_SETTINGS_BYTES` is refused with :class:`ReadError` before Qt reads
    it; the user's own store in that state is left alone and a fresh temporary
    one used instead (with a warning on stderr)."""
    global _isolated_path
    if isinstance(where, QSettings):
        return where
    if where is not None:
        check_settings_file(where)
        return QSettings(os.fspath(where), QSettings.Format.IniFormat)
    iso = os.environ.get("OPTSIM_SETTINGS_ISOLATED", "")
    if iso and iso.lower() not in ("1", "true", "yes", "on"):
        check_settings_file(iso)
        return QSettings(iso, QSettings.Format.IniFormat)
    if not iso:
        user = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)
        try:
            check_settings_file(user.fileName())
            return user
        except ReadError as exc:
            print(f"optsim: warning: {exc}; the settings are not kept this time",
                  file=sys.stderr)
    if _isolated_path is None:
        _isolated_path = os.path.join(tempfile.mkdtemp(prefix="optsim-settings-"), "optsim.ini")
    return QSettings(_isolated_path, QSettings.Format.IniFormat)


def check_settings_file(path: str | os.PathLike) -> None:
    """Raise :class:`ReadError` unless ``path`` is missing (a new store) or a
    regular file of at most :data:`MAX_SETTINGS_BYTES`; checked without opening it."""
    if not os.path.exists(path):
        return
    st = check_readable(path)
    if st.st_size > MAX_SETTINGS_BYTES:
        raise ReadError(path, f"the settings file is too large ({st.st_size} bytes, "
                        f"at most {MAX_SETTINGS_BYTES})")


def session_dict(model: SimulationModel, playback: dict[str, Any] | None = None) -> dict:
    """The model's state as plain JSON-able data."""
    fn = model.function
    return {
        "schema": SCHEMA,
        "function": {"formula": fn.formula} if fn.is_custom else {"name": fn.name},
        "view": [list(model.view[0]), list(model.view[1])],
        "start": [float(v) for v in model.start],
        "runs": [{"spec": r.optimizer.spec, "name": r.name, "colour": r.colour,
                  "visible": r.visible,
                  "start": None if r.start is None else [float(v) for v in r.start]}
                 for r in model.runs],
        "selected": model.selected,
        "noise": float(getattr(model, "noise", 0.0)),
        "seed": int(getattr(model, "seed", 0)),
        "playback": playback or {},
    }


def save_session(settings: QSettings, model: SimulationModel,
                 playback: dict[str, Any] | None = None) -> None:
    settings.setValue(KEY_SESSION, json.dumps(session_dict(model, playback)))


def load_session_dict(settings: QSettings) -> dict | None:
    """The stored session, or None if absent or unreadable."""
    try:
        raw = settings.value(KEY_SESSION, None)
    except Exception:  # noqa: BLE001 - a corrupt store must never stop the program
        return None
    if not isinstance(raw, str):
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _finite_list(v: Any, n: int) -> list[float] | None:
    if not isinstance(v, list) or len(v) != n:
        return None
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            return None
        out.append(float(x))
    return out


def _restore_runs(data: Any, dim: int) -> list[tuple[Optimizer, str, str, bool, Any]]:
    runs = []
    if not isinstance(data, list):
        return runs
    for item in data[:32]:
        if not isinstance(item, dict):
            continue
        try:
            opt = parse_spec(item.get("spec"))
        except (ValueError, TypeError):
            continue
        name = item.get("name")
        name = name.strip()[:80] if isinstance(name, str) and name.strip() else opt.name
        colour = item.get("colour")
        if not isinstance(colour, str) or not QColor.isValidColorName(colour):
            colour = ""
        visible = item.get("visible", True)
        own = _finite_list(item.get("start"), dim)  # a run's own start (scenarios), if any
        runs.append((opt, name, colour, visible if isinstance(visible, bool) else True, own))
    return runs


def restore_session(model: SimulationModel, data: dict | None) -> dict:
    """Apply a stored session to the model, falling back to the defaults for each
    part that is missing or invalid. Returns the stored playback settings (a dict,
    possibly empty)."""
    from ..style import run_colour

    data = data if isinstance(data, dict) else {}
    fn = None
    spec = data.get("function")
    if isinstance(spec, dict):
        try:
            if isinstance(spec.get("name"), str) and spec["name"] in FUNCTIONS:
                fn = FUNCTIONS[spec["name"]]
            elif isinstance(spec.get("formula"), str) and spec["formula"].strip():
                fn = as_function(spec["formula"][:2000])
        except Exception:  # noqa: BLE001 - any failure of a stored formula: use the default
            fn = None
    if fn is not None:
        model.set_function(fn)
        view = data.get("view")
        if isinstance(view, list) and len(view) == 2:
            xs, ys = _finite_list(view[0], 2), _finite_list(view[1], 2)
            if xs and ys:
                try:
                    model.set_view((xs, ys))
                except ValueError:
                    pass
        start = _finite_list(data.get("start"), fn.dim)
        if start is not None:
            model.set_start(start)
    noise, seed = data.get("noise", 0.0), data.get("seed", 0)
    if fn is not None and isinstance(noise, (int, float)) and not isinstance(noise, bool) \
            and noise != 0 and isinstance(seed, int) and not isinstance(seed, bool):
        try:
            model.set_noise(float(noise), seed)
        except (ValueError, TypeError, OverflowError):
            pass  # invalid stored noise: none
    runs = _restore_runs(data.get("runs"), fn.dim) if fn is not None else []
    if runs:
        model.replace_runs([(opt, name, colour or run_colour(k), visible, own)
                            for k, (opt, name, colour, visible, own) in enumerate(runs)])
        sel = data.get("selected")
        if isinstance(sel, int) and not isinstance(sel, bool):
            model.select(sel)
    else:
        model.load_default_runs()
    pb = data.get("playback")
    return pb if isinstance(pb, dict) else {}


def read_bytes(settings: QSettings, key: str) -> QByteArray | None:
    """A stored QByteArray (geometry, dock state) or None if absent or not bytes."""
    try:
        v = settings.value(key, None)
    except Exception:  # noqa: BLE001
        return None
    return v if isinstance(v, QByteArray) and not v.isEmpty() else None
