"""The shared pieces of the command line: the typer app, the consoles, and error handling.

Every :class:`~mlplab.errors.MlplabError`, and every usage error typer finds while parsing,
becomes one line ``error: ...`` on stderr and exit code 2; a library warning becomes one line
``warning: ...``. :func:`check_output` refuses an output location before any long work starts.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import unicodedata
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
import typer.core
from rich.console import Console

from ...errors import ConfigError, MlplabError, ModelFileError

# recent typer carries its own copy of click: take the exceptions it raises from typer itself
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
_NoArgsIsHelp = getattr(sys.modules[_UsageError.__module__], "NoArgsIsHelpError", ())

console = Console(soft_wrap=True)  # long paths and numbers stay on one line
err_console = Console(stderr=True, soft_wrap=True)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def printable(line: str) -> str:
    """``line`` with its control and format characters (a file's names and reasons may hold
    any, a terminal's escape sequences among them) written as escapes, e.g. ``\\x1b``."""
    return "".join(ch.encode("unicode_escape").decode("ascii")
                   if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch
                   for ch in line)


def print_error(message: str) -> None:
    err_console.print(f"error: {printable(one_line(message))}", markup=False, highlight=False)


@contextmanager
def _one_line_usage_errors():
    try:
        yield
    except _NoArgsIsHelp:
        raise
    except _UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "mlplab"
        print_error(f"{exc.format_message()} (see '{command} --help')")
        raise typer.Exit(2) from None


class _PlainParameters:
    """typer's command and group, with two changes a newcomer notices.

    - An on/off flag shows no ``<bool>`` type in the help: its two spellings say it all.
    - A usage error (an unknown option or command, ``--lr abc``) is one line on stderr and
      exit code 2, as every other error, instead of a framed panel.
    """

    def get_params(self, ctx):
        params = super().get_params(ctx)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""  # typer's rich help prints the metavar in place of <bool>
        return params

    def make_context(self, info_name, args, parent=None, **extra):
        with _one_line_usage_errors():
            return super().make_context(info_name, args, parent=parent, **extra)


def unwrap(text: str) -> str:
    """A docstring's paragraphs each on one line: the help reflows them to the terminal's
    width (typer keeps a single line break, which shows as a ragged break mid-sentence)."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.splitlines()
        keep = paragraph.startswith("\b") or any(ln.lstrip().startswith(("- ", "* "))
                                                 for ln in lines)
        paragraphs.append(paragraph if keep else " ".join(ln.strip() for ln in lines))
    return "\n\n".join(paragraphs)


class Command(_PlainParameters, typer.core.TyperCommand):
    """A command of :data:`app` (see :class:`_PlainParameters`); its help text reflows."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = unwrap(self.help)


class Group(_PlainParameters, typer.core.TyperGroup):
    """The ``mlplab`` group (see :class:`_PlainParameters`)."""

    def resolve_command(self, ctx, args):
        with _one_line_usage_errors():
            return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=Group, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def command(**kwargs):
    """``@command()`` registers a function as an ``mlplab`` command (typer's ``app.command``)."""
    return app.command(cls=Command, **kwargs)


def _print_version(value: bool) -> None:
    if value:
        from ... import __version__

        console.print(f"mlplab {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version,
                                       is_eager=True, help="Print mlplab's version and exit.")):
    """mlplab: the lecture's neural networks, executable. Train, inspect, trace and
    gradient-check networks (MLP, CNN, RNN) written from first principles; run the lecture's
    experiments; serve the playground; sweep and export."""


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    err_console.print(f"warning: {one_line(message)}", markup=False, highlight=False)


@contextmanager
def user_errors():
    """Turn an mlplab error into one line on stderr and exit code 2; warnings into one line."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            yield
        except MlplabError as exc:
            print_error(str(exc))
            raise typer.Exit(2) from None


# ---------------------------------------------------------------- output locations
def _stat(path: Path, option: str):
    """``os.stat(path)`` (following links), or None when nothing is there."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None  # a file on the way: found by the walk up in _existing_folder
    except OSError as exc:  # a symlink loop, a name too long, a folder we may not enter
        raise ConfigError(f"{option} {path}: {exc.strerror or exc}; give another path") from None


def _existing_folder(path: Path, option: str, target: Path) -> Path:
    """The nearest existing ancestor of ``path``, which must be a folder."""
    for folder in [path, *path.parents]:
        st = _stat(folder, option)
        if st is None:
            continue
        if not stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"{option} {target}: {folder} is a file, not a folder; give a "
                              "path that is not inside a file")
        return folder
    return Path(".")


def _probe_writable(folder: Path, option: str, target: Path) -> None:
    """Create and remove a temporary file in ``folder``: the one test that is true for root,
    read-only mounts and network file systems alike."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(f"{option} {target}: cannot write in folder {folder} "
                          f"({exc.strerror or exc}); choose a writable location") from None


def check_output(path: Path | None, option: str, kind: str = "file",
                 example: str | None = None) -> Path | None:
    """Refuse an output location that cannot be written, before any long work starts.

    Parameters
    ----------
    path : the location given on the command line (None: nothing to check).
    option : its option name, for the message (``--out``, ``--output``, ``--checkpoint``).
    kind : "file" or "folder"
        "file": ``path`` will be (over)written: its folder must exist and be writable, and
        ``path`` itself must not be a folder or a device, FIFO or socket. "folder": ``path``
        exists or will be created with its parents: nothing on the way may be a file and the
        nearest existing folder must be writable.
    example : a file name to suggest inside a folder given for a file (default: the option's
        usual one, ``pred.csv`` or ``run.ckpt``).

    Nothing is created. Raises :class:`~mlplab.errors.ConfigError` naming the problem.
    """
    if path is None:
        return None
    path = Path(path)
    st = _stat(path, option)
    if kind == "folder":
        if st is not None and not stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"{option} {path} is a file; give a folder")
        _probe_writable(_existing_folder(path, option, path), option, path)
        return path
    if st is not None and stat.S_ISDIR(st.st_mode):
        example = example or ("pred.csv" if option == "--output" else "run.ckpt")
        raise ConfigError(f"{option} {path} is a folder; give a file name inside it, e.g. "
                          f"{path / example}")
    if st is not None and not stat.S_ISREG(st.st_mode):
        from ...datasets.csv import node_kind

        raise ConfigError(f"{option} {path} is {node_kind(st.st_mode)}, not a regular file; "
                          "give a file path")
    folder = path.parent
    existing = _existing_folder(folder, option, path)  # a file on the way is named
    if existing != folder:
        raise ConfigError(f"{option} {path}: folder {folder} does not exist; create it first "
                          f"(mkdir -p {folder})")
    _probe_writable(folder, option, path)
    return path


def _same_file(a, b) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one of them is not there (yet): not the same file
        return False


def refuse_inputs(path: Path | None, option: str, inputs: dict) -> None:
    """Refuse an output ``path`` that is one of the command's ``inputs`` (``{what: path}``, e.g.
    the data file, the model file): writing it would destroy what is being read."""
    if path is None:
        return
    for what, source in inputs.items():
        if source is not None and _same_file(path, source):
            raise ConfigError(f"{option} {path} is {what} itself; writing there would destroy "
                              "it: give another file name")


def file_format(path: Path) -> str | None:
    """What an existing file is, for --checkpoint: None (none there, or empty), the format
    of an mlplab safetensors file ("mlplab", "mlplab-checkpoint"), or "other". Only a regular
    file is opened (a FIFO would block, a device read forever)."""
    from ...io.container import header_length, parse_header

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return "other"
        with open(path, "rb") as f:
            head = f.read(8)
            if not head:
                return None
            header = parse_header(f.read(header_length(head, info.st_size, path)), path)
    except FileNotFoundError:
        return None
    except (OSError, MlplabError):  # unreadable, not a safetensors header: not a checkpoint
        return "other"
    meta = header.get("__metadata__")
    return str(meta.get("format")) if isinstance(meta, dict) and "format" in meta else "other"


def load_model(path: Path):
    """``mlplab.load(path)``; a training checkpoint given for a model is named as such."""
    from ...io.model import load

    try:
        return load(path)
    except ModelFileError:
        if file_format(path) != "mlplab-checkpoint":
            raise
        raise ModelFileError(f"{path} is a training checkpoint, not a model file; to save its "
                             "model run 'mlplab train' again with the same data and options, "
                             f"--checkpoint {path} --resume and --out DIR") from None


def output_folder(path: Path, option: str = "--out") -> Path:
    """Create the folder ``path`` (and parents); a path that cannot be one is a ConfigError."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{option} {path} cannot be created as a folder "
                          f"({exc.strerror or exc}); give a writable folder") from None
    return path


def rescue_save(net, extra: dict | None, failure: Exception) -> NoReturn:
    """Saving the trained model failed after training: save it where it can be, say where.

    Tries the current folder, then the system's temporary folder; always raises a
    :class:`~mlplab.errors.ModelFileError` whose one line says what failed and where the
    model went.
    """
    from ...io.model import save

    name = f"mlplab-rescued-{os.getpid()}.safetensors"
    for folder in (Path.cwd(), Path(tempfile.gettempdir())):
        try:
            path = save(net, folder / name, extra=extra)
        except (MlplabError, OSError):
            continue
        raise ModelFileError(f"{one_line(failure)}; the trained model was saved to "
                             f"{path.resolve()} instead") from None
    raise ModelFileError(f"{one_line(failure)}; the trained model could not be saved "
                         "anywhere else either (current and temporary folders)") from None


# ---------------------------------------------------------------- shared options
def csv_option():
    """``--csv FILE``, the other spelling of a CSV file given as DATA."""
    return typer.Option(None, help="A CSV file: the same as giving it as DATA.")


def encoding_option():
    """``--encoding``, for the commands that read a CSV file."""
    return typer.Option(None, help="CSV: its text encoding, e.g. latin-1 (default: UTF-8, "
                        "else Latin-1 with a warning).")


def data_source(data: str | None, csv: Path | None) -> str | None:
    """DATA or ``--csv FILE``, given once (both may name the same file)."""
    if csv is not None and data is not None and Path(data) != Path(csv):
        raise ConfigError(f"give the data once: DATA {data} and --csv {csv} differ")
    return str(csv) if csv is not None else data


# ---------------------------------------------------------------- option values
def parse_ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated integers like 2,2,1; got {text!r}") from None
    return values


def parse_floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated numbers like 1,0; got {text!r}") from None


class _ReaderMayLeave:
    """Standard output that outlives its reader (``mlplab train --out DIR | head -1``): once
    the pipe is closed, what is printed goes to /dev/null instead of raising BrokenPipeError,
    so the command still finishes its work and saves its files."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())  # Python's own advice for SIGPIPE
        os.close(devnull)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def main() -> None:
    """Entry point of the ``mlplab`` command."""
    if not isinstance(sys.stdout, _ReaderMayLeave) and hasattr(sys.stdout, "fileno"):
        sys.stdout = _ReaderMayLeave(sys.stdout)
    app(prog_name="mlplab")


__all__ = ["app", "command", "console", "err_console", "user_errors", "check_output",
           "refuse_inputs", "file_format", "load_model", "output_folder", "rescue_save", "csv_option", "encoding_option", "data_source",
           "parse_ints", "parse_floats", "printable", "main"]
