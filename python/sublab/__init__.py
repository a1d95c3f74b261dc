"""sublab's protocol for a Python program run by the ``command`` runner (docs/protocol.md).

    import sublab

    p = sublab.params()                  # the run's parameters (JSON on stdin), read once
    sublab.log("epoch", 1, "loss", 0.3)  # to stderr, kept in the run's log
    sublab.emit(accuracy=0.93, loss=0.2) # one result row on stdout (or emit({"accuracy": 0.93}))

The command runner puts this package on PYTHONPATH. Importing it guards stdout: from then on,
stdout (file descriptor 1 too, so C extensions and child processes) goes to stderr, and rows take a
private copy of the real stdout. A line printed there that is a JSON object is still passed on as a
row; any other line goes to stderr, with one warning per source line naming file:line. Standard
library only; the JavaScript helper (``sublab/protocol``) has the same API.
"""

import atexit
import io
import json
import os
import sys

PROTOCOL_VERSION = 1
__all__ = ["params", "emit", "log", "PROTOCOL_VERSION"]


class ProtocolError(Exception):
    """A misuse of the protocol (a row that cannot be a row, stdin that is not parameters)."""


# ---- stdout: rows only --------------------------------------------------------------------------


def _open_rows():
    """Keep the real stdout for rows; point file descriptor 1 at stderr."""
    try:
        sys.stdout.flush()
        fd = os.dup(1)
        os.dup2(2, 1)
    except (OSError, AttributeError, ValueError):
        return None
    return io.TextIOWrapper(io.FileIO(fd, "w"), encoding="utf-8", line_buffering=True, write_through=True)


_rows = _open_rows()
_STDLIB = os.path.dirname(os.__file__)


def _write_row_line(line):
    (_rows or sys.__stdout__).write(line + "\n")


def _is_row(line):
    text = line.strip()
    if not text.startswith("{"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _caller():
    """file:line of the code that wrote: the first frame outside this module and the stdlib."""
    frame = sys._getframe(2)
    fallback = None
    while frame is not None:
        name = frame.f_code.co_filename
        if name != __file__:
            where = "%s:%d" % (_short(name), frame.f_lineno)
            if fallback is None:
                fallback = where
            if not name.startswith(_STDLIB):
                return where
        frame = frame.f_back
    return fallback or "an unknown place"


def _short(name):
    try:
        rel = os.path.relpath(name)
    except ValueError:
        return name
    return name if rel.startswith("..") else rel


class _StdoutGuard(io.TextIOBase):
    """sys.stdout after import: JSON-object lines pass as rows, anything else goes to stderr."""

    def __init__(self):
        super().__init__()
        self._pending = ""
        self._at = ""
        self._warned = set()

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        # Descriptor 1 now leads to stderr: code that writes to it directly cannot break the rows.
        return 1

    @property
    def buffer(self):
        # Code that writes bytes (sys.stdout.buffer.write) goes through the same guard.
        return _BytesGuard(self)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        if not self._pending:
            self._at = _caller()
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._line(line)
        return len(text)

    def flush(self):
        sys.stderr.flush()

    def finish(self):
        if self._pending:
            self._line(self._pending)
            self._pending = ""
        if _rows is not None:
            _rows.flush()

    def _line(self, line):
        if _is_row(line):
            _write_row_line(line.strip())
            return
        if line.strip() and self._at not in self._warned:
            self._warned.add(self._at)
            sys.stderr.write(
                "sublab: stdout carries result rows only; what %s printed there goes to stderr "
                "(use sublab.emit(row) for rows, sublab.log(...) for messages)\n" % self._at
            )
        sys.stderr.write(line + "\n")


class _BytesGuard:
    def __init__(self, text):
        self._text = text

    def write(self, data):
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self):
        self._text.flush()


if _rows is not None:
    _guard = _StdoutGuard()
    sys.stdout = _guard
    atexit.register(_guard.finish)


# ---- the API --------------------------------------------------------------------------------------

_params = None


def params():
    """The run's parameters: the JSON object sublab writes on stdin (every resolved parameter and
    ``seed``), read once. Empty stdin gives {} (running the program alone with ``</dev/null``)."""
    global _params
    if _params is not None:
        return _params
    if sys.stdin is None or sys.stdin.isatty():
        raise ProtocolError(
            "params(): stdin is a terminal, not the parameters; run the program through sublab, "
            "or alone with: echo '{\"seed\": 0}' | python3 %s" % (sys.argv[0] or "program.py")
        )
    text = sys.stdin.read()
    if not text.strip():
        _params = {}
        return _params
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ProtocolError("params(): stdin is not JSON (%s)" % e) from None
    if not isinstance(value, dict):
        raise ProtocolError("params(): stdin is not a JSON object")
    _params = value
    return _params


def _field(key, value):
    if not isinstance(key, str):
        raise ProtocolError("emit(row): field names are strings, got %r" % (key,))
    # numpy and torch scalars (np.float32, a 0-d tensor) become plain Python numbers.
    if not isinstance(value, (bool, int, float, str)) and hasattr(value, "item") and callable(value.item):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value  # NaN and ±inf are written as NaN / Infinity, which the runner reads
    kind = "None" if value is None else type(value).__name__
    raise ProtocolError(
        "emit(row): field %r is %s; fields are numbers (metrics), strings or booleans (key columns)" % (key, kind)
    )


def _row_line(row):
    if not row:
        raise ProtocolError("emit(row): the row has no fields")
    fields = {k: _field(k, v) for k, v in row.items()}
    return json.dumps(fields, allow_nan=True, separators=(",", ":"))


def emit(row=None, **fields):
    """Write one result row: ``emit({"accuracy": 0.93})`` or ``emit(accuracy=0.93, layer="mlp")``.
    Numbers are metrics; strings and booleans are key columns."""
    if row is not None and not isinstance(row, dict):
        raise ProtocolError("emit(row): a row is a dict like {'accuracy': 0.93}, not %s" % type(row).__name__)
    merged = dict(row or {})
    merged.update(fields)
    _write_row_line(_row_line(merged))


def log(*args, **kwargs):
    """Print a message for humans to stderr (kept in the run's log); takes print()'s arguments."""
    kwargs.pop("file", None)
    kwargs.setdefault("flush", True)
    print(*args, file=sys.stderr, **kwargs)

