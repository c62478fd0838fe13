"""Loaders of click logs: files (CSV/TSV, plain or compressed; Parquet), data frames, and the raw
benchmark formats.

pyarrow's CSV reader (the engine behind ``pandas.read_csv(engine="pyarrow")``) and pandas read
the files; this module checks the columns, keeps ids as they are (integers as int64, other ids
as an object array of strings) and turns times into seconds.
"""

import bz2
import csv
import lzma
import os
import zipfile
from numbers import Integral

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from sklearn.utils import Bunch

from .._sklearn import HasMethods, StrOptions, validate_params
from .._warnings import warn_at_caller
from ._preprocessing import _TIME_UNIT, _UNITS_PER_SECOND

__all__ = ["load_click_log", "load_yoochoose_clicks", "load_diginetica_views", "encode_items"]

_SEPARATORS = (",", "\t", ";")
#: Leading bytes of the compressed formats read, and the codec pyarrow names them by.
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"(\xb5/\xfd": "zstd"}
_PARQUET_MAGIC = b"PAR1"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZIP_MAGIC = b"PK\x03\x04"
_FIRST_LINE_BYTES = 1 << 16
#: Fields of a loaded log.
_FIELDS = ("session_ids", "item_ids", "timestamps", "user_ids", "event_types", "split")


# --------------------------------------------------------------------------- reading files
def _open_binary(path):
    """A binary stream of ``path``'s content, decompressed (gzip, bz2, xz, zstd, zip)."""
    with open(path, "rb") as file:
        magic = file.read(6)
    if magic.startswith(_XZ_MAGIC):
        return lzma.open(path, "rb")
    if magic.startswith(_ZIP_MAGIC):
        archive = zipfile.ZipFile(path)
        members = [name for name in archive.namelist() if not name.endswith("/")]
        if len(members) != 1:
            raise ValueError(f"{path}: a zip archive must hold one file; it holds {members}.")
        return archive.open(members[0])
    codec = next((codec for key, codec in _MAGIC.items() if magic.startswith(key)), None)
    if codec == "bz2":
        return bz2.open(path, "rb")
    return pa.input_stream(path, compression=codec)


def _first_line(path):
    """The first line of the (decompressed) text file, without its BOM and newline."""
    with _open_binary(path) as stream:
        head = b""
        while b"\n" not in head and (chunk := stream.read(_FIRST_LINE_BYTES)):
            head += chunk
    return head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")


def _sniff_separator(line, path):
    counts = {sep: line.count(sep) for sep in _SEPARATORS}
    sep = max(_SEPARATORS, key=counts.get)
    if counts[sep] == 0:
        raise ValueError(
            f"{path}: could not detect the column separator (',', tab or ';') in its first line "
            f"{line!r}; pass sep=..."
        )
    return sep


def _missing_columns_error(source, missing, present, *, sep=None):
    found = f"{source}: no column named {', '.join(map(repr, missing))}; its columns are {present}"
    if sep is not None:
        found += f" (separator {sep!r})"
    return ValueError(
        found + ". Pass the names with session_col=, item_col=, time_col= (and sep= if the "
        "separator is wrong, header=False if the file has no header)."
    )


def _is_parquet(path):
    with open(path, "rb") as file:
        return file.read(4) == _PARQUET_MAGIC


def _text_header(path, sep):
    """The first line of a text file, its separator (``sep``, or detected) and its fields."""
    line = _first_line(path)
    if not line.strip():
        raise ValueError(f"{path}: the file is empty.")
    sep = _sniff_separator(line, path) if sep is None else sep
    return line, sep, next(csv.reader([line], delimiter=sep))


def _file_columns(path, sep=None):
    """Column names of a Parquet file, or the fields of a text file's first line.

    Parameters
    ----------
    path : str or path-like
    sep : str or None
        Field separator of a text file; None detects it.

    Returns
    -------
    names : list of str
    """
    if _is_parquet(path):
        return pq.read_schema(path).names
    return _text_header(path, sep)[2]


def _read_file(path, columns, *, sep=None, header=True, text_columns=(), string_columns=()):
    """The given columns of a delimited text file or a Parquet file, as a DataFrame.

    Parameters
    ----------
    path : str or path-like
    columns : list of str or int
        Column names, or 0-based positions in a file without header (``header=False``).
    sep : str or None
        Field separator of a text file; None detects ``,``, tab or ``;`` from its first line.
    header : bool
        Whether the first line of a text file names its columns.
    text_columns : collection of str or int
        Columns (ids) read as text, which :func:`_ids` turns into integers only where that
        loses nothing (pyarrow would read ``"007"`` as 7 and ``"1.50"`` as 1.5).
    string_columns : collection of str or int
        Columns read as text whatever they hold (times in a ``time_format``).

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows, len(columns))
        pyarrow-backed columns labelled by ``columns``, with the types pyarrow infers (Parquet:
        the file's). Empty fields are missing values.
    """
    if _is_parquet(path):
        names = pq.read_schema(path).names
        missing = [name for name in columns if name not in names]
        if missing:
            raise _missing_columns_error(path, missing, names)
        return pd.read_parquet(path, columns=list(columns), dtype_backend="pyarrow")

    line, sep, fields = _text_header(path, sep)
    if header:
        missing = [name for name in columns if name not in fields]
        if missing:
            raise _missing_columns_error(path, missing, fields, sep=sep)
        read_options, labels = pa_csv.ReadOptions(), list(columns)
    else:
        too_far = [c for c in columns if not isinstance(c, Integral) or not 0 <= c < len(fields)]
        if too_far:
            raise ValueError(
                f"{path}: without a header, columns are 0-based positions below {len(fields)} "
                f"(the fields of its first line {line!r}); got {too_far}."
            )
        read_options = pa_csv.ReadOptions(column_names=[str(k) for k in range(len(fields))])
        labels = [str(c) for c in columns]

    def read(column_types):
        options = pa_csv.ConvertOptions(
            include_columns=labels,
            column_types=column_types,
            null_values=[""],
            strings_can_be_null=True,
        )
        try:
            with _open_binary(path) as stream:
                return pa_csv.read_csv(
                    stream,
                    read_options=read_options,
                    parse_options=pa_csv.ParseOptions(delimiter=sep),
                    convert_options=options,
                )
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{path}: cannot be read as {sep!r}-separated text: {exc}") from exc

    table = read({labels[columns.index(c)]: pa.string() for c in (*text_columns, *string_columns)})
    if table.num_rows == 0:
        raise ValueError(f"{path}: the file has no data rows below its header.")
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    frame.columns = list(columns)
    return frame


def _arrow_table(data):
    """A pandas DataFrame, or a table exporting the Arrow stream interface, as a DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    return pa.table(data).to_pandas(types_mapper=pd.ArrowDtype)


# --------------------------------------------------------------------------- columns
def _row(position):
    """1-based data row of a 0-based position."""
    return int(position) + 1


#: Integers as ``str(int)`` writes them: text that reads back as itself. Grouped, because
#: pandas 2.0's ``fullmatch`` on Arrow strings anchors the pattern as ``^`` + it + ``$``.
_INTEGER_TEXT = r"(?:0|-?[1-9][0-9]*)"
#: Integral floats as ``str(float)`` writes them below 1e16 (``"42.0"``).
_INTEGRAL_FLOAT_TEXT = r"(?:0|-?[1-9][0-9]*)\.0"


def _ids(column, name, source):
    """Ids as read: int64 when every one is an integer, else an object array (strings...).

    Text ids become integers only when every one is an integer written as Python writes it
    (``"42"``, ``"-3"``), or every one as Python writes an integral float (``"42.0"``: what
    pandas writes for an integer column with a missing value, read from a data frame as the
    integers it holds): one written otherwise (``"007"``, ``"+7"``, ``"7"`` beside ``"8.0"``)
    keeps them all text, so that ``"007"`` and ``"7"`` stay two items. ``column`` holds no
    missing values.
    """
    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype) and (
        pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    ):
        integers = None
        if column.str.fullmatch(_INTEGER_TEXT).all():
            integers = column
        elif column.str.fullmatch(_INTEGRAL_FLOAT_TEXT).all():
            integers = column.str.slice(stop=-2)  # "42.0" -> "42"
        if integers is not None:
            try:
                return integers.astype("int64[pyarrow]").to_numpy(np.int64)
            except (pa.ArrowInvalid, ValueError):  # beyond int64
                pass
        return column.to_numpy(dtype=object)
    values = column.to_numpy()
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind in {"integer", "empty"}:
        if values.dtype.kind == "u" and values.size and values.max() > np.iinfo(np.int64).max:
            return values.astype(object)  # beyond int64: Python integers, as the models take
        try:
            return values.astype(np.int64)
        except OverflowError:  # Python integers beyond int64
            return values.astype(object)
    if kind in {"floating", "mixed-integer-float"}:
        numbers = values.astype(np.float64)
        fractional = numbers != np.round(numbers)
        if fractional.any():
            position = np.argmax(fractional)
            raise ValueError(
                f"{source}: column {name!r} holds {float(numbers[position])!r} (data row "
                f"{_row(column.index[position])}), not an integer id; ids are integers or strings."
            )
        if np.abs(numbers).max(initial=0) >= 2**53:
            raise ValueError(
                f"{source}: column {name!r} holds integer ids as floats, and ids of 2**53 or "
                "more cannot be told apart as floats (a column with a missing value is read "
                "as floats): build the column with an integer or text type (dtype='Int64' or "
                "str), before any float conversion has rounded its ids."
            )
        return numbers.astype(np.int64)
    if kind in {"string", "bytes"}:
        return values.astype(object)
    types = sorted({type(value).__name__ for value in values})
    raise ValueError(
        f"{source}: column {name!r} mixes ids of different types ({', '.join(types)}); give "
        f"them one type, such as frame[{name!r}].astype(str)."
    )


def _datetime_seconds(stamps):
    """Seconds since 1970-01-01 UTC (float64) of a datetime Series without missing values."""
    utc = pd.to_datetime(stamps, utc=True).dt.tz_convert(None)
    return utc.to_numpy("datetime64[us]").astype(np.int64) / 1e6


def _unparsable(source, name, values, bad, expected):
    position = int(np.argmax(bad))
    return ValueError(
        f"{source}: cannot parse the timestamp {str(values.iloc[position])!r} in column {name!r} "
        f"(data row {_row(values.index[position])}); expected {expected}."
    )


def _seconds(column, name, source, *, time_format=None, time_unit="s"):
    """Times of a column without missing values in seconds (or the numbers, for ``"s"``).

    Returns int64 for integers in seconds, float64 seconds otherwise. Numbers are read in
    ``time_unit``; text as numbers if its first value is one, else as dates (ISO-8601, or
    ``time_format``; naive dates are UTC).
    """
    if pd.api.types.is_datetime64_any_dtype(column.dtype) or (
        isinstance(column.dtype, pd.ArrowDtype) and pa.types.is_temporal(column.dtype.pyarrow_dtype)
    ):
        return _datetime_seconds(column)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column):
        return _numbers_in_seconds(column, column.to_numpy(), name, source, time_unit)
    values = column.astype(object)
    if pd.api.types.infer_dtype(values.to_numpy(), skipna=False) == "datetime":
        return _datetime_seconds(values)
    text = values.astype(str)
    if time_format is None and pd.notna(pd.to_numeric(text.iloc[0], errors="coerce")):
        numbers = pd.to_numeric(text, errors="coerce")
        return _numbers_in_seconds(text, numbers.to_numpy(), name, source, time_unit)
    stamps = pd.to_datetime(
        text, format="ISO8601" if time_format is None else time_format, utc=True, errors="coerce"
    )
    bad = stamps.isna().to_numpy()
    if bad.any():
        expected = (
            "an ISO-8601 date (pass time_format=... for other formats)"
            if time_format is None
            else f"a date in the format {time_format!r}"
        )
        raise _unparsable(source, name, text, bad, expected)
    return _datetime_seconds(stamps)


def _numbers_in_seconds(column, numbers, name, source, time_unit):
    """``numbers`` (the values of ``column``) read in ``time_unit``, in seconds."""
    if numbers.dtype.kind not in "iu":
        numbers = numbers.astype(np.float64)
        bad = ~np.isfinite(numbers)
        if bad.any():
            raise _unparsable(source, name, column, bad, "a number")
    return numbers if time_unit == "s" else numbers / _UNITS_PER_SECOND[time_unit]


def _times(column, name, source, *, time_format, time_unit, missing_time):
    """Seconds of every row; rows without a time follow ``missing_time``. Messages name a
    row by ``column``'s index: its 0-based position in the file or frame."""
    missing = column.isna().to_numpy()
    if missing.any() and missing_time == "error":
        raise ValueError(
            f"{source}: column {name!r} is empty on data row "
            f"{_row(column.index[np.argmax(missing)])}. If "
            "the rows are in time order, pass missing_time='file_order' to order untimed rows "
            "by their position in the file."
        )
    if missing.all():
        return np.arange(len(missing), dtype=np.int64)
    present = _seconds(column[~missing], name, source, time_format=time_format, time_unit=time_unit)
    if not missing.any():
        return present
    n_missing = int(missing.sum())
    times = np.empty(len(missing), dtype=present.dtype)
    times[~missing] = present
    times[missing] = present.min() - n_missing + np.arange(n_missing)
    return times


def _log(frame, source, columns, *, time_format=None, time_unit="s", missing_time="error"):
    """The click log of a frame's columns, rows with a missing id dropped with a warning.

    Parameters
    ----------
    frame : pandas.DataFrame
    source : str
        How to name the data in messages (its path, or "the data frame").
    columns : dict
        Output field (``"session_ids"``, ``"item_ids"``, ``"timestamps"``, ``"user_ids"``,
        ``"event_types"``, ``"split"``) -> column label or None (the default).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Every field of ``columns``: an ndarray of shape (n_clicks,), or None where its
        column is None; timestamps without a column are the rows' positions.
    """
    columns = {**dict.fromkeys(_FIELDS), **columns}
    present = [label for label in columns.values() if label is not None]
    missing = [label for label in dict.fromkeys(present) if label not in frame.columns]
    if missing:
        raise _missing_columns_error(source, missing, list(frame.columns))
    frame = frame.reset_index(drop=True)
    id_fields = ("session_ids", "item_ids", "user_ids")
    empty, where = np.zeros(len(frame), dtype=bool), []
    for field in id_fields:
        if columns[field] is not None:
            gaps = frame[columns[field]].isna().to_numpy()
            if gaps.any():
                where.append(
                    f"{int(gaps.sum()):,} in column {columns[field]!r} (first on data row "
                    f"{_row(np.argmax(gaps))})"
                )
            empty |= gaps
    if where:
        warn_at_caller(
            f"{source}: dropped {int(empty.sum()):,} of {len(frame):,} clicks without an id: "
            f"{', '.join(where)} empty."
        )
    kept = frame[~empty] if empty.any() else frame
    if not len(kept):
        raise ValueError(f"{source}: no click is left: every row has an empty id.")
    if columns["timestamps"] is None:
        times = kept.index.to_numpy(np.int64)  # the rows' positions
    else:  # the dropped rows' times are not read: a truncated last row drops without an error
        times = _times(
            kept[columns["timestamps"]],
            columns["timestamps"],
            source,
            time_format=time_format,
            time_unit=time_unit,
            missing_time=missing_time,
        )
    data = Bunch(timestamps=times)
    for field in id_fields:
        label = columns[field]
        data[field] = None if label is None else _ids(kept[label], label, source)
    for field in ("event_types", "split"):
        label = columns[field]
        data[field] = None if label is None else kept[label].to_numpy(dtype=object, na_value=None)
    return data


# --------------------------------------------------------------------------- public loaders
_COLUMN = [str, Integral]


@validate_params(
    {
        "data": [str, os.PathLike, pd.DataFrame, HasMethods(["__arrow_c_stream__"])],
        "session_col": [*_COLUMN, None],
        "item_col": _COLUMN,
        "time_col": [*_COLUMN, None],
        "user_col": [*_COLUMN, None],
        "event_col": [*_COLUMN, None],
        "split_col": [*_COLUMN, None],
        "sep": [str, None],
        "header": ["boolean"],
        "time_format": [str, None],
        "time_unit": _TIME_UNIT,
        "missing_time": [StrOptions({"error", "file_order"})],
    },
    prefer_skip_nested_validation=True,
)
def load_click_log(
    data,
    *,
    session_col="session_id",
    item_col="item_id",
    time_col="timestamp",
    user_col=None,
    event_col=None,
    split_col=None,
    sep=None,
    header=True,
    time_format=None,
    time_unit="s",
    missing_time="error",
):
    """Load a click log from a file (CSV, TSV, Parquet) or a data frame.

    One row is one click. This reads the ``session_id,item_id,timestamp,split`` benchmark
    files, GRU4Rec's ``SessionId\\tItemId\\tTime`` files (``session_col="SessionId",
    item_col="ItemId", time_col="Time"``), a shop's own user log (``session_col=None,
    user_col=...``, then :func:`sessionize`) and any other log with the columns given.

    Parameters
    ----------
    data : str, path-like, pandas.DataFrame or Arrow table
        A file -- delimited text, plain or compressed (gzip, bz2, xz, zstd or a zip of one
        file, detected from its first bytes whatever its name), or Parquet -- or a data frame:
        pandas, or any table exporting the Arrow stream interface (polars, pyarrow).
    session_col : str, int or None, default="session_id"
        Column of session ids. None for a log without sessions (then give ``user_col``).
    item_col : str or int, default="item_id"
        Column of item ids.
    time_col : str, int or None, default="timestamp"
        Column of click times: numbers in ``time_unit``, dates (ISO-8601 text, or
        ``time_format``; naive dates are UTC) or datetime values. None: no time column; the
        timestamps are the rows' positions.
    user_col : str, int or None, default=None
        Column of user ids, for :func:`sessionize`.
    event_col : str, int or None, default=None
        Column of event types (``"view"``, ``"addtocart"``, ...), for :func:`sessionize`.
    split_col : str, int or None, default=None
        Column naming each row's part of a published split (such as ``"train"``, ``"test"``).
    sep : str or None, default=None
        Field separator of a text file. None detects ``,``, tab or ``;`` from the first line.
    header : bool, default=True
        Whether the first line of a text file names its columns. Without a header, the
        ``*_col`` arguments are 0-based column positions.
    time_format : str or None, default=None
        :func:`~pandas.to_datetime` format of text times, such as ``"%d/%m/%Y %H:%M"``.
        None reads numbers or ISO-8601 dates.
    time_unit : {"s", "ms", "us", "ns"}, default="s"
        Unit of numeric times; they are returned in seconds.
    missing_time : {"error", "file_order"}, default="error"
        What to do with rows whose time is empty. ``"error"`` raises. ``"file_order"`` is for
        files whose rows are in time order but whose older part has no times (RetailRocket's
        training rows): untimed rows get consecutive integer keys in file order, placed before
        every timed row, so they sort before them.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Arrays of shape (n_clicks,), in the order of the rows:

        session_ids : ndarray or None
            Session of each click as read: int64 when every id is an integer, else an object
            array (strings). None without ``session_col``.
        item_ids : ndarray
            Item of each click, as read (int64, or an object array of strings).
        timestamps : ndarray of int64 or float64
            Seconds since 1970-01-01 UTC: int64 for integers in seconds (or an order key),
            float64 otherwise. Without a time column, the rows' positions.
        user_ids : ndarray or None
            User of each click, as read; None without ``user_col``.
        event_types : ndarray of object or None
            The ``event_col`` values (None in an empty cell); None without the column.
        split : ndarray of object or None
            The ``split_col`` values (None in an empty cell); None without the column.

    Raises
    ------
    ValueError
        If the file is empty or has no data rows, a column is missing (the message lists the
        columns present), a row is too short, ids mix types, or a timestamp is empty or cannot
        be parsed (the message names the value and its row).

    Warns
    -----
    UserWarning
        When rows with an empty session, item or user id are dropped (the message says how
        many); their times are not read, so a truncated last line is dropped, not refused.

    See Also
    --------
    sessionize : Sessions from a user log.
    preprocess : The papers' filtering and temporal split.
    load_yoochoose_clicks, load_diginetica_views : Loaders of the raw benchmark formats.

    Examples
    --------
    >>> import pandas as pd
    >>> from skvaser.datasets import load_click_log
    >>> frame = pd.DataFrame({"SessionId": [1, 1, 2], "ItemId": ["shoe", "sock", "shoe"],
    ...                       "Time": [1_400_000_000_500, 1_400_000_012_000, 1_400_000_030_000]})
    >>> data = load_click_log(frame, session_col="SessionId", item_col="ItemId",
    ...                       time_col="Time", time_unit="ms")
    >>> data.session_ids, data.item_ids
    (array([1, 1, 2]), array(['shoe', 'sock', 'shoe'], dtype=object))
    >>> data.timestamps - 1_400_000_000
    array([ 0.5, 12. , 30. ])

    A tab-separated file:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "clicks.tsv"
    >>> _ = path.write_text("SessionId\\tItemId\\tTime\\n1\\t42\\t10\\n1\\t7\\t12\\n")
    >>> load_click_log(path, session_col="SessionId", item_col="ItemId", time_col="Time").item_ids
    array([42,  7])
    """
    columns = {
        "session_ids": session_col,
        "item_ids": item_col,
        "timestamps": time_col,
        "user_ids": user_col,
        "event_types": event_col,
        "split": split_col,
    }
    if session_col is None and user_col is None:
        raise ValueError("pass session_col=, or user_col= for a log without sessions.")
    if isinstance(data, (str, os.PathLike)):
        labels = list(dict.fromkeys(label for label in columns.values() if label is not None))
        ids = [session_col, item_col, user_col, event_col, split_col]
        frame = _read_file(
            data,
            labels,
            sep=sep,
            header=header,
            text_columns={c for c in ids if c is not None},
            string_columns=[time_col] if time_format is not None and time_col is not None else [],
        )
        source = os.fspath(data)
    else:
        frame, source = _arrow_table(data), "the data frame"
    return _log(
        frame,
        source,
        columns,
        time_format=time_format,
        time_unit=time_unit,
        missing_time=missing_time,
    )


@validate_params({"path": [str, os.PathLike]}, prefer_skip_nested_validation=True)
def load_yoochoose_clicks(path):
    """Load the raw ``yoochoose-clicks.dat`` of the RecSys Challenge 2015 (YOOCHOOSE).

    The file has no header; its rows are ``session,timestamp,item,category`` with ISO-8601 times
    such as ``2014-04-06T20:21:58.444Z``. The category is not returned.

    Parameters
    ----------
    path : str or path-like
        The file, plain or compressed.

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
    frame = _read_file(path, [0, 1, 2], sep=",", header=False, text_columns=[0, 2])
    data = _log(
        frame,
        os.fspath(path),
        {"session_ids": 0, "item_ids": 2, "timestamps": 1},
        time_format="ISO8601",
    )
    return Bunch(
        session_ids=data.session_ids,
        item_ids=data.item_ids,
        timestamps=data.timestamps.astype(np.float64),
        split=None,
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
        The file, plain or compressed.

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
    source = os.fspath(path)
    frame = _read_file(
        path,
        ["session_id", "item_id", "timeframe", "eventdate"],
        sep=";",
        text_columns=["session_id", "item_id"],
    )
    data = _log(
        frame,
        source,
        {"session_ids": "session_id", "item_ids": "item_id", "timestamps": "timeframe"},
        time_unit="ms",
    )
    kept = frame["session_id"].notna() & frame["item_id"].notna()  # the rows _log keeps
    days = _times(
        frame.loc[kept, "eventdate"],
        "eventdate",
        source,
        time_format="ISO8601",
        time_unit="s",
        missing_time="error",
    )
    return Bunch(
        session_ids=data.session_ids,
        item_ids=data.item_ids,
        timestamps=days.astype(np.float64) + data.timestamps,
        split=None,
    )


def encode_items(item_ids):
    """Replace item ids of any type by integer codes ``0..n_items-1``.

    The recommenders take raw ids themselves; this is for code of your own that needs
    consecutive integers.

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
