"""sublab's protocol for a Python program run by the ``command`` runner (docs/protocol.md).

    import sublab

    p = sublab.params()                  # the run's parameters (JSON on stdin), read once
    sublab.log("epoch", 1, "loss", 0.3)  # to stderr, kept in the run's log
    sublab.emit(accuracy=0.93, loss=0.2) # one result row on stdout (or emit({"accuracy": 0.93}))

    with sublab.stage("teacher", {"width": p["width"], "seed": p["seed"]}, code=["teacher.py"]) as t:
        if not t.done:                   # not stored yet: fill the folder t.dir
            train_teacher(out=t.dir)
    # t.dir now holds the stored artifact, computed once for every run with these inputs

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
import shutil
import stat
import sys
import tempfile
import threading

PROTOCOL_VERSION = 1
__all__ = ["params", "emit", "log", "stage", "Stage", "ProtocolError", "PROTOCOL_VERSION"]


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



# ---- stages ---------------------------------------------------------------------------------------
# sublab answers stage requests on a control channel, the file descriptor named by SUBLAB_STAGE_FD
# (3): one JSON line each way (src/runners/command/stage-channel.ts), so stdout stays for rows.

_channel = None  # the descriptor, or False when not run by sublab
_inbox = b""
_lock = threading.Lock()  # one request at a time, whichever thread asks
_standalone_noted = False


def _stage_fd():
    global _channel
    if _channel is not None:
        return _channel
    text = os.environ.get("SUBLAB_STAGE_FD", "")
    if not text:
        _channel = False
        return _channel
    try:
        fd = int(text)
        is_socket = stat.S_ISSOCK(os.fstat(fd).st_mode)
    except (ValueError, OSError):
        is_socket = False
    if not is_socket:
        raise ProtocolError(
            "stage(): SUBLAB_STAGE_FD=%s is not sublab's stage channel here; only the program sublab "
            "started can open stages (a process it starts inherits the variable but not the channel)" % text
        )
    _channel = fd
    return _channel


def _request(message):
    with _lock:
        return _exchange(message)


def _exchange(message):
    global _inbox
    fd = _stage_fd()
    data = (json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")
    while data:
        data = data[os.write(fd, data):]
    while b"\n" not in _inbox:
        chunk = os.read(fd, 65536)
        if not chunk:
            raise ProtocolError("stage(): sublab closed the stage channel")
        _inbox += chunk
    line, _inbox = _inbox.split(b"\n", 1)
    answer = json.loads(line.decode("utf-8"))
    if not answer.get("ok"):
        raise ProtocolError("stage(): %s" % answer.get("error"))
    return answer


class Stage:
    """One stage of the run: ``dir`` (its folder) and ``done`` (whether it holds a finished artifact).
    When not done, fill ``dir``; leaving the ``with`` block commits it (``commit()`` without one),
    an exception discards it."""

    def __init__(self, name, key, dir, done):
        self.name = name
        self.key = key
        self.dir = dir
        self.done = done
        self._open = not done

    def __repr__(self):
        return "Stage(%r, dir=%r, done=%r)" % (self.name, self.dir, self.done)

    def path(self, *parts):
        """A path inside the stage's folder: ``t.path("weights.json")``."""
        return os.path.join(self.dir, *parts)

    def commit(self):
        """Store what the program wrote into ``dir`` (atomically); ``dir`` then names the artifact."""
        if not self._open:
            return
        self._open = False
        if self.key is not None:
            self.dir = _request({"op": "commit", "name": self.name})["dir"]
        self.done = True

    def discard(self):
        """Give the stage up: its folder is removed, nothing is stored."""
        if not self._open:
            return
        self._open = False
        if self.key is not None:
            _request({"op": "discard", "name": self.name})

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.commit()
        else:
            try:
                self.discard()
            except (ProtocolError, OSError):
                pass  # the block's own exception matters; sublab discards what a run leaves open
        return False


def _stage_name(item):
    if isinstance(item, Stage):
        return item.name
    if isinstance(item, str):
        return item
    raise ProtocolError("stage(after=...): name upstream stages by name or Stage, not %s" % type(item).__name__)


def stage(name, inputs=None, after=(), code=None):
    """The stage ``name`` of this run, for these ``inputs`` (JSON: what the stage's result depends
    on), after the stages ``after`` (names or Stage objects of this run: their keys are part of this
    one's), computed by ``code`` (files, folders, patterns relative to cwd; default: the whole
    program). Returns a Stage; use it in a ``with`` block (docs/protocol.md, "Stages")."""
    global _standalone_noted
    if not isinstance(name, str):
        raise ProtocolError("stage(name, ...): the name is a string, not %s" % type(name).__name__)
    if isinstance(after, (str, Stage)):
        after = [after]
    if isinstance(code, str):
        code = [code]
    if code is not None:
        code = list(code)
        if not all(isinstance(c, str) for c in code):
            raise ProtocolError("stage(code=...): a list of files, folders or patterns relative to cwd")
    message = {"op": "stage", "name": name, "inputs": {} if inputs is None else inputs, "after": [_stage_name(a) for a in after], "code": code}
    try:
        json.dumps(message["inputs"], allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ProtocolError("stage(%r, inputs): inputs must be JSON (dicts, lists, strings, finite numbers, booleans, None): %s" % (name, e)) from None
    if not _stage_fd():
        # Run alone (not by sublab): compute into a temporary folder, kept until the program exits.
        folder = tempfile.mkdtemp(prefix="sublab-stage-%s-" % name)
        atexit.register(shutil.rmtree, folder, True)
        if not _standalone_noted:
            _standalone_noted = True
            log("sublab: not run by sublab: stages are computed into temporary folders and not kept")
        return Stage(name, None, folder, False)
    answer = _request(message)
    return Stage(name, answer["key"], answer["dir"], answer["done"])
