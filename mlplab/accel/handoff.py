"""A worker thread that takes one task at a time from the calling thread, and hands it back,
without either thread falling asleep in between.

A thread that sleeps (on a lock, an event, the GIL) takes tens of microseconds to wake on a
virtual machine, where its idle CPU has halted: on this project's 2-vCPU machine a round trip
through ``concurrent.futures`` took ~90 µs, and the recurrent step's two halves
(:mod:`mlplab.accel.rnn_base`) lost ~0.4 ms a step to such wake-ups. So each side first waits
by spinning, outside the GIL, on a flag in memory (a compiled loop of atomic reads and the
CPU's ``pause``) for up to :data:`SPIN` tries (about a millisecond), and only then sleeps on
an event: while training, the worker is awake when its next task comes; idle, it sleeps.

One task at a time: :meth:`Worker.submit` waits while another thread's task is in flight.
A forked child makes a worker of its own (:func:`worker`). Needs numba (the spinning loop);
callers check :func:`available`.
"""

from __future__ import annotations

import functools
import os
import threading

import numpy as np

SPIN = 20_000  # tries (each a `pause`, ~50 ns) before a side sleeps
_workers: dict[int, "Worker"] = {}  # process id: its worker
_lock = threading.Lock()


def available() -> bool:
    """True where numba can compile the spinning wait."""
    return _spin() is not None


def worker() -> "Worker":
    """The process's worker (made on first use)."""
    with _lock:
        made = _workers.get(os.getpid())
        if made is None:
            _workers.clear()  # a forked child: the parent's thread is not in this process
            made = _workers[os.getpid()] = Worker()
        return made


class Worker:
    """One daemon thread running the tasks :meth:`submit` gives it."""

    def __init__(self):
        self._ready, self._done = np.zeros(1, np.int64), np.zeros(1, np.int64)
        self._wake, self._finished = threading.Event(), threading.Event()
        self._one = threading.Lock()  # one task in flight
        self._task = self._value = self._error = None
        threading.Thread(target=self._run, name="mlplab-worker", daemon=True).start()

    def submit(self, fn, *args) -> "Worker":
        """Start ``fn(*args)`` on the worker; :meth:`result` (or :meth:`wait`) must follow."""
        self._one.acquire()
        self._task, self._value, self._error = (fn, args), None, None
        self._done[0] = 0
        self._finished.clear()
        self._ready[0] = 1
        self._wake.set()
        return self

    def wait(self) -> None:
        """Until the task has ended (its error, if any, kept for :meth:`result`); also when
        interrupted (the interruption is raised after it)."""
        self._end()

    def result(self):
        """The task's value, once it has ended; its error raised here."""
        value, error = self._end()
        if error is not None:
            raise error
        return value

    def _end(self):
        """Wait for the task (the done flag itself, not only the event: a late ``set`` of an
        earlier task's event must not end the wait), take its value and error, release."""
        if self._task is None:
            return None, None
        spin = _spin()
        try:
            while not spin(self._done.ctypes.data, SPIN):
                self._finished.wait(0.05)
        finally:
            while self._done[0] != 1:  # interrupted: the task still ends before the release
                self._finished.wait(0.05)
            value, error = self._value, self._error
            self._task = self._value = self._error = None
            self._one.release()
        return value, error

    def _run(self) -> None:
        spin = _spin()
        while True:
            if not spin(self._ready.ctypes.data, SPIN):
                self._wake.wait()
            self._wake.clear()
            if self._ready[0] != 1:
                continue
            self._ready[0] = 0
            fn, args = self._task
            try:
                self._value = fn(*args)
            except BaseException as error:  # handed to the caller by result()
                self._error = error
            self._done[0] = 1
            self._finished.set()


@functools.cache
def _spin():
    """``spin(address, tries)``: True as soon as the int64 at ``address`` is 1, False after
    ``tries`` tries (None without numba)."""
    try:
        from ._spin import spin
    except ImportError:
        return None
    return spin
