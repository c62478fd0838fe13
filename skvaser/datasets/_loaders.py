"""Loaders of session click logs: a generic CSV/TSV reader and the raw benchmark formats.

Files are read chunk by chunk with numpy's C parser, so memory stays close to the size of the
returned arrays and a few hundred thousand clicks load in well under a second.
"""

import csv
import gzip
import os
import warnings
from datetime import datetime, timezone
from itertools import chain

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

__all__ = ["load_click_log", "load_yoochoose_clicks", "load_diginetica_views", "encode_items"]

_CHUNK_CHARS = 1 << 23
_SEPARATORS = (",", "\t", ";")
_GZIP_MAGIC = b"\x1f\x8b"


# --------------------------------------------------------------------------- reading text
def _open_text(path):
    """Open ``path`` for reading text, decompressing it when it starts with gzip's magic bytes."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    opener = gzip.open if magic == _GZIP_MAGIC else open
    return opener(path, "rt", encoding="utf-8-sig")


def _sniff_separator(line, path):
    counts = {sep: line.count(sep) for sep in _SEPARATORS}
    sep = max(_SEPARATORS, key=counts.get)
    if counts[sep] == 0:
        raise ValueError(
            f"{path}: could not detect the column separator (',', tab or ';') in its first line "
            f"{line.rstrip()!r}; pass sep=..."
        )
    return sep


def _split_line(line, sep):
    return next(csv.reader([line], delimiter=sep))


def _read_table(path, columns, *, sep=None, header=True):
    """Yield the given columns of a delimited text file as string arrays, chunk by chunk.

    Parameters
    ----------
    path : str or path-like
    columns : list of str or list of int
        Column names (``header=True``) or 0-based field positions (``header=False``).
    sep : str or None
        Field separator; None detects ``,``, tab or ``;`` from the first line.
    header : bool
        Whether the first line holds column names.

    Yields
    ------
    first_row : int
        0-based index, among the data rows (blank lines and header excluded), of the chunk's
        first row.
    block : ndarray of str, shape (n_rows, len(columns))
    """
    with _open_text(path) as file:
        first = file.readline()
        if not first.strip():
            raise ValueError(f"{path}: the file is empty.")
        sep = _sniff_separator(first, path) if sep is None else sep
        if header:
            names = [name.strip() for name in _split_line(first, sep)]
            missing = [name for name in columns if name not in names]
            if missing:
                raise ValueError(
                    f"{path}: no column named {', '.join(map(repr, missing))}; the file's "
                    f"columns are {names} (separator {sep!r}). Pass the names with "
                    "session_col=, item_col=, time_col= (and sep= if the separator is wrong)."
                )
            usecols = [names.index(name) for name in columns]
            chunks = _line_chunks(file)
        else:
            usecols = list(columns)
            chunks = chain([[first.rstrip("\n")]], _line_chunks(file))
        n_rows = 0
        for lines in chunks:
            block = _parse_chunk(lines, sep, usecols, path)
            if len(block):
                yield n_rows, block
            n_rows += len(block)
        if n_rows == 0:
            raise ValueError(f"{path}: the file has no data rows below its header.")


def _line_chunks(file):
    """Yield the remaining lines of ``file`` (newlines removed) in lists of about 8 MB."""
    tail = ""
    while text := file.read(_CHUNK_CHARS):
        lines = (tail + text).split("\n")
        tail = lines.pop()
        yield lines
    if tail:
        yield [tail]


def _parse_chunk(lines, sep, usecols, path):
    try:
        with warnings.catch_warnings():
            # numpy notes blank lines ("Input line N contained no data"); they are skipped.
            warnings.filterwarnings("ignore", message="Input line", category=UserWarning)
            warnings.filterwarnings(
                "ignore", message="loadtxt: input contained", category=UserWarning
            )
            return np.loadtxt(
                lines,
                dtype=str,
                delimiter=sep,
                comments=None,
                quotechar='"',
                usecols=usecols,
                ndmin=2,
            )
    except ValueError as exc:
        for line in lines:
            fields = _split_line(line, sep) if line.strip() else None
            if fields is not None and len(fields) <= max(usecols):
                raise ValueError(
                    f"{path}: a row has {len(fields)} field(s) but {max(usecols) + 1} are needed: "
                    f"{line.rstrip()!r}"
                ) from exc
        raise ValueError(f"{path}: could not be read as {sep!r}-separated text: {exc}") from exc


# --------------------------------------------------------------------------- columns
class _IdColumn:
    """Collect an id column chunk by chunk as per-chunk uniques and codes."""

    def __init__(self):
        self._uniques, self._codes = [], []

    def add(self, values):
        uniques, codes = np.unique(values, return_inverse=True)
        self._uniques.append(uniques)
        self._codes.append(codes)

    def result(self):
        """Return ``(uniques, codes)``: sorted distinct strings and each row's index into them."""
        uniques = np.unique(np.concatenate(self._uniques))
        codes = np.concatenate(
            [np.searchsorted(uniques, u)[c] for u, c in zip(self._uniques, self._codes)]
        )
        return uniques, codes.astype(np.int64)


def _as_integers(strings):
    """``strings`` as int64 if every one is an integer literal, else None."""
    try:
        return strings.astype(np.int64)
    except (ValueError, OverflowError):
        return None


def _session_ids(column):
    uniques, codes = column.result()
    as_int = _as_integers(uniques)
    return (uniques if as_int is None else as_int)[codes]


def _item_ids(column, encode, path, name):
    """Item ids as int64 and their encoding (None when not encoded), following ``encode``."""
    uniques, codes = column.result()
    as_int = _as_integers(uniques)
    valid = as_int is not None and not (as_int < 0).any()
    if encode == "auto":
        encode = not valid
    if encode:
        # Integer ids are ordered (and deduplicated: "007" is 7) as numbers, not as strings.
        mapping, remap = np.unique(uniques if as_int is None else as_int, return_inverse=True)
        return remap[codes].astype(np.int64), mapping
    if not valid:
        if as_int is None:
            bad = next(u for u in uniques if _as_integers(np.array([u])) is None)
        else:
            bad = uniques[np.argmax(as_int < 0)]
        raise ValueError(
            f"{path}: column {name!r} holds {str(bad)!r}, not a non-negative integer id; "
            "use encode_items='auto' or True to encode such ids."
        )
    return as_int[codes], None


class _TimeColumn:
    """Parse a timestamp column chunk by chunk into seconds (or a numeric order key).

    ``numeric`` is True for numbers, False for dates (ISO-8601 or ``time_format``), None to
    decide from the first non-empty value.
    """

    def __init__(self, path, name, *, numeric=None, time_format=None, missing_time="error"):
        self.path, self.name = path, name
        self.time_format, self.missing_time = time_format, missing_time
        self.numeric = False if time_format is not None else numeric
        self._parts, self._missing = [], []

    def _parse(self, values):
        if self.numeric:
            return _parse_numbers(values)
        return _parse_dates(values, self.time_format)

    def add(self, first_row, values):
        missing = values == ""
        if missing.any() and self.missing_time == "error":
            row = first_row + int(np.argmax(missing)) + 1
            raise ValueError(
                f"{self.path}: column {self.name!r} is empty on data row {row}. If the rows are "
                "in time order, pass missing_time='file_order' to order untimed rows by their "
                "position in the file."
            )
        present = values[~missing]
        if not len(present):
            self._missing.append(missing)
            return
        if self.numeric is None:
            self.numeric = _is_number(present[0])
        times = self._parse(present)
        if times is None:
            bad = next(v for v in np.unique(present) if self._parse(np.array([v])) is None)
            row = first_row + int(np.flatnonzero(~missing)[np.argmax(present == bad)]) + 1
            if self.numeric:
                expected = "a number"
            elif self.time_format:
                expected = f"a date in the format {self.time_format!r}"
            else:
                expected = "an ISO-8601 date (pass time_format=... for other formats)"
            raise ValueError(
                f"{self.path}: cannot parse the timestamp {str(bad)!r} in column {self.name!r} "
                f"(data row {row}); expected {expected}."
            )
        self._parts.append(times)
        self._missing.append(missing)

    def result(self):
        """Return int64 (integer times, file-order keys) or float64 (seconds) of all rows."""
        missing = np.concatenate(self._missing)
        present = np.concatenate(self._parts) if self._parts else np.zeros(0, np.int64)
        if not missing.any():
            return present
        n_missing = int(missing.sum())
        start = present.min() if len(present) else n_missing
        times = np.empty(len(missing), dtype=present.dtype)
        times[~missing] = present
        times[missing] = start - n_missing + np.arange(n_missing)
        return times


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_numbers(values):
    """Numbers as int64 (all integer literals) or finite float64; None if one is not a number."""
    as_int = _as_integers(values)
    if as_int is not None:
        return as_int
    try:
        numbers = values.astype(np.float64)
    except ValueError:
        return None
    return numbers if np.isfinite(numbers).all() else None


def _parse_dates(values, time_format=None):
    """Dates as float64 unix seconds (naive dates are UTC); None if one does not parse."""
    if time_format is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # numpy warns about UTC offsets it would drop
                stamps = np.char.rstrip(values, "Z").astype("datetime64[us]")
            if not np.isnat(stamps).any():
                return stamps.astype(np.int64) / 1e6
        except (ValueError, Warning):
            pass  # offsets such as +02:00, or not ISO-8601 at all: parse value by value
    uniques, codes = np.unique(values, return_inverse=True)
    seconds = np.empty(len(uniques))
    for k, text in enumerate(uniques):
        try:
            if time_format is None:
                stamp = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
            else:
                stamp = datetime.strptime(str(text), time_format)
        except ValueError:
            return None
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        seconds[k] = stamp.timestamp()
    return seconds[codes]


# --------------------------------------------------------------------------- public loaders
@validate_params(
    {
        "path": [str, os.PathLike],
        "session_col": [str],
        "item_col": [str],
        "time_col": [str, None],
        "split_col": [str, None],
        "sep": [str, None],
        "time_format": [str, None],
        "missing_time": [StrOptions({"error", "file_order"})],
        "encode_items": ["boolean", StrOptions({"auto"})],
    },
    prefer_skip_nested_validation=True,
)
def load_click_log(
    path,
    *,
    session_col="session_id",
    item_col="item_id",
    time_col="timestamp",
    split_col=None,
    sep=None,
    time_format=None,
    missing_time="error",
    encode_items="auto",
):
    """Load a click log from a delimited text file (CSV, TSV, ...; plain or gzip).

    The file has a header line naming its columns; one row is one click. This reads the
    ``session_id,item_id,timestamp,split`` benchmark files, GRU4Rec's ``SessionId\\tItemId\\tTime``
    files (``session_col="SessionId", item_col="ItemId", time_col="Time"``) and any other log with
    the column names given.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip compression is detected from the file's first bytes, whatever its name.
    session_col : str, default="session_id"
        Column of session ids.
    item_col : str, default="item_id"
        Column of item ids.
    time_col : str or None, default="timestamp"
        Column of click times: numbers (kept as they are: unix seconds or an order key) or dates
        (ISO-8601, or ``time_format``; converted to unix seconds, naive dates taken as UTC).
        None: no time column; the timestamps are the rows' positions in the file.
    split_col : str or None, default=None
        Column naming each row's part of a published split (such as ``"train"``, ``"test"``).
    sep : str or None, default=None
        Field separator. None detects ``,``, tab or ``;`` from the first line.
    time_format : str or None, default=None
        :func:`datetime.datetime.strptime` format of the times, such as ``"%d/%m/%Y %H:%M"``.
        None reads numbers or ISO-8601 dates.
    missing_time : {"error", "file_order"}, default="error"
        What to do with rows whose time is empty. ``"error"`` raises. ``"file_order"`` is for
        files whose rows are in time order but whose older part has no times (RetailRocket's
        training rows): untimed rows get consecutive integer keys in file order, placed before
        every timed row, so they sort before them.
    encode_items : "auto" or bool, default="auto"
        Whether to replace item ids by codes ``0..n_items-1``. ``"auto"`` encodes them unless
        every id is a non-negative integer; True always encodes (codes follow the ids' sorted
        order); False never does and raises if an id is not a non-negative integer.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Arrays of shape (n_clicks,), in file order:

        session_ids : ndarray of int64 (or str when an id is not an integer)
            Session of each click.
        item_ids : ndarray of int64
            Item ids, or their codes when encoded.
        timestamps : ndarray of int64 or float64
            Seconds since 1970-01-01 UTC for dates, the column's numbers (int64 when all are
            integers) otherwise, or positions in the file without a time column.
        split : ndarray of str or None
            The ``split_col`` values; None without ``split_col``.
        item_encoding : ndarray or None
            The original item id of each code (``item_encoding[code]``); None when not encoded.

    Raises
    ------
    ValueError
        If the file is empty or has no data rows, a column is missing (the message lists the
        file's columns), a row is too short, or a timestamp is empty or cannot be parsed (the
        message names the value and its row).

    See Also
    --------
    encode_items : The item encoding used here.
    load_yoochoose_clicks, load_diginetica_views : Loaders of the raw benchmark formats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skvaser.datasets import load_click_log
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clicks.tsv"
    >>> _ = path.write_text("SessionId\\tItemId\\tTime\\n"
    ...                     "1\\tshoe\\t10.5\\n1\\tsock\\t12\\n2\\tshoe\\t30\\n")
    >>> data = load_click_log(path, session_col="SessionId", item_col="ItemId", time_col="Time")
    >>> data.session_ids, data.item_ids, data.timestamps
    (array([1, 1, 2]), array([0, 1, 0]), array([10.5, 12. , 30. ]))
    >>> data.item_encoding[data.item_ids]
    array(['shoe', 'sock', 'shoe'], dtype='<U4')
    """
    columns = [session_col, item_col] + [c for c in (time_col, split_col) if c is not None]
    sessions, items, splits = _IdColumn(), _IdColumn(), _IdColumn()
    times = None
    if time_col is not None:
        times = _TimeColumn(path, time_col, time_format=time_format, missing_time=missing_time)
    n_rows = 0
    for first_row, block in _read_table(path, columns, sep=sep, header=True):
        sessions.add(block[:, 0])
        items.add(block[:, 1])
        if times is not None:
            times.add(first_row, block[:, 2])
        if split_col is not None:
            splits.add(block[:, -1])
        n_rows = first_row + len(block)
    item_ids, item_encoding = _item_ids(items, encode_items, path, item_col)
    split = None
    if split_col is not None:
        names, codes = splits.result()
        split = np.array(names.tolist())[codes]  # the narrowest string dtype
    return Bunch(
        session_ids=_session_ids(sessions),
        item_ids=item_ids,
        timestamps=np.arange(n_rows, dtype=np.int64) if times is None else times.result(),
        split=split,
        item_encoding=item_encoding,
    )


@validate_params({"path": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def load_yoochoose_clicks(path):
    """Load the raw ``yoochoose-clicks.dat`` of the RecSys Challenge 2015 (YOOCHOOSE).

    The file has no header; its rows are ``session,timestamp,item,category`` with ISO-8601 times
    such as ``2014-04-06T20:21:58.444Z``. The category is not returned.

    Parameters
    ----------
    path : str or path-like
        The file, plain or gzip-compressed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        session_ids : ndarray of int64, shape (n_clicks,)
            Session of each click.
        item_ids : ndarray of int64, shape (n_clicks,)
            The shop's item ids.
        timestamps : ndarray of float64, shape (n_clicks,)
            Click times in seconds since 1970-01-01 UTC, millisecond precision.
        split : None
            This file has no published split.
        item_encoding : None
            Item ids are not encoded.

    Raises
    ------
    ValueError
        If the file is empty, a row is too short or a time cannot be parsed.

    See Also
    --------
    preprocess : The papers' filtering and temporal split of these clicks.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skvaser.datasets import load_yoochoose_clicks
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "yoochoose-clicks.dat"
    >>> _ = path.write_text("1,2014-04-07T10:51:09.277Z,214536502,0\\n"
    ...                     "1,2014-04-07T10:54:09.868Z,214536500,0\\n")
    >>> data = load_yoochoose_clicks(path)
    >>> data.item_ids, data.timestamps
    (array([214536502, 214536500]), array([1.39686787e+09, 1.39686805e+09]))
    """
    sessions, items = _IdColumn(), _IdColumn()
    times = _TimeColumn(path, "timestamp (field 2)", numeric=False)
    for first_row, block in _read_table(path, [0, 1, 2], sep=",", header=False):
        sessions.add(block[:, 0])
        times.add(first_row, block[:, 1])
        items.add(block[:, 2])
    item_ids, _ = _item_ids(items, False, path, "item (field 3)")
    return Bunch(
        session_ids=_session_ids(sessions),
        item_ids=item_ids,
        timestamps=times.result().astype(np.float64),
        split=None,
        item_encoding=None,
    )


@validate_params({"path": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def load_diginetica_views(path):
    """Load the raw DIGINETICA ``train-item-views.csv`` (CIKM Cup 2016).

    The file has the header ``session_id;user_id;item_id;timeframe;eventdate``. As in SR-GNN's
    preprocessing, a click's time is its ``eventdate`` (a day) plus its ``timeframe``
    (milliseconds since the session started), which orders the clicks of a session.

    Parameters
    ----------
    path : str or path-like
        The file, plain or gzip-compressed.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        session_ids : ndarray of int64, shape (n_clicks,)
            Session of each click.
        item_ids : ndarray of int64, shape (n_clicks,)
            Clicked item of each click.
        timestamps : ndarray of float64, shape (n_clicks,)
            ``eventdate`` as seconds since 1970-01-01 UTC plus ``timeframe / 1000``.
        split : None
            This file has no published split.
        item_encoding : None
            Item ids are not encoded.

    Raises
    ------
    ValueError
        If the file is empty, a column is missing or a date or timeframe cannot be parsed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skvaser.datasets import load_diginetica_views
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train-item-views.csv"
    >>> _ = path.write_text("session_id;user_id;item_id;timeframe;eventdate\\n"
    ...                     "1;NA;81766;526309;2016-05-09\\n1;NA;31331;1031018;2016-05-09\\n")
    >>> data = load_diginetica_views(path)
    >>> (data.timestamps - 1462752000).round(3)  # seconds after 2016-05-09 00:00 UTC
    array([ 526.309, 1031.018])
    """
    columns = ["session_id", "item_id", "timeframe", "eventdate"]
    sessions, items = _IdColumn(), _IdColumn()
    frames = _TimeColumn(path, "timeframe", numeric=True)
    days = _TimeColumn(path, "eventdate", numeric=False)
    for first_row, block in _read_table(path, columns, sep=";", header=True):
        sessions.add(block[:, 0])
        items.add(block[:, 1])
        frames.add(first_row, block[:, 2])
        days.add(first_row, block[:, 3])
    item_ids, _ = _item_ids(items, False, path, "item_id")
    return Bunch(
        session_ids=_session_ids(sessions),
        item_ids=item_ids,
        timestamps=days.result().astype(np.float64) + frames.result() / 1000.0,
        split=None,
        item_encoding=None,
    )


def encode_items(item_ids):
    """Replace item ids of any type by integer codes ``0..n_items-1``.

    Parameters
    ----------
    item_ids : array-like of shape (n_clicks,)
        Item ids: strings, integers or any sortable values.

    Returns
    -------
    codes : ndarray of int64, shape (n_clicks,)
        Code of each click's item; codes follow the sorted order of the ids.
    mapping : ndarray of shape (n_items,)
        The sorted distinct ids: ``mapping[codes]`` gives ``item_ids`` back.

    Examples
    --------
    >>> from skvaser.datasets import encode_items
    >>> codes, mapping = encode_items(["b", "a", "b", "c"])
    >>> codes
    array([1, 0, 1, 2])
    >>> mapping[codes]
    array(['b', 'a', 'b', 'c'], dtype='<U1')
    """
    ids = np.asarray(item_ids)
    if ids.ndim != 1:
        raise ValueError(f"item_ids must be 1-D; got an array of shape {ids.shape}.")
    mapping, codes = np.unique(ids, return_inverse=True)
    return codes.astype(np.int64).reshape(-1), mapping
