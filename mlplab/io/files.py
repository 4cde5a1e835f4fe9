"""Files that might not be files: one atomic write for everything mlplab writes, and reads
that look at what a path is before reading any of it.

Writing (:func:`atomic_write`): the data goes to a temporary file in the target's folder,
is fsynced, renamed over the target (``os.replace``), and the folder is fsynced, so a crash
or a full disk leaves either the old file or the new one, never half of one. A new file gets
the permissions of any new file (0666 less the umask); a replaced file keeps its own.

Targets that are not regular files are refused: a character or block device (``/dev/null``),
a FIFO, a socket, a folder. A symlink is followed deliberately: the file it points to is
replaced (in that file's folder) and the link stays, as an editor saving through a link
does; a dangling link, a link loop, or a link another user planted in a shared sticky folder
(``/tmp``) is refused.

Reading (:func:`open_regular`): the path is opened without blocking and checked to be a
regular file of bounded size before a byte is read, so ``/dev/zero``, a FIFO with no writer
or a huge sparse file is refused at once instead of read whole or waited on forever.

Temporary files are named ``.{name}.{pid}-{random}.tmp``; :func:`remove_orphans` deletes
those beside a path whose process is gone (left by a SIGKILL).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Union

from ..errors import ConfigError, ModelFileError

MAX_FILE_BYTES = 4 * 2**30  # 4 GiB: far beyond any network this NumPy engine trains
Data = Union[bytes, str, Callable[[BinaryIO], object]]

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)  # POSIX flags; 0 where the platform has none
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a folder"))


def as_path(path) -> Path:
    """``path`` as a :class:`~pathlib.Path`; anything else is a :class:`ConfigError`."""
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"a file path must be a str or os.PathLike, got {type(path).__name__}")
    if not str(path):
        raise ConfigError("a file path must not be empty")
    return Path(path)


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` is, in words ("a FIFO (named pipe)", "a regular file")."""
    return next((name for test, name in _KINDS if test(mode)), "a regular file")


def check_target(path, what: str = "file") -> Path:
    """The file a write to ``path`` will replace: ``path``, or the file its symlink points to.

    Raises :class:`ModelFileError` naming the problem when the target is not a regular file
    (or absent, in an existing folder).
    """
    path = as_path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        folder = path.parent
        if not folder.is_dir():
            raise ModelFileError(f"cannot write {what} {path}: folder {folder} does not exist; "
                                 "create it first") from None
        return path
    except OSError as exc:
        raise ModelFileError(f"cannot write {what} {path}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(st.st_mode):
        path, st = _follow(path, st, what)
    if stat.S_ISDIR(st.st_mode):
        raise ModelFileError(f"cannot write {what} {path}: it is a folder; give a file name "
                             "inside it")
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(f"cannot write {what} {path}: it is {kind_of(st.st_mode)}, not a "
                             "regular file; mlplab replaces only regular files: give a file path")
    return path


def _follow(link: Path, st: os.stat_result, what: str) -> tuple[Path, os.stat_result]:
    """The file a symlink points to, refusing dangling links, loops and planted links."""
    folder = os.stat(link.parent)
    shared = folder.st_mode & stat.S_ISVTX and folder.st_mode & stat.S_IWOTH
    if shared and st.st_uid != os.geteuid():  # what the kernel's protected_symlinks refuses
        raise ModelFileError(f"cannot write {what} {link}: it is a symlink owned by another user "
                             f"in the shared folder {link.parent}; write to a path of your own")
    try:
        target = Path(os.path.realpath(link, strict=True))
        return target, os.stat(target)
    except OSError as exc:
        reason = ("a symlink loop" if exc.errno == errno.ELOOP
                  else f"a symlink to {os.readlink(link)}, which does not exist")
        raise ModelFileError(f"cannot write {what} {link}: it is {reason}; fix or remove the "
                             "link") from None


def atomic_write(path, data: Data, what: str = "file") -> Path:
    """Write ``data`` to ``path`` atomically; returns ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace (a symlink: the file it points to).
    data : bytes, str (written as UTF-8), or callable
        A callable receives the open binary temporary file and writes into it (e.g.
        ``lambda f: fig.savefig(f, format="png")``).
    what : str
        What the file is, for messages ("model file", "--output").

    Raises
    ------
    ModelFileError
        The target is not a regular file, its folder does not exist, or writing failed (the
        disk is full, permission denied); the old file, if any, is untouched.
    """
    target = check_target(path, what)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        # 0o666 here lets the kernel apply the umask, as for any new file
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o666)
        with os.fdopen(fd, "wb") as f:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        check_target(target, what)  # still a file (or absent) just before it is replaced
        os.replace(tmp, target)
    except BaseException as exc:
        _discard(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, ModelFileError):
            raise ModelFileError(f"cannot write {what} {target}: {exc.strerror or exc}; check "
                                 "the folder's permissions and free space (the old file, if "
                                 "any, is unchanged)") from None
        raise
    _fsync_folder(target.parent)
    return as_path(path)


def _discard(tmp: Path) -> None:
    """Remove a temporary file after a failed write. Its own failure (a read-only file system
    refuses the unlink too, EROFS) must not hide the error that made the write fail."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (not every file system allows it: then skip)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def open_regular(path, what: str = "file",
                 max_bytes: int = MAX_FILE_BYTES) -> Iterator[tuple[BinaryIO, int]]:
    """Open ``path`` for reading after checking it is a regular file of at most ``max_bytes``;
    yields ``(file, size)``.

    The open does not block (a FIFO without a writer), and nothing is read before the check.
    """
    path = as_path(path)
    try:
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    except FileNotFoundError:
        raise ModelFileError(f"{what} {path} does not exist; check the path") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ModelFileError(f"{what} {path} is a symlink loop; fix the link") from None
        raise ModelFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    problem = None
    if stat.S_ISDIR(st.st_mode):
        problem = f"{what} {path} is a folder; give the file inside it"
    elif not stat.S_ISREG(st.st_mode):
        problem = (f"{what} {path} is {kind_of(st.st_mode)}, not a regular file; give the "
                   "path of a file")
    elif st.st_size > max_bytes:
        problem = (f"{what} {path} is {st.st_size} bytes, larger than any mlplab {what} may "
                   f"be ({max_bytes} bytes); it is not ours")
    if problem:
        os.close(fd)
        raise ModelFileError(problem)
    with os.fdopen(fd, "rb") as f:
        try:
            yield f, st.st_size
        except OSError as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def read_exactly(f: BinaryIO, n: int, path, what: str = "file") -> bytes:
    """``n`` bytes from ``f``; fewer (the file shrank while being read) is an error."""
    data = f.read(n)
    if len(data) != n:
        raise ModelFileError(f"{what} {path} is truncated: expected {n} more bytes, got "
                             f"{len(data)}")
    return data


def remove_orphans(path) -> list[Path]:
    """Delete the temporary files of earlier writes to ``path`` whose process is gone.

    Returns the paths removed. A temporary file of a live process (a concurrent write) is
    left alone.
    """
    path = as_path(path)
    pattern = re.compile(re.escape(f".{path.name}.") + r"(\d+)-[0-9a-f]{8}\.tmp")
    removed = []
    try:
        names = os.listdir(path.parent if str(path.parent) else ".")
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            orphan = path.parent / name
            try:
                if stat.S_ISREG(os.lstat(orphan).st_mode):
                    orphan.unlink()
                    removed.append(orphan)
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # a dead process's PID, reused (containers reuse small PIDs often)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
