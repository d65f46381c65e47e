"""What the window remembers between launches (QSettings): geometry and dock
layout, the session — the model's run set (:class:`optsim.runset.RunSet`: function,
view, start, noise and the runs, in the scenario files' JSON form), the selected run
and the playback settings.

Everything read back is validated; a corrupt store (garbage, wrong types, invalid
specs) falls back to the defaults, part by part (:func:`optsim.runset.salvage`),
and never raises. Sessions stored by earlier versions (schema 1: runs as spec
strings) are read too.

Tests and tools isolate the store: ``OPTSIM_SETTINGS_ISOLATED`` set to a file path
uses that INI file; set to anything else (``1``) uses a fresh temporary INI file for
the process. The window also takes a QSettings or a path directly.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from ..engine import parse_spec
from ..files import ReadError, check_readable
from ..functions import FUNCTIONS
from ..plugins import PluginError, ensure_plugin
from ..runset import salvage
from .model import SimulationModel

ORG, APP = "optsim", "optsim"
KEY_SESSION = "session/state"
KEY_GEOMETRY = "window/geometry"
KEY_STATE = "window/state"
#: the plug-in files loaded with "Load optimizer…" (a JSON list of paths)
KEY_PLUGINS = "plugins/files"
#: the session's layout: 2 holds the run set in the scenario files' form; 1 (read
#: only) held the function, view, start, noise and runs as spec strings
SCHEMA = 2
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
        try:
            check_settings_file(user_settings_path())
            return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)
        except ReadError as exc:
            print(f"optsim: warning: {exc}; the settings are not kept this time",
                  file=sys.stderr)
    if _isolated_path is None:
        _isolated_path = os.path.join(tempfile.mkdtemp(prefix="optsim-settings-"), "optsim.ini")
    return QSettings(_isolated_path, QSettings.Format.IniFormat)


def user_settings_path() -> str:
    """The user's settings file, found without opening it (a QSettings made on it
    reads it at once: a FIFO there would block): that of a store that does not exist,
    in the same directory."""
    probe = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      "optsim-no-such-organisation", "probe")
    base = os.path.dirname(os.path.dirname(probe.fileName()))
    return os.path.join(base, ORG, f"{APP}.ini")


def check_settings_file(path: str | os.PathLike) -> None:
    """Raise :class:`ReadError` unless ``path`` is missing (a new store) or a
    regular file of at most :data:`MAX_SETTINGS_BYTES`; checked without opening it."""
    if not os.path.exists(path):
        return
    st = check_readable(path)
    if st.st_size > MAX_SETTINGS_BYTES:
        raise ReadError(path, f"the settings file is too large ({st.st_size} bytes, "
                        f"at most {MAX_SETTINGS_BYTES})")


def remembered_plugins(settings: QSettings) -> list[str]:
    """The plug-in files the window loaded before (none if the store holds garbage)."""
    try:
        files = json.loads(str(settings.value(KEY_PLUGINS, "[]")))
    except (TypeError, ValueError):
        return []
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def load_remembered_plugins(settings: QSettings) -> list[str]:
    """Load the remembered plug-in files; returns one line for each that failed (the
    window starts without it). (The installed packages' are looked for later.)"""
    problems = []
    for path in remembered_plugins(settings):
        try:
            ensure_plugin(path)
        except PluginError as e:
            problems.append(str(e))
    return problems


def session_dict(model: SimulationModel, playback: dict[str, Any] | None = None) -> dict:
    """The model's state as plain JSON-able data: its run set, the selection and the
    playback settings."""
    return {
        "schema": SCHEMA,
        "runset": model.run_set().to_dict(validate=False),
        "selected": model.selected,
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


def _schema_1_run_set(data: dict) -> dict:
    """A schema-1 session's run set in the files' form (each part checked later)."""
    fn = data.get("function")
    function = None
    if isinstance(fn, dict):
        if isinstance(fn.get("name"), str) and fn["name"] in FUNCTIONS:
            function = fn["name"]
        elif isinstance(fn.get("formula"), str) and fn["formula"].strip():
            function = fn["formula"]
    runs = []
    for item in data.get("runs", []) if isinstance(data.get("runs"), list) else []:
        if not isinstance(item, dict):
            continue
        try:
            opt = parse_spec(item.get("spec"))
        except (ValueError, TypeError):
            continue
        run = {"optimizer": opt.name, "hyperparams": dict(opt.hp)}
        run.update({k: item[k] for k in ("name", "colour", "visible", "start") if k in item})
        if isinstance(run.get("name"), str):
            run["name"] = run["name"].strip()
        runs.append(run)
    out = {"version": 1, "function": function, "runs": runs}
    out.update({k: data[k] for k in ("view", "start", "noise", "seed") if k in data})
    return out


def restore_session(model: SimulationModel, data: dict | None) -> dict:
    """Apply a stored session to the model, falling back to the defaults for each
    part that is missing or invalid. Returns the stored playback settings (a dict,
    possibly empty)."""
    data = data if isinstance(data, dict) else {}
    stored = data.get("runset") if "runset" in data else _schema_1_run_set(data)
    runs = salvage(stored)
    if runs is not None:
        model.load_run_set(runs)
    if runs is not None and runs.runs:
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
