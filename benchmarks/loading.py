"""Loading speed: ``load_click_log`` beside ``pandas.read_csv``, and a YOOCHOOSE-sized raw log.

    python benchmarks/loading.py                      # both parts
    python benchmarks/loading.py --repeats 5          # the median of 5 side-by-side runs
    python benchmarks/loading.py --n-clicks 3000000   # a smaller synthetic log

Part 1 reads DIGINETICA's 982,961-click benchmark file (``../shared/data/diginetica.csv.gz``,
``session_id,item_id,timestamp,split``) ``--repeats`` times with ``pandas.read_csv(path)`` alone
(pandas' defaults) and with ``load_click_log(path, split_col="split")`` (checked columns, ids,
times in seconds, the split), alternating which goes first, and prints the wall and CPU
seconds of each and the median ratio: the target is at most 2x.

Part 2 writes a synthetic log in the raw ``yoochoose-clicks.dat`` format (``session,ISO-8601
time,item,category``, no header) with YOOCHOOSE's size -- 33,003,944 clicks by default, in
sessions of 1 to 20 clicks over six months, items drawn with Zipf-like popularity from 52,739
ids -- to a temporary file, then loads it with ``load_yoochoose_clicks`` in a fresh process and
prints the seconds and the peak resident memory of that process (the kernel's high-water mark,
``VmHWM``) beside its memory before loading and the size of the arrays returned.

The machine's CPU, its flags that matter to pyarrow, the threads pyarrow may use and the load
average are printed along the way: on a shared machine, wall times move with the load.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from _data import data_file
from _machine import cpu, load

from skvaser.datasets import load_click_log, load_yoochoose_clicks

YOOCHOOSE_CLICKS, YOOCHOOSE_ITEMS = 33_003_944, 52_739
CHUNK = 2_000_000


def machine():
    """CPU model, its flags, the cores and pyarrow's threads."""
    return (
        f"{cpu()}; {os.cpu_count()} cores, pyarrow {pa.__version__} with "
        f"{pa.cpu_count()} CPU threads, pandas {pd.__version__}, numpy {np.__version__}"
    )


def timed(function):
    """``(result, wall seconds, CPU seconds)`` of ``function()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def side_by_side(path, repeats):
    """Part 1: the wall and CPU seconds of pandas.read_csv and load_click_log, alternated."""
    readers = {
        "pandas.read_csv": lambda: pd.read_csv(path),
        "load_click_log": lambda: load_click_log(path, split_col="split"),
    }
    for reader in readers.values():  # both pay their imports and first calls before timing
        reader()
    seconds = {name: [] for name in readers}
    for repeat in range(repeats):
        order = list(readers) if repeat % 2 == 0 else list(reversed(readers))
        for name in order:
            result, wall, cpu = timed(readers[name])
            seconds[name].append((wall, cpu))
            rows = len(result) if isinstance(result, pd.DataFrame) else len(result.item_ids)
            print(f"  run {repeat + 1}: {name:15s} {wall:6.3f} s (CPU {cpu:6.3f} s), "
                  f"{rows:,} rows ({load()})", flush=True)
    ratios = [ours[0] / theirs[0] for ours, theirs in
              zip(seconds["load_click_log"], seconds["pandas.read_csv"])]
    cpu_ratios = [ours[1] / theirs[1] for ours, theirs in
                  zip(seconds["load_click_log"], seconds["pandas.read_csv"])]
    median = {name: statistics.median(wall for wall, _ in runs) for name, runs in seconds.items()}
    print(f"median: pandas.read_csv {median['pandas.read_csv']:.3f} s, load_click_log "
          f"{median['load_click_log']:.3f} s; load_click_log / read_csv: "
          f"{statistics.median(ratios):.2f}x wall, {statistics.median(cpu_ratios):.2f}x CPU "
          f"(target: at most 2x)", flush=True)


def write_yoochoose_like(path, n_clicks, seed=0):
    """A raw ``yoochoose-clicks.dat`` of ``n_clicks`` synthetic clicks, written in chunks."""
    rng = np.random.default_rng(seed)
    lengths = np.minimum(rng.geometric(1 / 3.6, size=n_clicks // 2), 20)
    lengths = lengths[: np.searchsorted(np.cumsum(lengths), n_clicks) + 1]
    lengths[-1] -= lengths.sum() - n_clicks
    starts = np.sort(rng.integers(1396310400_000, 1412121600_000, size=len(lengths)))  # 6 months
    popularity = 1 / np.arange(1, YOOCHOOSE_ITEMS + 1) ** 0.9
    catalogue = rng.choice(np.arange(214_500_000, 214_900_000), YOOCHOOSE_ITEMS, replace=False)
    session = np.repeat(np.arange(1, len(lengths) + 1), lengths)
    position = np.arange(n_clicks) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    with pa.OSFile(str(path), "wb") as sink:
        for first in range(0, n_clicks, CHUNK):
            rows = slice(first, min(first + CHUNK, n_clicks))
            n = rows.stop - rows.start
            millis = starts[session[rows] - 1] + position[rows] * rng.integers(5_000, 120_000, n)
            stamps = pa.array(millis.astype("datetime64[ms]"))
            table = pa.table({
                "session": session[rows],
                "time": pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ"),
                "item": catalogue[rng.choice(YOOCHOOSE_ITEMS, n, p=popularity / popularity.sum())],
                "category": pa.array(np.where(rng.random(n) < 0.9, "0", "S")),
            })
            pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False,
                                                               quoting_style="none"))


def resident(field):
    """``VmRSS`` or ``VmHWM`` (its peak) of this process in bytes, from ``/proc/self/status``."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def load_in_this_process(path):
    """Part 2's child: load ``path`` and print seconds and memory."""
    before = resident("VmRSS")
    data, wall, cpu = timed(lambda: load_yoochoose_clicks(path))
    peak = resident("VmHWM")
    returned = sum(array.nbytes for array in (data.session_ids, data.item_ids, data.timestamps))
    print(f"load_yoochoose_clicks: {len(data.item_ids):,} clicks, "
          f"{len(np.unique(data.session_ids)):,} sessions in {wall:.2f} s (CPU {cpu:.2f} s); "
          f"peak resident memory {peak / 2**30:.2f} GiB (before loading {before / 2**30:.2f} "
          f"GiB; the arrays returned {returned / 2**30:.2f} GiB) ({load()})", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="diginetica", help="the DIGINETICA benchmark file (a path or its name)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-clicks", type=int, default=YOOCHOOSE_CLICKS)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # part 2, in a fresh process
    args = parser.parse_args()
    if args.child:
        load_in_this_process(args.child)
        return
    print(f"{machine()} ({load()})", flush=True)
    path = data_file(args.data)
    print(f"\npart 1: {path}", flush=True)
    side_by_side(path, args.repeats)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "yoochoose-clicks.dat"
        _, wall, _ = timed(lambda: write_yoochoose_like(path, args.n_clicks))
        size = path.stat().st_size / 2**30
        print(f"\npart 2: wrote {args.n_clicks:,} synthetic clicks ({size:.2f} GiB) in "
              f"{wall:.0f} s ({load()})", flush=True)
        subprocess.run([sys.executable, __file__, "--child", str(path)], check=True)


if __name__ == "__main__":
    main()
