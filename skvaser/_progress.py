"""Progress through a long loop, shown the way the output can show it: a tqdm bar redrawn in
place on a terminal, else a plain line at every tenth of the work (logs, notebooks and CI keep
lines, not bars)."""

import sys
import time

from tqdm import tqdm

__all__ = ["PLAIN_LINES", "progress"]

#: Plain lines printed over one loop where the output is no terminal.
PLAIN_LINES = 10


def progress(items, *, total, title, unit, line, size=None):
    """Yield ``items`` while reporting how much of ``total`` is done, on standard output.

    Parameters
    ----------
    items : iterable
    total : int
        Units of work in ``items``: ``size(item)`` each, or 1 each without ``size``.
    title, unit : str
        The bar's description and unit.
    line : callable
        ``line(done, elapsed, left)`` -> str, the plain line after ``done`` units, ``elapsed``
        and (estimated) ``left`` seconds; printed about ``PLAIN_LINES`` times, never at the end.
    size : callable, optional
        Units of work of an item.
    """
    on_terminal = sys.stdout.isatty()
    bar = tqdm(total=total, desc=title, unit=unit, leave=False, file=sys.stdout,
               disable=not on_terminal)
    started, every = time.perf_counter(), total / PLAIN_LINES
    done, next_line = 0, every
    with bar:
        for item in items:
            yield item
            units = 1 if size is None else size(item)
            done += units
            bar.update(units)
            if not on_terminal and next_line <= done < total:
                elapsed = time.perf_counter() - started
                print(line(done, elapsed, elapsed * (total - done) / done), flush=True)
                next_line = done + every
