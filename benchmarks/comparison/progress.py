"""Progress of a run: the time elapsed and an estimate of the time to the end.

While models train, :class:`Progress` says every ``--progress-interval``
seconds how long the run has taken and how long it should still take: where
stderr is a terminal as a tqdm bar there, else as a plain line in the log,
on stdout with the other lines of the run (and without tqdm installed, plain
lines everywhere). ``--quiet`` silences it.

The estimate starts from each model's expected cost
(:func:`~.roster.expected_cost`) and follows the workers: each takes the next
model, in the order of the run, when it is free (:func:`schedule_end`). As
models finish, the remaining ones' costs are scaled by how much longer or
shorter the finished ones took than expected (:func:`refined_seconds`).
"""

import contextlib
import os
import sys
import threading
import time

# A model still running past its estimate is expected to need this share of
# its estimate more: the estimate moves on instead of sticking at zero.
OVERDUE_SHARE = 0.1
# Seconds between redraws of the bar in a terminal.
BAR_REFRESH = 1.0
# tqdm's bar: the models done, the share of the estimated time, the time
# elapsed and, as the postfix, the time to go.
BAR_FORMAT = "{desc} {percentage:3.0f}%|{bar}| {elapsed} elapsed{postfix}"
# Columns and lines of a terminal that does not tell its size.
DEFAULT_SIZE = (100, 24)


def format_seconds(seconds):
    """``seconds`` as m:ss, or h:mm:ss from an hour on."""
    minutes, seconds = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def refined_seconds(expected, observed):
    """The expected seconds of every model, rescaled by the finished ones.

    ``expected`` maps every model to its expected seconds, ``observed`` the
    finished ones to their measured seconds. A finished model keeps its
    measured time; the others are scaled by the ratio of the finished ones'
    measured to expected seconds (1 while none has finished).

    Examples
    --------
    >>> refined_seconds({"a": 10, "b": 20, "c": 40}, {"a": 15})
    {'a': 15, 'b': 30.0, 'c': 60.0}
    """
    done = [name for name in observed if expected.get(name)]
    planned = sum(expected[name] for name in done)
    factor = sum(observed[name] for name in done) / planned if planned else 1.0
    return {
        name: observed[name] if name in observed else seconds * factor
        for name, seconds in expected.items()
    }


def schedule_end(seconds, order, n_slots, elapsed, finished=()):
    """Seconds from the start of the run to the end of its last model.

    The models of ``order`` go to ``n_slots`` workers, each taking the next
    model when it is free, as joblib dispatches them; model ``name`` takes
    ``seconds[name]``. A model of ``finished`` ended by ``elapsed``; one not
    finished ends after ``elapsed``, at least :data:`OVERDUE_SHARE` of its
    time later when it runs past its estimate.

    Examples
    --------
    Two workers: ``a`` on one, ``b`` then ``c`` on the other.

    >>> seconds = {"a": 30, "b": 10, "c": 10}
    >>> schedule_end(seconds, ["a", "b", "c"], 2, elapsed=0)
    30.0

    At 40 s, ``b`` and ``c`` done and ``a`` overdue: 3 s more.

    >>> schedule_end(seconds, ["a", "b", "c"], 2, elapsed=40, finished={"b", "c"})
    43.0
    """
    free = [0.0] * max(1, n_slots)
    for name in order:
        slot = free.index(min(free))
        end = free[slot] + seconds[name]
        if name in finished:
            end = min(end, elapsed)
        else:
            end = max(end, elapsed + OVERDUE_SHARE * seconds[name])
        free[slot] = end
    return max(free)


def _size(stream):
    """tqdm's ``ncols`` and ``nrows`` for ``stream``: None where it tells them."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        size = os.terminal_size((0, 0))
    # tqdm draws nothing in a terminal of size 0 x 0 (such as script's).
    if size.columns > 0 and size.lines > 0:
        return {"ncols": None, "nrows": None}
    return {"ncols": DEFAULT_SIZE[0], "nrows": DEFAULT_SIZE[1]}


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: plain lines instead of a bar
        return None
    return tqdm


class Progress:
    """Elapsed time and time to go of the models of a run, while they train.

    Parameters
    ----------
    expected : dict
        Expected seconds of each model to run, in the order the workers take
        them.
    n_slots : int
        Models running side by side.
    interval : float
        Seconds between plain lines.
    enabled : bool
        False: silent (``--quiet``).
    stream : file, default=None
        Where the plain lines go; ``None``: ``sys.stdout``.
    bar_stream : file, default=None
        Where the bar goes, if it is a terminal (then instead of the lines);
        ``None``: ``sys.stderr``.

    Use it as a context manager around the run, and call :meth:`done` when a
    model finishes.
    """

    def __init__(
        self, expected, n_slots, *, interval, enabled=True, stream=None, bar_stream=None
    ):
        self.expected = dict(expected)
        self.n_slots = n_slots
        self.interval = interval
        self.enabled = enabled and bool(self.expected)
        self.stream = sys.stdout if stream is None else stream
        self.bar_stream = sys.stderr if bar_stream is None else bar_stream
        self.observed = {}
        self.skipped = set()
        self.bar = None
        self._lock = threading.Lock()
        # Lines of the run and progress lines, each written whole.
        self._output = threading.RLock()
        self._stop = threading.Event()
        self._thread = None
        self._start = None

    def estimate(self):
        """``(elapsed, to_go)`` in seconds, from the models finished so far."""
        elapsed = time.perf_counter() - self._start
        with self._lock:
            ran = {n: t for n, t in self.observed.items() if n not in self.skipped}
            seconds = refined_seconds(self.expected, ran)
            seconds |= dict.fromkeys(self.skipped, 0.0)
            finished = set(self.observed)
        end = schedule_end(
            seconds, list(self.expected), self.n_slots, elapsed, finished
        )
        return elapsed, max(0.0, end - elapsed)

    def line(self):
        """The plain progress line."""
        elapsed, to_go = self.estimate()
        return (
            f"progress: {format_seconds(elapsed)} elapsed, about "
            f"{format_seconds(to_go)} to go ({len(self.observed)} of "
            f"{len(self.expected)} model(s) done)"
        )

    def done(self, name, seconds, *, skipped=False):
        """Model ``name`` finished after ``seconds``, or was ``skipped``.

        A skipped model tells nothing of the others' costs.
        """
        with self._lock:
            self.observed[name] = seconds
            if skipped:
                self.skipped.add(name)
        if self.enabled:
            self._show()

    def write(self, log, lines):
        """``log`` each of ``lines``, with the bar of a terminal cleared around them."""
        clear = self.bar.external_write_mode if self.bar else contextlib.nullcontext
        with self._output, clear():
            for line in lines:
                log(line)

    def _show(self):
        with self._output:
            self._draw()

    def _draw(self):
        if self.bar is None:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            return
        elapsed, to_go = self.estimate()
        self.bar.total = round(elapsed + to_go, 1) or 1
        self.bar.n = round(elapsed, 1)
        self.bar.set_description_str(
            f"compare {len(self.observed)}/{len(self.expected)} models", refresh=False
        )
        self.bar.set_postfix_str(f"about {format_seconds(to_go)} to go", refresh=False)
        self.bar.refresh()

    def _beat(self):
        pause = self.interval if self.bar is None else min(self.interval, BAR_REFRESH)
        # Quiet once every model is done: the run is writing its report.
        while not self._stop.wait(pause) and len(self.observed) < len(self.expected):
            self._show()

    def __enter__(self):
        self._start = time.perf_counter()
        if not self.enabled:
            return self
        tqdm = _tqdm()
        if tqdm is not None and self.bar_stream.isatty():
            self.bar = tqdm(
                total=sum(self.expected.values()) / max(1, self.n_slots),
                desc=f"compare 0/{len(self.expected)} models",
                file=self.bar_stream,
                **_size(self.bar_stream),
                bar_format=BAR_FORMAT,
                leave=False,
            )
        self._show()  # the first estimate, at once
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.bar is not None:
            self.bar.close()
            self.bar = None
