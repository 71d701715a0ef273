"""Reading a suite's files without trusting them.

A suite is data a user hands over, maybe from someone else. Before a file is
opened it must be a regular file that lies inside the suite folder (a symlink
may point elsewhere inside it, never out), and no larger than the size limit.
Anything else is refused with a one-line reason, and never opened: opening a
FIFO for reading blocks until a writer appears, and reading a device or a
50 MB file would hang or exhaust the loader.

The check is made twice: `lstat`/`stat` on the path (for a clear reason),
then `fstat` on the descriptor actually opened (non-blocking, so even a FIFO
swapped in between cannot block), which must be the same regular file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from benchq.errors import BenchqError

#: Default of `BENCHQ_MAX_INPUT_BYTES`: the largest document or ground-truth file read.
DEFAULT_MAX_INPUT_BYTES = 1_048_576


class Refused(BenchqError):
    """A suite file that must not be read; `detail` says why, in one line."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


def _kind(mode: int) -> str:
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


def too_large(size: int, limit: int) -> str:
    """The reason given for content above the size limit."""
    return f"is {size:,} bytes, above the limit of {limit:,} (BENCHQ_MAX_INPUT_BYTES)"


def over_limit(limit: int) -> str:
    """The reason given for content whose exact size is not known, above the limit."""
    return f"is larger than the limit of {limit:,} bytes (BENCHQ_MAX_INPUT_BYTES)"


def inside(path: Path, root: Path) -> bool:
    """Whether `path`, every symlink resolved, lies inside the resolved `root`."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False


class SuiteRoot:
    """A suite folder for one load: it and each folder read in it resolved once, not per file.

    Resolving a path walks every component with `lstat`: done twice per
    file (the file and the root) it was a third of loading a 10,000-case
    suite. A path that is not itself a symlink lies where its folder
    resolves, so the folder's resolution is kept for the load (one load:
    a later load, maybe after the folder changed, resolves again).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.real = _resolved(path)
        self._folders: dict[str, bool] = {}

    def holds(self, real: Path | None) -> bool:
        """Whether a resolved path (None: it could not be resolved) lies inside the folder."""
        return real is not None and self.real is not None and real.is_relative_to(self.real)

    def holds_entry(self, path: Path | str) -> bool:
        """Whether `path`, which is not itself a symlink, lies inside (its folder resolved once).

        Strings are split with `os.path`, not pathlib: building two `Path`
        objects per file was a fifth of loading a 10,000-case suite.
        """
        folder, name = os.path.split(os.fspath(path))
        if name in ("", ".", ".."):  # not an entry of `folder`: resolve it whole
            return self.holds(_resolved(Path(path)))
        inside = self._folders.get(folder)
        if inside is None:
            real_folder = _resolved(Path(folder or "."))
            # An entry that is not a symlink lies where its folder resolves.
            inside = self._folders[folder] = self.holds(real_folder)
        return inside


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None


def check_regular(path: Path | str, root: Path | SuiteRoot, limit: int) -> os.stat_result:
    """The `stat` of `path` if it may be read; raise `Refused` naming why not.

    Does not open the file. `root`: the suite folder, or a `SuiteRoot` kept for
    one load (which resolves each folder once).
    """
    within = root if isinstance(root, SuiteRoot) else SuiteRoot(root)
    try:
        link = os.lstat(path)
    except OSError as exc:
        raise Refused(f"cannot be read: {exc.strerror or exc}") from exc
    if stat.S_ISLNK(link.st_mode):
        if not within.holds(_resolved(Path(path))):
            try:
                target = str(Path(path).resolve())
            except (OSError, RuntimeError):
                target = "a loop"
            raise Refused(f"is a symlink leading outside the suite folder (to {target})")
        try:
            st = os.stat(path)
        except OSError as exc:
            raise Refused(f"is a broken symlink ({exc.strerror or exc})") from exc
    else:
        if not within.holds_entry(path):
            raise Refused("lies outside the suite folder (through a symlinked directory)")
        st = link
    if not stat.S_ISREG(st.st_mode):
        raise Refused(f"is {_kind(st.st_mode)}, not a regular file")
    if st.st_size > limit:
        raise Refused(too_large(st.st_size, limit))
    return st


def read_bytes(path: Path | str, root: Path | SuiteRoot, limit: int) -> bytes:
    """The bytes of a suite file that passed `check_regular`; raise `Refused` otherwise."""
    expected = check_regular(path, root, limit)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise Refused(f"cannot be read: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (
            expected.st_dev,
            expected.st_ino,
        ):
            raise Refused("was replaced while being read")
        # Read at most one byte past the limit: a file that grew is refused, not swallowed.
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise Refused(f"cannot be read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise Refused(over_limit(limit))
    return data


def decode(data: bytes) -> str:
    """UTF-8 text (a leading byte-order mark dropped); raise `Refused` when it is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Refused(f"not valid UTF-8 text (byte {exc.start}: {exc.reason})") from exc


def read_text(path: Path | str, root: Path | SuiteRoot, limit: int) -> str:
    """`read_bytes` then `decode`."""
    return decode(read_bytes(path, root, limit))
