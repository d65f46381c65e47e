"""The one writer and the one reader (optsim.files) against what is not a regular
file: private device nodes made with mknod in a temporary directory (never the real
/dev/null, /dev/full or /dev/zero), FIFOs with and without a reader, Unix sockets,
symbolic links, long names, a small full file system (a tmpfs where it can be
mounted) and a faked ENOSPC. Every wait is bounded, so no test can hang."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from optsim import files
from optsim.files import (
    ExportError,
    ReadError,
    atomic_write,
    check_writable,
    read_bytes,
    transaction,
    write_bytes,
    write_text,
)

# Linux character devices 1:3, 1:5 and 1:7 behave as null, zero and full
NULL, ZERO, FULL = (1, 3), (1, 5), (1, 7)


def device(tmp_path: Path, name: str, numbers: tuple[int, int]) -> Path:
    """A private character device node in ``tmp_path``, usable, or the test is skipped."""
    path = tmp_path / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*numbers))
    except (PermissionError, AttributeError, OSError) as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    try:  # a file system mounted nodev refuses to open device nodes
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError as exc:
        pytest.skip(f"device nodes cannot be opened here ({exc})")
    return path


def is_char_device(path: Path) -> bool:
    return stat.S_ISCHR(os.lstat(path).st_mode)


def fifo(tmp_path: Path, name: str = "pipe") -> Path:
    path = tmp_path / name
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    os.mkfifo(path)
    return path


class FifoReader(threading.Thread):
    """Reads a FIFO until the writer closes it (or ``timeout`` seconds pass) without
    ever blocking: opened non-blocking, polled."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self.timeout, self.data, self.started = timeout, b"", False

    def run(self) -> None:
        end = time.monotonic() + self.timeout
        try:
            while time.monotonic() < end:
                ready, _, _ = select.select([self.fd], [], [], 0.05)
                chunk = b""
                if ready:
                    try:
                        chunk = os.read(self.fd, 1 << 16)
                    except BlockingIOError:
                        continue
                if chunk:
                    self.data += chunk
                    self.started = True
                elif self.started:
                    return  # the writer closed it
                else:
                    time.sleep(0.01)  # no writer yet: EOF until one opens it
        finally:
            os.close(self.fd)

    def result(self) -> bytes:
        self.join(self.timeout + 5)
        return self.data


@pytest.fixture
def quick_wait(monkeypatch):
    monkeypatch.setattr(files, "STREAM_WAIT", 0.3)


def leftovers(directory: Path) -> list[str]:
    return sorted(p for p in os.listdir(directory) if p.startswith(".optsim-"))


# -- devices --------------------------------------------------------------------------------


def test_a_device_is_written_not_replaced(tmp_path):
    null = device(tmp_path, "null", NULL)
    write_text(null, "x,y\n1,2\n")
    atomic_write(null, lambda tmp: Path(tmp).write_bytes(b"\x89PNG..."))
    assert is_char_device(null)
    assert leftovers(tmp_path) == []


def test_a_full_device_says_so_naming_it_and_stays(tmp_path):
    full = device(tmp_path, "full", FULL)
    with pytest.raises(ExportError) as err:
        write_text(full, "data")
    assert str(err.value) == f"cannot write {str(full)!r}: No space left on device"
    assert is_char_device(full)


def test_a_device_is_never_read(tmp_path):
    zero = device(tmp_path, "zero", ZERO)
    with pytest.raises(ReadError, match="character device, not a regular file"):
        read_bytes(zero)


def test_a_block_device_is_refused_before_any_work(tmp_path):
    path = tmp_path / "disk"
    try:
        os.mknod(path, 0o600 | stat.S_IFBLK, os.makedev(7, 200))
    except OSError as exc:
        pytest.skip(f"cannot make a device node here ({exc})")
    with pytest.raises(ExportError, match="block device"):
        check_writable(path)
    assert stat.S_ISBLK(os.lstat(path).st_mode)


# -- FIFOs -----------------------------------------------------------------------------------


def test_a_fifo_with_a_reader_gets_the_data_and_stays_a_fifo(tmp_path):
    pipe = fifo(tmp_path)
    reader = FifoReader(pipe)
    reader.start()
    write_text(pipe, "a" * 200_000)  # more than a pipe's buffer: streamed as it is read
    assert reader.result() == b"a" * 200_000
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert leftovers(tmp_path) == []


def test_a_writer_function_streams_to_a_fifo(tmp_path):
    pipe = fifo(tmp_path)
    reader = FifoReader(pipe)
    reader.start()
    atomic_write(pipe, lambda tmp: Path(tmp).write_bytes(b"GIF89a" + bytes(1000)))
    assert reader.result() == b"GIF89a" + bytes(1000)
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)


def test_a_fifo_without_a_reader_fails_clearly_and_does_not_hang(tmp_path, quick_wait):
    pipe = fifo(tmp_path)
    start = time.monotonic()
    with pytest.raises(ExportError) as err:
        write_text(pipe, "data")
    assert time.monotonic() - start < 5
    assert str(err.value) == (f"cannot write {str(pipe)!r}: no process is reading the FIFO "
                              "(waited 0.3 s)")
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert leftovers(tmp_path) == []


def test_a_reader_that_starts_a_little_later_is_waited_for(tmp_path):
    pipe = fifo(tmp_path)
    reader = FifoReader.__new__(FifoReader)

    def later():
        time.sleep(0.3)
        FifoReader.__init__(reader, pipe)
        reader.run()

    t = threading.Thread(target=later, daemon=True)
    t.start()
    write_text(pipe, "late")
    t.join(10)
    assert reader.data == b"late"


def test_a_fifo_is_never_read_and_never_blocks(tmp_path):
    pipe = fifo(tmp_path)
    done: list = []

    def read():
        try:
            read_bytes(pipe)
        except ReadError as exc:
            done.append(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(5)
    assert done and "FIFO (named pipe), not a regular file" in str(done[0])
    assert str(done[0]).startswith(f"cannot read {str(pipe)!r}: ")


# -- sockets ---------------------------------------------------------------------------------


def test_a_listening_socket_gets_the_data(tmp_path):
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)
    server.settimeout(10)
    got: list[bytes] = []

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.settimeout(10)
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
            got.append(data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        write_text(path, "over the socket")
        t.join(10)
    finally:
        server.close()
    assert got == [b"over the socket"]
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_socket_nobody_listens_on_is_said(tmp_path, quick_wait):
    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # the file stays; nobody listens
    with pytest.raises(ExportError, match="nothing is listening on the socket"):
        write_text(path, "x")
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


# -- links, directories, names -----------------------------------------------------------------


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "data.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    write_text(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "new"
    assert leftovers(tmp_path) == [] and leftovers(tmp_path / "real") == []


def test_a_dangling_link_creates_its_target(tmp_path):
    link = tmp_path / "link.json"
    link.symlink_to("made.json")
    write_text(link, "{}")
    assert link.is_symlink() and (tmp_path / "made.json").read_text() == "{}"


def test_a_link_to_a_fifo_streams_to_it(tmp_path):
    pipe = fifo(tmp_path)
    link = tmp_path / "out.csv"
    link.symlink_to(pipe)
    reader = FifoReader(pipe)
    reader.start()
    write_text(link, "through")
    assert reader.result() == b"through"
    assert link.is_symlink() and stat.S_ISFIFO(os.lstat(pipe).st_mode)


def test_a_loop_of_links_is_said(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ExportError, match="symbolic links loop"):
        write_text(tmp_path / "a", "x")
    with pytest.raises(ReadError, match="symbolic links loop"):
        read_bytes(tmp_path / "a")


def test_a_link_to_a_regular_file_is_read(tmp_path):
    (tmp_path / "f.json").write_text("{}")
    (tmp_path / "l.json").symlink_to(tmp_path / "f.json")
    assert read_bytes(tmp_path / "l.json") == b"{}"


def test_directories_and_missing_parents_are_refused_before_any_work(tmp_path):
    calls = []
    writer = calls.append
    with pytest.raises(ExportError, match="it is a directory"):
        atomic_write(tmp_path, writer)
    with pytest.raises(ExportError, match="does not exist"):
        atomic_write(tmp_path / "missing" / "x.csv", writer)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="is not a directory"):
        atomic_write(tmp_path / "file" / "x.csv", writer)
    link = tmp_path / "to-missing"
    link.symlink_to(tmp_path / "nowhere" / "x.csv")
    with pytest.raises(ExportError, match="does not exist.*a link to"):
        atomic_write(link, writer)
    assert calls == []
    with pytest.raises(ReadError, match="it is a directory"):
        read_bytes(tmp_path)
    with pytest.raises(ReadError, match="no such file"):
        read_bytes(tmp_path / "nothing")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_directory_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ExportError, match="is not writable"):
        write_text(locked / "x.csv", "x")


@pytest.mark.parametrize("length", [200, 230, 255])
def test_long_names_up_to_the_limit_work(tmp_path, length):
    name = "n" * (length - 4) + ".csv"
    write_text(tmp_path / name, "long")
    write_text(tmp_path / name, "again")  # over an existing file too
    assert (tmp_path / name).read_text() == "again"
    assert leftovers(tmp_path) == []


def test_an_existing_files_mode_is_kept(tmp_path):
    path = tmp_path / "script.csv"
    path.write_text("old")
    path.chmod(0o640)
    write_text(path, "new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_read_limits_and_nul_names(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    with pytest.raises(ReadError, match=r"too large \(101 bytes, at most 100\)"):
        read_bytes(path, limit=100)
    assert read_bytes(path, limit=101) == b"x" * 101
    with pytest.raises(ExportError, match="NUL"):
        write_text("bad\0name", "x")


# -- full disks ---------------------------------------------------------------------------------


def enospc_writer(tmp):
    with open(tmp, "wb") as f:
        f.write(b"partial")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp)


def test_a_faked_full_disk_names_the_file_not_the_temporary(tmp_path):
    path = tmp_path / "movie.gif"
    path.write_bytes(b"old")
    with pytest.raises(ExportError) as err:
        atomic_write(path, enospc_writer)
    assert str(err.value) == f"cannot write {str(path)!r}: No space left on device"
    assert ".optsim-" not in str(err.value)
    assert path.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_an_error_naming_the_temporary_is_reworded(tmp_path):
    path = tmp_path / "x.mp4"

    def writer(tmp):
        raise RuntimeError(f"ffmpeg: could not write\n{tmp}: broken")

    with pytest.raises(ExportError) as err:
        atomic_write(path, writer)
    assert str(err.value) == f"cannot write {str(path)!r}: ffmpeg: could not write {path}: broken"


@pytest.fixture
def small_fs(tmp_path):
    """A 64 KiB tmpfs mounted in ``tmp_path`` (root on Linux), or the test is skipped."""
    with small_tmpfs(tmp_path) as mnt:
        yield mnt


@contextlib.contextmanager
def small_tmpfs(tmp_path: Path):
    """Mount a 64 KiB tmpfs in ``tmp_path``/small (skips the test where not permitted)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root on Linux")
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                           capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs ({exc})")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=20)


def test_a_really_full_file_system(small_fs):
    path = small_fs / "data.csv"
    path.write_text("old")
    with pytest.raises(ExportError) as err:
        write_bytes(path, b"x" * 200_000)
    assert str(err.value) == f"cannot write {str(path)!r}: No space left on device"
    assert path.read_text() == "old" and leftovers(small_fs) == []


# -- several outputs ----------------------------------------------------------------------------


def test_a_transaction_writes_all_or_nothing(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.gif"
    a.write_text("old a")
    with pytest.raises(ExportError, match="No space left"):
        with transaction():
            write_text(a, "new a")
            assert a.read_text() == "old a"  # not yet
            atomic_write(b, enospc_writer)
    assert a.read_text() == "old a" and not b.exists() and leftovers(tmp_path) == []
    with transaction():
        write_text(a, "new a")
        write_text(b, "new b")
    assert a.read_text() == "new a" and b.read_text() == "new b"


def test_a_failing_stream_in_a_transaction_leaves_the_files_alone(tmp_path, quick_wait):
    a = tmp_path / "a.csv"
    a.write_text("old")
    pipe = fifo(tmp_path)
    with pytest.raises(ExportError, match="no process is reading"):
        with transaction():
            write_text(a, "new")
            write_text(pipe, "nobody reads this")
    assert a.read_text() == "old" and leftovers(tmp_path) == []


def test_one_file_twice_in_a_transaction_is_refused(tmp_path):
    (tmp_path / "t.csv").write_text("")
    (tmp_path / "l.csv").symlink_to(tmp_path / "t.csv")
    with pytest.raises(ExportError, match="twice"):
        with transaction():
            write_text(tmp_path / "t.csv", "1")
            write_text(tmp_path / "l.csv", "2")
    assert (tmp_path / "t.csv").read_text() == "" and leftovers(tmp_path) == []


def test_an_interrupted_write_leaves_nothing(tmp_path):
    path = tmp_path / "x.csv"

    def interrupted(tmp):
        Path(tmp).write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, interrupted)
    assert os.listdir(tmp_path) == []
    with contextlib.suppress(KeyboardInterrupt), transaction():
        write_text(path, "x")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


# -- this process's descriptors ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["/dev/fd/{}", "/proc/self/fd/{}"])
def test_a_descriptor_path_writes_to_that_descriptor(form):
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc here")
    r, w = os.pipe()
    try:
        write_text(form.format(w), "to the pipe")
    finally:
        os.close(w)
    with os.fdopen(r, "rb") as f:
        assert f.read() == b"to the pipe"


def test_a_descriptor_open_only_for_reading_is_refused():
    r, w = os.pipe()
    try:
        with pytest.raises(ExportError, match=f"descriptor {r} is open only for reading"):
            write_text(f"/dev/fd/{r}", "x")
        with pytest.raises(ExportError, match="descriptor 987 is not open"):
            check_writable("/dev/fd/987")
    finally:
        os.close(r)
        os.close(w)


def test_the_command_line_writes_dev_stdout_after_its_summary(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-m", "optsim", "run", "--steps", "2", "-o", "sgd",
                          "--csv", "/dev/stdout"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "rosenbrock: 2 steps" and lines[2].startswith("optimizer,step,x,y")
    assert len(lines) == 2 + 4 + 1 and lines[-1] == "wrote /dev/stdout"
    with open(tmp_path / "o.txt", "w") as f:  # a file behind stdout is written, not replaced
        subprocess.run([sys.executable, "-m", "optsim", "run", "--steps", "2", "-o", "sgd",
                        "--csv", "/dev/stdout"], stdout=f, env=env, timeout=120, check=True)
    assert (tmp_path / "o.txt").read_text() == out.stdout
