"""Reading and writing the user's files safely: the one writer every output goes
through (scenarios, data, pictures, animations) and the one reader of every input
(scenarios, presets, settings). Standard library only: it imports nothing from
optsim, no Qt, no NumPy.

Writing (:func:`atomic_write`, :func:`write_bytes`, :func:`write_text`), by what the
path is:

- a regular file or a new path: written to a temporary file in the same directory
  (a short name of fixed length, so names up to the file system's limit work),
  flushed to disk, then renamed onto the path: the old file is intact until the
  new one is complete;
- a symbolic link: resolved, and the atomic write goes to its target; the link stays;
- a FIFO, a character device or a Unix socket: written directly (streamed), never
  renamed onto nor unlinked. A FIFO that nobody reads is waited for at most
  :data:`STREAM_WAIT` seconds, then refused ("no process is reading it");
- ``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``: written to that descriptor of
  this process, after whatever was printed (so ``> out.txt`` or ``| less`` get it);
- a directory, a block device, or a path whose directory is missing or not
  writable: :class:`ExportError` before any work (:func:`check_writable`).

Errors are :class:`ExportError`, one line naming the user's path (never the
temporary one). Inside ``with transaction():`` the writes are staged and made only
when the block ends without an error, all together (streams first, as they cannot
be taken back, then the renames); otherwise none is made and old files are intact.

Reading (:func:`read_bytes`) refuses anything that is not a regular file (or a link
to one) before opening it, opens without blocking and reads at most a given number
of bytes, so a FIFO or an endless device can neither hang nor exhaust memory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:  # POSIX; elsewhere /dev/stdout and FIFOs do not exist anyway
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)

#: how long a write waits for a process to open a FIFO for reading (seconds)
STREAM_WAIT = 5.0
#: the default limit of :func:`read_bytes`
MAX_READ_BYTES = 16 * 1024 * 1024
#: bytes per write to a stream
_CHUNK = 1 << 20

Writer = Callable[[str], Any]


class ExportError(OSError):
    """A file could not be written; the message names the file and the reason."""


class ReadError(OSError):
    """A file could not be read; the message names the file, ``reason`` says why
    without the name."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"cannot read {self.path!r}: {reason}")


# ---------------------------------------------------------------------------
# what a path is


def _kind(mode: int) -> str:
    """What a file of ``mode`` is, in words."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


@dataclass(frozen=True)
class Target:
    """Where a write to the user's ``path`` goes: ``real`` (symbolic links resolved)
    and its ``kind``: ``"file"`` (exists), ``"new"``, ``"fifo"``, ``"device"``
    (a character device), ``"socket"`` or ``"fd"`` (``/dev/stdout``, ``/dev/fd/N``:
    this process's descriptor, ``real`` is ``"fd:N"``)."""

    path: str
    real: str
    kind: str
    mode: int = 0

    @property
    def stream(self) -> bool:
        """Written directly (a FIFO, device or socket), not by renaming."""
        return self.kind in ("fifo", "device", "socket", "fd")


def resolve_output(path: str | os.PathLike) -> Target:
    """Where writing ``path`` would go, checked: raises :class:`ExportError` for a
    directory, a block device, a missing or unwritable directory, a read-only file,
    a loop of links. Writes nothing."""
    if not isinstance(path, (str, os.PathLike)):
        raise ExportError(f"an output path must be text, got {type(path).__name__}")
    user = os.fspath(path)
    if isinstance(user, bytes):
        user = os.fsdecode(user)
    if user.strip() == "" or "\0" in user:
        raise ExportError("empty output path" if "\0" not in user
                          else f"cannot write {user!r}: the name has a NUL character")

    def fail(reason: str) -> ExportError:
        return ExportError(f"cannot write {user!r}: {reason}")

    fd = _own_fd(user)
    if fd is not None:
        return _fd_target(user, fd)
    real = os.path.realpath(user)
    link = "" if os.path.abspath(user) == real else f" (a link to {real!r})"
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise fail("the symbolic links loop") from None
        if exc.errno == errno.ENOTDIR:
            st = None  # a component is not a directory: said below
        elif exc.errno == errno.ENAMETOOLONG:
            raise fail("the file name is too long") from None
        else:
            raise fail(exc.strerror or str(exc)) from None
    if st is None:
        if os.path.lexists(real):  # still a link: a loop, or one we cannot follow
            raise fail("the symbolic links loop")
        parent = os.path.dirname(real) or "."
        if os.path.exists(parent) and not os.path.isdir(parent):
            raise fail(f"{parent!r} is not a directory{link}")
        if not os.path.isdir(parent):
            raise fail(f"directory {parent!r} does not exist{link}")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise fail(f"directory {parent!r} is not writable{link}")
        return Target(user, real, "new")
    mode = st.st_mode
    if stat.S_ISREG(mode):
        parent = os.path.dirname(real) or "."
        if not os.access(real, os.W_OK):
            raise fail(f"the file is read-only{link}")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise fail(f"directory {parent!r} is not writable{link}")
        return Target(user, real, "file", stat.S_IMODE(mode))
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode):
        if not os.access(real, os.W_OK):
            raise fail(f"permission denied ({_kind(mode)}){link}")
        kind = "fifo" if stat.S_ISFIFO(mode) else "device" if stat.S_ISCHR(mode) else "socket"
        return Target(user, real, kind, stat.S_IMODE(mode))
    if stat.S_ISDIR(mode):
        raise fail(f"it is a directory{link}")
    raise fail(f"it is {_kind(mode)}; optsim writes only files, FIFOs, character "
               f"devices and sockets{link}")


_FD_PATH = re.compile(r"/dev/std(in|out|err)|/dev/fd/(\d+)|/proc/(self|\d+)/fd/(\d+)")


def _own_fd(path: str) -> int | None:
    """The descriptor of this process that ``path`` names (``/dev/stdout``,
    ``/dev/fd/N``, ``/proc/self/fd/N``), or None."""
    m = _FD_PATH.fullmatch(os.path.abspath(path))
    if m is None or fcntl is None:
        return None
    if m.group(1):
        return ("in", "out", "err").index(m.group(1))
    if m.group(2):
        return int(m.group(2))
    if m.group(3) != "self" and int(m.group(3)) != os.getpid():
        return None  # another process's: whatever its link leads to
    return int(m.group(4))


def _fd_target(user: str, fd: int) -> Target:
    """A write to one of this process's descriptors: streamed to it (the shell's
    ``> file`` or ``| reader`` behind ``/dev/stdout``), after what was printed."""
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    except OSError:
        raise ExportError(f"cannot write {user!r}: descriptor {fd} is not open") from None
    if flags & os.O_ACCMODE == os.O_RDONLY:
        raise ExportError(f"cannot write {user!r}: descriptor {fd} is open only for reading")
    return Target(user, f"fd:{fd}", "fd")


def check_writable(path: str | os.PathLike) -> Path:
    """Raise :class:`ExportError` unless ``path`` can be written (see
    :func:`resolve_output`). Writes nothing; returns the path."""
    resolve_output(path)
    return Path(path)


# ---------------------------------------------------------------------------
# temporary files


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temporary(directory: str, suffix: str) -> tuple[int, str]:
    """A new file in ``directory`` with a short name of fixed length (about 20
    characters, whatever the target's name), open for writing."""
    import secrets  # (here: with hashlib and OpenSSL, ~4 ms of the window's start-up)

    suffix = suffix if len(suffix) <= 8 and "\0" not in suffix else ""
    for _ in range(100):
        name = os.path.join(directory, f".optsim-{secrets.token_hex(4)}.tmp{suffix}")
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                         0o600)
        except FileExistsError:
            continue
        return fd, name
    raise FileExistsError(errno.EEXIST, "no free temporary name", directory)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte of ``data`` to ``fd`` (a short write is continued)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view[:_CHUNK])
        view = view[n:]


def _unlink(path: str | None) -> None:
    if path:
        with contextlib.suppress(OSError):
            os.unlink(path)


# ---------------------------------------------------------------------------
# streams


def _open_stream(target: Target) -> tuple[Callable[[bytes], None], Callable[[], None]]:
    """(write, close) for a FIFO, character device or socket; never blocks on
    opening: a FIFO is waited for at most :data:`STREAM_WAIT` seconds."""
    fail = lambda reason: ExportError(f"cannot write {target.path!r}: {reason}")  # noqa: E731
    if target.kind == "fd":
        for stream in (sys.stdout, sys.stderr):  # what was printed comes first
            with contextlib.suppress(AttributeError, OSError, ValueError):
                stream.flush()
        fd = os.dup(int(target.real.removeprefix("fd:")))
        return (lambda data: _write_all(fd, data)), (lambda: os.close(fd))
    if target.kind == "socket":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(STREAM_WAIT)
        try:
            sock.connect(target.real)
        except OSError as exc:
            sock.close()
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                raise fail("nothing is listening on the socket") from None
            if exc.errno == errno.EPROTOTYPE:
                raise fail("the socket does not take a stream of data") from None
            raise fail(exc.strerror or str(exc)) from None
        sock.settimeout(None)
        return sock.sendall, sock.close
    flags = os.O_WRONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    deadline = time.monotonic() + STREAM_WAIT
    while True:
        try:
            fd = os.open(target.real, flags)
            break
        except OSError as exc:
            # ENXIO: a FIFO with no reader (opened without blocking)
            if exc.errno == errno.ENXIO and target.kind == "fifo":
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                raise fail(f"no process is reading the FIFO (waited {STREAM_WAIT:g} s)") from None
            raise fail(exc.strerror or str(exc)) from None
    if _NONBLOCK:
        os.set_blocking(fd, True)
    return (lambda data: _write_all(fd, data)), (lambda: os.close(fd))


def _stream(target: Target, source: bytes | str) -> None:
    """Write ``source`` (bytes, or the path of a file to copy) to a stream target."""
    write, close = _open_stream(target)
    try:
        if isinstance(source, bytes):
            write(source)
        else:
            with open(source, "rb") as f:
                while chunk := f.read(_CHUNK):
                    write(chunk)
    except OSError as exc:
        if isinstance(exc, ExportError):
            raise
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EPIPE:
            reason = "the reading process closed it before the end"
        raise ExportError(f"cannot write {target.path!r}: {reason}") from None
    finally:
        with contextlib.suppress(OSError):
            close()


# ---------------------------------------------------------------------------
# staged writes


@dataclass
class _Staged:
    target: Target
    tmp: str | None = None      # the written temporary file
    data: bytes | None = None   # or the bytes, for a stream

    def discard(self) -> None:
        _unlink(self.tmp)
        self.tmp = self.data = None

    def commit(self) -> None:
        t = self.target
        try:
            if t.stream:
                _stream(t, self.data if self.data is not None else self.tmp)
            else:
                try:
                    os.replace(self.tmp, t.real)
                except OSError as exc:
                    raise ExportError(f"cannot write {t.path!r}: "
                                      f"{exc.strerror or exc}") from None
                self.tmp = None
        finally:
            self.discard()


_batch: ContextVar[list[_Staged] | None] = ContextVar("optsim_files_batch", default=None)


def _translated(exc: BaseException, target: Target, tmp: str | None) -> BaseException:
    """``exc`` from writing ``tmp`` as one line naming the user's path, or ``exc``
    itself (a cancellation, or an error that does not concern the file)."""
    if isinstance(exc, ExportError):
        text = _one_line(str(exc).replace(tmp, target.path) if tmp else str(exc))
        if target.path not in text:
            text = f"cannot write {target.path!r}: {text}"
        return exc if text == str(exc) else ExportError(text)
    if isinstance(exc, OSError):
        reason = exc.strerror or _one_line(str(exc)) or type(exc).__name__
        if tmp:
            reason = reason.replace(tmp, target.path)
        return ExportError(f"cannot write {target.path!r}: {reason}")
    if isinstance(exc, Exception) and tmp and tmp in str(exc):
        return ExportError(f"cannot write {target.path!r}: "
                           f"{_one_line(str(exc).replace(tmp, target.path))}")
    return exc


def _stage(path: str | os.PathLike, content: bytes | Writer, batch: list[_Staged]) -> _Staged:
    target = resolve_output(path)
    for other in batch:
        if other.target.real == target.real:
            raise ExportError(f"cannot write {target.path!r} twice in one go "
                              f"(also as {other.target.path!r})")
    staged = _Staged(target)
    if target.stream and isinstance(content, (bytes, bytearray, memoryview)):
        staged.data = bytes(content)
        return staged
    directory = tempfile.gettempdir() if target.stream else (os.path.dirname(target.real) or ".")
    suffix = os.path.splitext(target.real)[1]
    try:
        fd, staged.tmp = _temporary(directory, suffix)
    except OSError as exc:
        raise ExportError(f"cannot write {target.path!r}: {exc.strerror or exc}") from None
    try:
        try:
            if not target.stream:
                mode = target.mode if target.kind == "file" else 0o666 & ~_umask()
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, mode)  # as a file written in place would be
            if isinstance(content, (bytes, bytearray, memoryview)):
                _write_all(fd, content)
                content = None
        finally:
            os.close(fd)
        if content is not None:
            content(staged.tmp)
        if not os.path.exists(staged.tmp) or os.path.getsize(staged.tmp) == 0:
            raise ExportError(f"cannot write {target.path!r}: nothing was written")
        if not target.stream:
            fd = os.open(staged.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)  # on disk before it replaces the old file
            finally:
                os.close(fd)
    except BaseException as exc:
        tmp = staged.tmp
        staged.discard()
        new = _translated(exc, target, tmp)
        if new is exc:
            raise
        raise new from None
    return staged


def _commit_all(staged: list[_Staged]) -> None:
    # streams first: once written they cannot be taken back, while every file can
    # still be abandoned if one of them fails
    order = [s for s in staged if s.target.stream] + [s for s in staged if not s.target.stream]
    try:
        for s in order:
            s.commit()
    finally:
        for s in order:
            s.discard()


@contextlib.contextmanager
def transaction() -> Iterator[None]:
    """Make every write inside the block only when the whole block succeeds:
    until then each output waits in a temporary file (or in memory); on any error
    all are dropped and the files they would replace are untouched. Nested
    transactions join the outermost."""
    if _batch.get() is not None:
        yield
        return
    staged: list[_Staged] = []
    token = _batch.set(staged)
    try:
        yield
    except BaseException:
        for s in staged:
            s.discard()
        raise
    finally:
        _batch.reset(token)
    _commit_all(staged)


def atomic_write(path: str | os.PathLike, writer: Writer) -> Path:
    """Write ``path`` with ``writer(tmp_path)``, which writes a whole file at the
    path it is given (a temporary one), then put it in place as the module says.
    On any failure nothing is left, ``path`` is untouched, and :class:`ExportError`
    (or the writer's own error, when it does not concern the file) is raised.
    Returns ``path``."""
    return _write(path, writer)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` (see :func:`atomic_write`)."""
    return _write(path, bytes(data))


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` (see :func:`atomic_write`)."""
    return _write(path, text.encode("utf-8"))


#: the name the exporters have long used
atomic_write_text = write_text


def _write(path: str | os.PathLike, content: bytes | Writer) -> Path:
    batch = _batch.get()
    if batch is not None:
        batch.append(_stage(path, content, batch))
    else:
        _commit_all([_stage(path, content, [])])
    return Path(path)


# ---------------------------------------------------------------------------
# reading


def check_readable(path: str | os.PathLike) -> os.stat_result:
    """The status of ``path`` if it is a regular file (or a link to one), without
    opening it; :class:`ReadError` saying what it is otherwise."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ReadError(path, "no such file") from None
    except OSError as exc:
        reason = "the symbolic links loop" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
        raise ReadError(path, reason) from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(path, f"it is {_kind(st.st_mode)}, not a regular file"
                        if not stat.S_ISDIR(st.st_mode) else "it is a directory")
    return st


def read_bytes(path: str | os.PathLike, limit: int = MAX_READ_BYTES) -> bytes:
    """The contents of the regular file ``path``, at most ``limit`` bytes:
    :class:`ReadError` for anything else (a FIFO, a device, a directory, a larger
    file), never blocking."""
    st = check_readable(path)
    if st.st_size > limit:
        raise ReadError(path, f"the file is too large ({st.st_size} bytes, at most {limit})")
    flags = os.O_RDONLY | _NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ReadError(path, exc.strerror or str(exc)) from None
    try:
        st = os.fstat(fd)  # what was opened: it may have changed since the check
        if not stat.S_ISREG(st.st_mode):
            raise ReadError(path, f"it is {_kind(st.st_mode)}, not a regular file")
        chunks, total = [], 0
        while True:
            try:
                chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            except OSError as exc:
                raise ReadError(path, exc.strerror or str(exc)) from None
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ReadError(path, f"the file is too large (more than {limit} bytes)")
        return b"".join(chunks)
    finally:
        os.close(fd)


__all__ = ["MAX_READ_BYTES", "STREAM_WAIT", "ExportError", "ReadError", "Target",
           "atomic_write", "atomic_write_text", "check_readable", "check_writable", "read_bytes",
           "resolve_output", "transaction", "write_bytes", "write_text"]
