"""Loaders of click logs: round trips on small files, every error case, and the real files."""

import bz2
import gzip
import lzma
import re
import string
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import requires_shared_data
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.utils._param_validation import InvalidParameterError

from skvaser.datasets import (
    encode_items,
    load_click_log,
    load_diginetica_views,
    load_yoochoose_clicks,
)

ROWS = [(1, 10, 100), (1, 11, 101), (2, 10, 102), (2, 12, 103), (2, 10, 104)]


def _write(path, text, *, gz=False):
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _table(rows, header=("session_id", "item_id", "timestamp"), sep=","):
    return "".join(sep.join(map(str, row)) + "\n" for row in [header, *rows])


# --------------------------------------------------------------------------- round trips
def _compress(path, data, codec):
    if codec == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("clicks.csv", data)
    else:
        path.write_bytes({"gzip": gzip, "bz2": bz2, "xz": lzma}[codec].compress(data))
    return path


@pytest.mark.parametrize("sep", [",", "\t", ";"])
@pytest.mark.parametrize("gz", [False, True])
def test_round_trip_with_sniffed_separator(tmp_path, sep, gz):
    path = _write(tmp_path / "clicks.txt", _table(ROWS, sep=sep), gz=gz)  # name says nothing
    data = load_click_log(path)
    sessions, items, times = map(np.array, zip(*ROWS))
    np.testing.assert_array_equal(data.session_ids, sessions)
    np.testing.assert_array_equal(data.item_ids, items)
    np.testing.assert_array_equal(data.timestamps, times)
    assert data.session_ids.dtype == data.item_ids.dtype == data.timestamps.dtype == np.int64
    assert data.split is None and data.user_ids is None and data.event_types is None


@pytest.mark.parametrize("codec", ["bz2", "xz", "zip"])
def test_compressed_files_are_detected_from_their_bytes(tmp_path, codec):
    path = _compress(tmp_path / "clicks.dat", _table(ROWS).encode(), codec)
    np.testing.assert_array_equal(load_click_log(path).item_ids, [10, 11, 10, 12, 10])


def test_file_without_header_takes_positions(tmp_path):
    path = _write(tmp_path / "c.csv", "x,1,10,100\ny,1,11,101\n")
    data = load_click_log(path, header=False, session_col=1, item_col=2, time_col=3)
    np.testing.assert_array_equal(data.item_ids, [10, 11])
    np.testing.assert_array_equal(data.timestamps, [100, 101])
    with pytest.raises(ValueError, match=r"positions below 4.*got \[7\]"):
        load_click_log(path, header=False, session_col=1, item_col=7, time_col=3)


def test_parquet_and_data_frames_keep_their_types(tmp_path):
    frame = pd.DataFrame(
        {
            "session": pd.array([3, 3, 4], dtype="int32"),
            "sku": ["A-1", "B-2", "A-1"],
            "when": pd.to_datetime(["2024-03-01 10:00", "2024-03-01 10:05", "2024-03-02 00:00"]),
        }
    )
    columns = dict(session_col="session", item_col="sku", time_col="when")
    path = tmp_path / "clicks.bin"  # Parquet is known by its bytes too
    frame.to_parquet(path)
    for data in (frame, path, pa.Table.from_pandas(frame)):
        log = load_click_log(data, **columns)
        assert log.session_ids.dtype == np.int64 and log.item_ids.dtype == object
        assert log.item_ids.tolist() == ["A-1", "B-2", "A-1"]
        np.testing.assert_array_equal(log.timestamps - 1709287200, [0, 300, 50400])


def test_time_units(tmp_path):
    frame = pd.DataFrame({"session_id": [1, 1], "item_id": [5, 6], "timestamp": [1500, 4000]})
    for unit, scale in [("s", 1), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)]:
        times = load_click_log(frame, time_unit=unit).timestamps
        np.testing.assert_allclose(times, np.array([1500, 4000]) * scale)
    assert load_click_log(frame).timestamps.dtype == np.int64
    with pytest.raises(InvalidParameterError, match="time_unit"):
        load_click_log(frame, time_unit="seconds")


def test_timezone_aware_times_are_utc():
    paris = pd.to_datetime(["2024-01-01 01:00", "2024-01-01 01:30"]).tz_localize("Europe/Paris")
    frame = pd.DataFrame({"session_id": ["a", "a"], "item_id": [1, 2], "timestamp": paris})
    np.testing.assert_array_equal(load_click_log(frame).timestamps, [1704067200, 1704069000])
    as_objects = frame.astype({"timestamp": object})  # Timestamps in an object column
    np.testing.assert_array_equal(load_click_log(as_objects).timestamps, [1704067200, 1704069000])


def test_explicit_separator_and_gru4rec_columns(tmp_path):
    header = ("SessionId", "ItemId", "Time")
    path = _write(tmp_path / "rsc15.tsv", _table(ROWS, header=header, sep="\t"))
    data = load_click_log(
        path, session_col="SessionId", item_col="ItemId", time_col="Time", sep="\t"
    )
    np.testing.assert_array_equal(data.item_ids, [10, 11, 10, 12, 10])


def test_columns_in_any_order_and_extra_columns(tmp_path):
    text = "split,cat,timestamp,item_id,session_id\n" + "train,x,1.5,7,3\ntest,y,2.25,8,3\n"
    data = load_click_log(_write(tmp_path / "c.csv", text), split_col="split")
    np.testing.assert_array_equal(data.session_ids, [3, 3])
    np.testing.assert_array_equal(data.item_ids, [7, 8])
    np.testing.assert_array_equal(data.timestamps, [1.5, 2.25])
    assert data.timestamps.dtype == np.float64
    assert data.split.tolist() == ["train", "test"]


def test_user_log_with_events(tmp_path):
    text = "timestamp,visitorid,event,itemid\n1000,7,view,3\n2000,7,addtocart,3\n3000,8,view,4\n"
    data = load_click_log(
        _write(tmp_path / "events.csv", text),
        session_col=None,
        user_col="visitorid",
        item_col="itemid",
        event_col="event",
        time_unit="ms",
    )
    assert data.session_ids is None
    np.testing.assert_array_equal(data.user_ids, [7, 7, 8])
    assert data.event_types.tolist() == ["view", "addtocart", "view"]
    np.testing.assert_array_equal(data.timestamps, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="pass session_col=, or user_col="):
        load_click_log(tmp_path / "events.csv", session_col=None, item_col="itemid")


def test_without_time_column_timestamps_are_positions(tmp_path):
    text = "session_id,item_id\n1,5\n1,6\n\n2,5\n"  # a blank line is skipped
    data = load_click_log(_write(tmp_path / "c.csv", text), time_col=None)
    np.testing.assert_array_equal(data.timestamps, [0, 1, 2])


def test_crlf_bom_quotes_and_missing_final_newline(tmp_path):
    text = '\ufeffsession_id,item_id,timestamp\r\n"1","a,b",10\r\n1,NA,11'
    data = load_click_log(_write(tmp_path / "c.csv", text))
    assert data.item_ids.tolist() == ["a,b", "NA"]  # "NA" is an id, not a missing value
    np.testing.assert_array_equal(data.timestamps, [10, 11])


def test_raw_ids_stay_raw(tmp_path):
    text = _table([("s1", "shoe", 5), ("s1", "sock", 6), ("s2", "shoe", 7)])
    data = load_click_log(_write(tmp_path / "c.csv", text))
    assert data.session_ids.tolist() == ["s1", "s1", "s2"]
    assert data.item_ids.dtype == object and data.item_ids.tolist() == ["shoe", "sock", "shoe"]
    # Integers are integers; one id that is not, or that reads back otherwise ("007" is no
    # 7), makes them all text, so that "007" and "7" stay two items.
    text = _table([(1, "7", 1), (1, "-3", 2), (2, 10**15, 3)])
    np.testing.assert_array_equal(
        load_click_log(_write(tmp_path / "i.csv", text)).item_ids, [7, -3, 10**15]
    )
    # each way of writing an integer otherwise, alone among plain integers
    for odd in (["007", "7", "+7"], ["007", "7"], ["+7", "7"], ["-0", "0"], ["00", "1"]):
        text = _table([(1, item, k) for k, item in enumerate(odd)])
        arrow = pd.DataFrame({
            "session_id": [1] * len(odd), "timestamp": range(len(odd)),
            "item_id": pd.Series(odd, dtype=pd.ArrowDtype(pa.string())),
        })
        for source in (_write(tmp_path / "z.csv", text), arrow):
            assert load_click_log(source).item_ids.tolist() == odd
    text = _table([(1, 2**63, 1)])  # beyond int64: text
    assert load_click_log(_write(tmp_path / "b.csv", text)).item_ids.tolist() == [str(2**63)]
    text = _table([(1, 5, 1), (1, "1.50", 2), (1, "x9", 3)])
    assert load_click_log(_write(tmp_path / "s.csv", text)).item_ids.tolist() == ["5", "1.50", "x9"]
    text = _table([(1, 5, 1), (1, "1.50", 2)])  # pyarrow would read 1.5: the text is kept
    assert load_click_log(_write(tmp_path / "f.csv", text)).item_ids.tolist() == ["5", "1.50"]


def test_integral_floats_written_as_text_are_the_integers_of_a_data_frame(tmp_path):
    """pandas writes an integer column with a missing value as floats ("10.0"): the file
    gives the integers that the data frame gives; one id written otherwise keeps all text."""
    frame = pd.DataFrame({"session_id": [1, 1, 2], "item_id": [10.0, 11.0, np.nan],
                          "timestamp": [1, 2, 3]})
    path = tmp_path / "gap.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(UserWarning, match="dropped 1 of 3"):
        from_file = load_click_log(path).item_ids
    with pytest.warns(UserWarning, match="dropped 1 of 3"):
        from_frame = load_click_log(pd.read_csv(path)).item_ids
    assert from_file.dtype == from_frame.dtype == np.int64
    np.testing.assert_array_equal(from_file, [10, 11])
    np.testing.assert_array_equal(from_frame, [10, 11])
    for odd in (["7", "8.0"], ["8.0", "8.00"], ["-0.0", "1.0"], ["08.0", "1.0"], ["8.5", "1.0"]):
        text = _table([(1, item, k) for k, item in enumerate(odd)])
        assert load_click_log(_write(tmp_path / "o.csv", text)).item_ids.tolist() == odd


def test_integral_float_ids_of_a_data_frame_are_integers():
    frame = pd.DataFrame({"session_id": [1.0, 2.0], "item_id": [3.0, 4.0], "timestamp": [0, 1]})
    assert load_click_log(frame).item_ids.dtype == np.int64
    frame.loc[1, "item_id"] = 4.5
    with pytest.raises(ValueError, match=r"column 'item_id' holds 4.5 \(data row 2\)"):
        load_click_log(frame)


def test_mixed_id_types_are_refused():
    frame = pd.DataFrame(
        {"session_id": [1, 1], "item_id": pd.Series([5, "x"], dtype=object), "timestamp": [0, 1]}
    )
    with pytest.raises(
        ValueError, match=r"column 'item_id' mixes ids of different types \(int, str"
    ):
        load_click_log(frame)


def test_empty_ids_are_dropped_with_a_count(tmp_path):
    text = "session_id,item_id,timestamp\n1,5,1\n1,,2\n,6,3\n2,,4\n2,8,5\n3,9,6\n"
    message = (
        r"dropped 3 of 6 clicks without an id: 1 in column 'session_id' \(first on data row 3\), "
        r"2 in column 'item_id' \(first on data row 2\) empty\."
    )
    with pytest.warns(UserWarning, match=message) as caught:
        data = load_click_log(_write(tmp_path / "c.csv", text))
    assert len(caught) == 1
    np.testing.assert_array_equal(data.item_ids, [5, 8, 9])
    np.testing.assert_array_equal(data.timestamps, [1, 5, 6])
    frame = pd.DataFrame({"session_id": [1, 1], "item_id": [None, None], "timestamp": [0, 1]})
    with pytest.warns(UserWarning, match="dropped 2"), pytest.raises(ValueError, match="no click"):
        load_click_log(frame)


def test_dropped_rows_times_are_not_read_and_errors_name_the_rows_of_the_file(tmp_path):
    # A truncated last line ("2,,") is dropped for its id, not refused for its time.
    text = "session_id,item_id,timestamp\n1,5,10\n1,6,11\n2,,\n"
    with pytest.warns(UserWarning, match="dropped 1 of 3"):
        data = load_click_log(_write(tmp_path / "c.csv", text))
    np.testing.assert_array_equal(data.timestamps, [10, 11])
    text = "session_id,item_id,timestamp\n1,5,10\n,6,x\n2,7,12\n"
    with pytest.warns(UserWarning, match="dropped 1 of 3"):
        assert load_click_log(_write(tmp_path / "d.csv", text)).timestamps.tolist() == [10, 12]
    # Rows after a dropped one keep their numbers in messages.
    frame = pd.DataFrame(
        {"session_id": [1, None, 2, 3], "item_id": [1.0, 2.0, 3.0, 4.5], "timestamp": [1, 2, 3, 4]}
    )
    dropped = r"dropped 1 of 4 clicks without an id: 1 in column 'session_id' \(first on data row 2"
    with pytest.warns(UserWarning, match=dropped), pytest.raises(
        ValueError, match=r"4.5 \(data row 4\)"
    ):
        load_click_log(frame)
    frame = frame.assign(item_id=[1, 2, 3, 4], timestamp=[1, 2, None, 4])
    with pytest.warns(UserWarning, match=dropped), pytest.raises(
        ValueError, match="empty on data row 3"
    ):
        load_click_log(frame)
    with pytest.warns(UserWarning, match=dropped):
        untimed = load_click_log(frame.drop(columns="timestamp"), time_col=None)
    np.testing.assert_array_equal(untimed.timestamps, [0, 2, 3])

def test_iso_dates_and_time_format(tmp_path):
    rows = [
        (1, 5, "2014-04-06T20:21:58.444Z"),
        (1, 6, "2014-04-06 20:22:00"),
        (1, 7, "2014-04-06T22:22:01+02:00"),
    ]
    data = load_click_log(_write(tmp_path / "c.csv", _table(rows)))
    assert data.timestamps.dtype == np.float64
    np.testing.assert_allclose(data.timestamps - 1396815718, [0.444, 2.0, 3.0])

    rows = [(1, 5, "06/04/2014 20:21"), (1, 6, "07/04/2014 20:21")]
    path = _write(tmp_path / "f.csv", _table(rows))
    data = load_click_log(path, time_format="%d/%m/%Y %H:%M")
    np.testing.assert_allclose(data.timestamps, [1396815660.0, 1396902060.0])


def test_empty_times_in_file_order(tmp_path):
    # RetailRocket: training rows have no time, test rows have unix seconds.
    rows = [(1, 5, ""), (1, 6, ""), (2, 5, ""), (3, 7, 1441249289), (3, 5, 1441249300)]
    path = _write(tmp_path / "rr.csv", _table(rows))
    with pytest.raises(ValueError, match="empty on data row 1.*missing_time='file_order'"):
        load_click_log(path)
    times = load_click_log(path, missing_time="file_order").timestamps
    assert times.dtype == np.int64
    assert (np.diff(times) > 0).all()  # file order kept, untimed rows before timed rows
    np.testing.assert_array_equal(times[3:], [1441249289, 1441249300])

    untimed = _write(tmp_path / "untimed.csv", _table([(1, 5, ""), (1, 6, "")]))
    np.testing.assert_array_equal(
        load_click_log(untimed, missing_time="file_order").timestamps, [0, 1]
    )


_ID_TEXT = st.text(string.ascii_letters + string.digits + "-_.:/ éü", min_size=1, max_size=8)
#: Integer literals, some written otherwise than ``str(int)`` writes them ("007", "+7", "-0").
_INTEGER_LIKE = st.from_regex(r"[+-]?[0-9]{1,4}", fullmatch=True)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(_ID_TEXT, min_size=1, max_size=30) | st.lists(_INTEGER_LIKE, min_size=1,
                                                                  max_size=30),
    sep=st.sampled_from([",", "\t", ";"]),
)
def test_ids_come_back_as_written(tmp_path, items, sep):
    rows = [(k // 3, item, k) for k, item in enumerate(items)]
    path = _write(tmp_path / "h.csv", _table(rows, sep=sep))
    data = load_click_log(path, sep=sep)
    # integers are read as integers exactly when each one reads back as written, as an
    # integer (str(int)) or each one as an integral float (str(float): "42.0")
    integers = r"0|-?[1-9][0-9]*"
    as_int = all(re.fullmatch(integers, item) for item in items)
    as_float = all(re.fullmatch(rf"(?:{integers})\.0", item) for item in items)
    assert (data.item_ids.dtype == np.int64) == (as_int or as_float)
    if as_int or as_float:
        written = str if as_int else (lambda item: str(float(item)))
        assert [written(item) for item in data.item_ids.tolist()] == items
    else:
        assert data.item_ids.tolist() == items


@given(st.lists(st.one_of(st.integers(-5, 5), st.just(10**12)), max_size=30))
def test_encode_items_round_trip(ids):
    codes, mapping = encode_items(np.array(ids, dtype=np.int64))
    assert codes.dtype == np.int64 and codes.shape == (len(ids),)
    np.testing.assert_array_equal(mapping[codes], ids)
    np.testing.assert_array_equal(mapping, np.unique(ids))


def test_encode_items_strings_and_bad_shape():
    codes, mapping = encode_items(["b", "a", "b"])
    assert codes.tolist() == [1, 0, 1] and mapping.tolist() == ["a", "b"]
    with pytest.raises(ValueError, match="1-D"):
        encode_items([["a"]])


# --------------------------------------------------------------------------- errors
def test_missing_columns_are_named_with_the_present_ones(tmp_path):
    path = _write(
        tmp_path / "c.tsv", _table(ROWS, header=("SessionId", "ItemId", "Time"), sep="\t")
    )
    with pytest.raises(ValueError, match=r"'session_id', 'item_id', 'timestamp'.*\['SessionId'"):
        load_click_log(path)
    with pytest.raises(ValueError, match="no column named 'split'"):
        load_click_log(
            path, session_col="SessionId", item_col="ItemId", time_col="Time", split_col="split"
        )
    frame = pd.DataFrame({"session": [1], "item_id": [2], "timestamp": [3]})
    with pytest.raises(ValueError, match=r"the data frame: no column named 'session_id'"):
        load_click_log(frame)


@pytest.mark.parametrize("gz", [False, True])
def test_empty_file(tmp_path, gz):
    with pytest.raises(ValueError, match="empty"):
        load_click_log(_write(tmp_path / "c.csv", "", gz=gz))
    with pytest.raises(ValueError, match="no data rows below its header"):
        load_click_log(_write(tmp_path / "h.csv", "session_id,item_id,timestamp\n\n", gz=gz))
    with pytest.raises(ValueError, match="empty"):
        load_yoochoose_clicks(_write(tmp_path / "y.dat", "\n", gz=gz))


@pytest.mark.parametrize(
    "value, expected",
    [("12x", "a number"), ("nan", "a number"), ("2014-13-45", "an ISO-8601 date")],
)
def test_unparsable_timestamps_name_value_and_row(tmp_path, value, expected):
    first = "10" if expected == "a number" else "2014-04-06T20:21:58"
    path = _write(tmp_path / "c.csv", _table([(1, 5, first), (1, 6, first), (1, 7, value)]))
    with pytest.raises(
        ValueError, match=f"'{value}' in column 'timestamp' \\(data row 3\\).*{expected}"
    ):
        load_click_log(path)


def test_time_format_mismatch(tmp_path):
    path = _write(tmp_path / "c.csv", _table([(1, 5, "2014-04-06")]))
    with pytest.raises(ValueError, match="'2014-04-06'.*in the format '%d/%m/%Y'"):
        load_click_log(path, time_format="%d/%m/%Y")


def test_short_row_and_undetectable_separator(tmp_path):
    path = _write(tmp_path / "c.csv", "session_id,item_id,timestamp\n1,5,10\n1,6\n")
    with pytest.raises(ValueError, match="Expected 3 columns, got 2: 1,6"):
        load_click_log(path)
    with pytest.raises(ValueError, match="column separator"):
        load_click_log(_write(tmp_path / "one.csv", "session_id item_id\n1 5\n"))


def test_parameters_are_validated(tmp_path):
    path = _write(tmp_path / "c.csv", _table(ROWS))
    with pytest.raises(InvalidParameterError, match="missing_time"):
        load_click_log(path, missing_time="drop")
    with pytest.raises(InvalidParameterError, match="'data' parameter"):
        load_click_log([[1, 2, 3]])
    with pytest.raises(FileNotFoundError):
        load_click_log(tmp_path / "absent.csv")


# --------------------------------------------------------------------------- raw formats
def test_yoochoose_clicks(tmp_path):
    text = (
        "1,2014-04-07T10:51:09.277Z,214536502,0\n"
        "1,2014-04-07T10:54:09.868Z,214536500,S\n"
        "2,2014-04-07T13:56:37.614Z,214662742,0\n"
    )
    data = load_yoochoose_clicks(_write(tmp_path / "yoochoose-clicks.dat.gz", text, gz=True))
    np.testing.assert_array_equal(data.session_ids, [1, 1, 2])
    np.testing.assert_array_equal(data.item_ids, [214536502, 214536500, 214662742])
    np.testing.assert_allclose(data.timestamps, [1396867869.277, 1396868049.868, 1396878997.614])
    assert data.split is None
    bad = _write(tmp_path / "bad.dat", text.replace("2014-04-07T13", "yesterday"))
    with pytest.raises(ValueError, match="'yesterday.*data row 3"):
        load_yoochoose_clicks(bad)


def test_diginetica_views(tmp_path):
    text = (
        "session_id;user_id;item_id;timeframe;eventdate\n"
        "1;NA;81766;526309;2016-05-09\n"
        "1;NA;31331;1031018;2016-05-09\n"
        "2;5;32118;243569;2016-05-10\n"
    )
    data = load_diginetica_views(_write(tmp_path / "train-item-views.csv", text))
    np.testing.assert_array_equal(data.session_ids, [1, 1, 2])
    np.testing.assert_array_equal(data.item_ids, [81766, 31331, 32118])
    np.testing.assert_allclose(
        data.timestamps, [1462752526.309, 1462753031.018, 1462838643.569], rtol=0, atol=1e-3
    )
    with pytest.raises(ValueError, match="'soon' in column 'timeframe'"):
        load_diginetica_views(_write(tmp_path / "bad.csv", text.replace("243569", "soon")))
    with pytest.warns(UserWarning, match="dropped 1 of 3 clicks without an id"):
        data = load_diginetica_views(_write(tmp_path / "gap.csv", text.replace("31331", "")))
    np.testing.assert_allclose(data.timestamps, [1462752526.309, 1462838643.569], atol=1e-3)


def test_empty_event_and_split_cells_are_none(tmp_path):
    text = "session_id,item_id,timestamp,event,split\n1,5,0,view,train\n1,6,1,,\n2,5,2,cart,test\n"
    data = load_click_log(_write(tmp_path / "c.csv", text), event_col="event", split_col="split")
    assert data.event_types.tolist() == ["view", None, "cart"]
    assert data.split.tolist() == ["train", None, "test"]
    assert (data.split == "train").tolist() == [True, False, False]


def test_numeric_ids_are_never_wrapped_or_merged():
    def items(column):
        return load_click_log(
            pd.DataFrame({"session_id": [1] * len(column), "item_id": column,
                          "timestamp": range(len(column))})
        ).item_ids

    beyond = items(np.array([2**63 + 5, 2**63 + 6], dtype=np.uint64))
    assert beyond.tolist() == [2**63 + 5, 2**63 + 6] and beyond.dtype == object
    assert items(pd.Series([2**64 + 5, 7], dtype=object)).tolist() == [2**64 + 5, 7]
    with pytest.raises(ValueError, match="ids of 2\\*\\*53 or more cannot be told apart"):
        items([2.0**60, 2.0**60 + 2**8])


# --------------------------------------------------------------------------- real data
@requires_shared_data
def test_shared_yoochoose1_64(shared_data):
    data = load_click_log(shared_data / "yoochoose1_64.csv.gz", split_col="split")
    assert len(data.item_ids) == 557_248
    assert len(np.unique(data.session_ids)) == 131_491
    assert len(np.unique(data.item_ids)) == 17_745
    assert (data.split == "train").sum() == 486_026 and (data.split == "test").sum() == 71_222
    assert data.item_ids.dtype == data.timestamps.dtype == np.int64


def test_shared_retailrocket_with_untimed_training_rows(shared_data):
    data = load_click_log(
        shared_data / "retailrocket.csv.gz", split_col="split", missing_time="file_order"
    )
    train, test = data.split == "train", data.split == "test"
    assert train.sum() == 685_984 and test.sum() == 24_682
    assert data.timestamps[train].max() < data.timestamps[test].min()
    assert (np.diff(data.timestamps[train]) > 0).all()


def test_shared_rsc15_100k_has_real_times(shared_data):
    data = load_click_log(shared_data / "rsc15_100k.csv.gz", split_col="split")
    assert len(data.item_ids) == 83_846 and len(np.unique(data.session_ids)) == 21_210
    assert data.timestamps.dtype == np.float64 and data.timestamps.min() > 1.39e9


def test_raw_samples(shared_data):
    raw = shared_data / "raw"
    yoochoose = load_yoochoose_clicks(raw / "yoochoose-clicks-sample.dat")
    assert len(yoochoose.item_ids) == 1913
    assert 1.396e9 < yoochoose.timestamps.min() < yoochoose.timestamps.max() < 1.4125e9  # 2014
    diginetica = load_diginetica_views(raw / "train-item-views-sample.csv")
    assert len(diginetica.item_ids) == 12_391
    assert diginetica.timestamps.min() >= 1.45e9  # 2016
    retailrocket = load_click_log(raw / "retailrocket-sample.csv")  # tab-separated, sniffed
    assert len(retailrocket.item_ids) == 10_080
    assert retailrocket.timestamps.dtype == np.int64
