"""Serving live sessions, the same behaviour for every recommender: scores, cold start,
filters inside the ranking, query rows of live sessions, and saving without pickle.

Each filtered ranking is checked against its definition: the model's full, unfiltered ranking
(every item, ``n_recommendations = n_items_``) with the filtered items struck out.
"""

import copy
import io
import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from _settings import all_recommenders, make_fast
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_validate
from test_common import MAX_LEN, UNKNOWN, data, fitted, padded, pickled_as_if_trained_on

import skvaser
from skvaser import SessionSplitter
from skvaser.datasets import sessions_to_queries
from skvaser.persistence import InconsistentVersionWarning, dump, load

RECOMMENDERS = [make_fast(cls) for cls in all_recommenders()]
#: The recommenders whose filtered ranking is their full ranking with items struck out.
#: VotingRecommender's is not: its members rank among the candidates left (each member's ranks
#: then differ). Its filters and persistence are tested in test_ensemble.py.
SCORING = [model for model in RECOMMENDERS if not isinstance(model, skvaser.VotingRecommender)]
NEURAL = [model for model in RECOMMENDERS if hasattr(model, "device")]


def ids(model):
    return type(model).__name__


def _full(model, X):
    """Every item of each row, best first, and the scores: the unfiltered reference."""
    everything = copy.deepcopy(model).set_params(
        n_recommendations=model.n_items_, exclude_seen=False
    )
    return everything.predict(X, return_scores=True)


def strike_out(ranked, scores, banned_rows, k, padding_value=-1):
    """The first ``k`` items of each full ranking that are not banned (padding after them)."""
    items = np.full((len(ranked), k), padding_value, dtype=ranked.dtype)
    kept_scores = np.full((len(ranked), k), -np.inf)
    for row, banned in enumerate(banned_rows):
        keep = ~np.isin(ranked[row], list(banned))
        found = ranked[row][keep][:k]
        items[row, : len(found)] = found
        kept_scores[row, : len(found)] = scores[row][keep][:k]
    return items, kept_scores


@pytest.mark.parametrize("model", RECOMMENDERS, ids=ids)
def test_scores_come_with_the_items_best_first(model):
    X, _ = data()
    model = fitted(model)
    items, scores = model.predict(X, return_scores=True)
    np.testing.assert_array_equal(items, model.predict(X))
    assert scores.shape == items.shape and scores.dtype == np.float64
    assert (np.diff(scores, axis=1) <= 0).all()  # known prefixes: finite, non-increasing
    full_items, full_scores = _full(model, X)
    np.testing.assert_array_equal(full_items[:, : model.n_recommendations], items)
    np.testing.assert_array_equal(full_scores[:, : model.n_recommendations], scores)


@pytest.mark.parametrize("model", NEURAL, ids=ids)
def test_neural_scores_are_the_logits(model):
    """The scores of a neural model are ``encode(X) @ item_weights().T`` at the items."""
    X, _ = data()
    model = fitted(model)
    items, scores = model.predict(X[:40], return_scores=True)
    logits = model.encode(X[:40]) @ model.network_.item_weights().detach().numpy().T
    expected = np.take_along_axis(logits, np.searchsorted(model.items_, items), axis=1)
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)


def test_item_knn_scores_are_the_similarity_of_the_last_click():
    X, _ = data()
    model = fitted(skvaser.ItemKNNRecommender())
    items, scores = model.predict(X[:40], return_scores=True)
    similarity = model.similarity_.toarray()
    last = np.searchsorted(model.items_, X[:40, -1])
    expected = np.take_along_axis(similarity[last], np.searchsorted(model.items_, items), axis=1)
    np.testing.assert_allclose(scores, expected)


@pytest.mark.parametrize("model", RECOMMENDERS, ids=ids)
def test_cold_start_gets_the_most_clicked_items(model):
    """Empty, all-unknown and new-visitor rows: the training data's most clicked items."""
    X, y = data()
    model = fitted(model)
    if hasattr(model, "item_popularity_"):  # neighbourhood models: items of the most sessions
        popularity = model.item_popularity_
    else:  # neural models: items most often clicked next
        popularity = np.bincount(np.searchsorted(model.items_, y), minlength=model.n_items_)
    expected = model.items_[np.argsort(-popularity, kind="stable")[: model.n_recommendations]]
    cold = np.array([padded([]), padded([UNKNOWN]), padded([UNKNOWN, UNKNOWN + 1])])
    items, scores = model.set_params(handle_unknown="ignore").predict(cold, return_scores=True)
    np.testing.assert_array_equal(items, [expected] * 3)
    assert np.isnan(scores).all()
    queries = model.make_queries([[], [UNKNOWN]])
    np.testing.assert_array_equal(model.predict(queries), [expected] * 2)


@pytest.mark.parametrize("model", RECOMMENDERS, ids=ids)
def test_a_batch_of_new_visitors_alone_is_served_with_string_skus(model):
    """A batch without one known click (no id to tell the ids' type) and an empty set of
    allowed items: the ids are the model's own kind, strings here."""
    X, y = data()
    skus = np.array([f"SKU-{item}" for item in range(int(y.max()) + 1)], dtype=object)
    X_skus = np.where(X >= 0, skus[np.maximum(X, 0)], -1)
    model = clone(model).fit(X_skus, skus[y])
    for queries in (model.make_queries([[]]), model.make_queries([[], []])):
        ranked = model.predict(queries)
        assert ranked.shape == (len(queries), model.n_recommendations)
        assert all(str(item).startswith("SKU-") for item in ranked.ravel())
    nothing = model.predict(X_skus[:2], allowed_items=set())
    np.testing.assert_array_equal(nothing, np.full((2, model.n_recommendations), -1))
    with pytest.raises(TypeError, match=r"the single id 'SKU-1': wrap it in a list, \['SKU-1'\]"):
        model.predict(X_skus[:2], allowed_items="SKU-1")  # not its characters


@pytest.mark.parametrize("model", RECOMMENDERS, ids=ids)
def test_python_lists_of_skus_keep_their_padding_and_their_types(model):
    """NumPy makes text of a list with one string in it; the padding -1 stays padding and
    the item 7 and the item "7" stay two kinds, which is an error."""
    X, y = data()
    skus = [f"SKU-{item}" for item in range(int(y.max()) + 1)]
    X_lists = [[skus[item] if item >= 0 else -1 for item in row] for row in X.tolist()]
    model = clone(model).fit(X_lists, [skus[item] for item in y])
    assert -1 not in model.items_ and "-1" not in model.items_
    ranked = model.predict([X_lists[0]])
    assert all(str(item).startswith("SKU-") for item in ranked.ravel())
    with pytest.raises(TypeError, match=r"mixed types, such as 7 \(int\) and '7' \(str\)"):
        clone(model).fit([[-1, 7], [7, "7"]], ["8", "9"])
    with pytest.raises(TypeError, match="mixed types"):
        clone(model).fit([[-1, "7"], ["7", "8"]], [7, "9"])


@pytest.mark.parametrize("model", SCORING, ids=ids)
def test_exclude_seen_strikes_out_the_prefix_items(model):
    X, _ = data()
    reference = fitted(model)
    excluding = fitted(model).set_params(exclude_seen=True)
    items, scores = excluding.predict(X, return_scores=True)
    full_items, full_scores = _full(reference, X)
    seen = [set(row[row >= 0]) for row in X]
    expected_items, expected_scores = strike_out(full_items, full_scores, seen, 20)
    np.testing.assert_array_equal(items, expected_items)
    np.testing.assert_array_equal(scores, expected_scores)
    assert not any(np.isin(row, list(clicks)).any() for row, clicks in zip(items, seen))


@pytest.mark.parametrize("model", SCORING, ids=ids)
def test_allowed_items_are_applied_inside_the_ranking(model):
    X, _ = data()
    model = fitted(model)
    before = model.predict(X)
    full_items, full_scores = _full(model, X)
    for allowed in (model.items_[::3], model.items_[:4], [model.items_[5], UNKNOWN]):
        items, scores = model.predict(X, allowed_items=allowed, return_scores=True)
        banned = set(model.items_) - set(allowed)
        expected_items, expected_scores = strike_out(
            full_items, full_scores, [banned] * len(X), 20
        )
        np.testing.assert_array_equal(items, expected_items)
        np.testing.assert_array_equal(scores, expected_scores)
    # any collection of ids works; ids of another type than fit's are an error
    expected = model.predict(X, allowed_items=model.items_[::2])
    stock = dict.fromkeys(model.items_[::2].tolist(), 1)
    for allowed in (set(stock), frozenset(stock), stock.keys(), (item for item in stock)):
        np.testing.assert_array_equal(model.predict(X, allowed_items=allowed), expected)
    with pytest.raises(TypeError, match="allowed_items holds string item ids.*integer ids"):
        model.predict(X, allowed_items=["a", "b"])
    # a set together with exclude_seen; the fitted model is unchanged
    both = model.set_params(exclude_seen=True).predict(X, allowed_items=set(model.items_[::2]))
    assert np.isin(both[both != -1], model.items_[::2]).all()
    np.testing.assert_array_equal(model.set_params(exclude_seen=False).predict(X), before)


@pytest.mark.parametrize("model", RECOMMENDERS, ids=ids)
def test_padding_never_comes_back_as_an_item(model):
    """With string ids padded with None: fewer candidates than k give None, never an item."""
    X, y = data()
    as_text = np.vectorize(lambda i: None if i < 0 else f"sku{i}", otypes=[object])
    model = clone(model).set_params(padding_value=None).fit(as_text(X), as_text(y))
    rows = np.vstack([as_text(X[:5]), model.make_queries([[]])])  # a new visitor's row too
    items, scores = model.predict(rows, allowed_items=model.items_[:3], return_scores=True)
    assert (items[:, 3:] == None).all() and np.isneginf(scores[:, 3:]).all()  # noqa: E711
    assert None not in set(model.items_) and np.isin(items[:, :3], model.items_).all()


@pytest.mark.parametrize("model", RECOMMENDERS, ids=ids)
def test_make_queries_asks_for_the_next_click_of_whole_sessions(model):
    """A live session's query row is the row of the same prefix in the training expansion."""
    X, _ = data()
    model = fitted(model)
    sessions = [list(row[row >= 0]) for row in X[:30]]
    queries = model.make_queries(sessions)
    np.testing.assert_array_equal(queries, X[:30])
    long = list(model.items_) * 2
    np.testing.assert_array_equal(model.make_queries([long])[0], long[-MAX_LEN:])
    np.testing.assert_array_equal(model.make_queries([[], [7]]), [padded([]), padded([7])])
    np.testing.assert_array_equal(
        sessions_to_queries([["a"], []], max_len=2, padding_value=None),
        np.array([[None, "a"], [None, None]], dtype=object),
    )
    assert sessions_to_queries([[]], max_len=2, padding_value=None).dtype == object
    np.testing.assert_array_equal(sessions_to_queries([[3], []], max_len=2), [[-1, 3], [-1, -1]])
    live = ([3], [], [4, 5])  # any iterable of sessions, a generator too
    for sessions in (live, (session for session in live), iter(live)):
        np.testing.assert_array_equal(
            sessions_to_queries(sessions, max_len=2), [[-1, 3], [-1, -1], [4, 5]]
        )


def test_sessions_to_queries_rejects_bad_input():
    with pytest.raises(ValueError, match="max_len must be a positive integer"):
        sessions_to_queries([[1]], max_len=0)
    with pytest.raises(ValueError, match="padding_value='' is also an item id in sessions"):
        sessions_to_queries([["a", ""]], padding_value="")
    with pytest.raises(ValueError, match="2-D array.*pass it to predict directly"):
        sessions_to_queries(np.zeros((2, 3), dtype=int))
    with pytest.raises(TypeError, match="mixed types"):
        sessions_to_queries([["a", 1]])
    for flat, first in ((["SKU-1", "SKU-7"], "'SKU-1'"), ([3, 4], "3")):  # one session, unwrapped
        with pytest.raises(TypeError, match=f"got {first} as a session. Wrap a single session"):
            sessions_to_queries(flat)


@pytest.mark.parametrize("model", RECOMMENDERS[:1] + NEURAL[:1], ids=ids)
def test_unknown_items_warn_once_per_call_at_the_callers_line(model):
    X, y = data()
    groups = np.arange(len(X)) // 4
    X = X.copy()
    X[::7, -1] = UNKNOWN
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cross_validate(clone(model), X, y, groups=groups, cv=SessionSplitter(n_splits=2))
    unknown = [w for w in caught if "not seen in fit" in str(w.message)]
    assert 1 <= len(unknown) <= 2 * 2  # at most one per predict call (two folds)
    assert {w.filename for w in unknown} == {__file__}
    if hasattr(model, "encode"):  # under torch.no_grad's wrapper too
        with pytest.warns(UserWarning, match="not seen in fit") as caught:
            fitted(model).encode(X)
        assert caught[0].filename == __file__


@pytest.mark.parametrize("model", SCORING, ids=ids)
def test_dump_and_load_give_the_same_model(model, tmp_path):
    X, _ = data()
    model = fitted(model)
    path = tmp_path / "model.npz"
    dump(model, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load(path)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    for filters in ({}, {"allowed_items": model.items_[::2]}):
        expected = model.predict(X, return_scores=True, **filters)
        found = loaded.predict(X, return_scores=True, **filters)
        np.testing.assert_array_equal(found[0], expected[0])
        np.testing.assert_array_equal(found[1], expected[1])


def test_dump_writes_the_path_it_is_given(tmp_path):
    model = fitted(skvaser.ItemKNNRecommender())
    for path in (tmp_path / "model.skv", str(tmp_path / "model")):
        dump(model, path)
        assert Path(path).is_file() and not Path(f"{path}.npz").exists()
        np.testing.assert_array_equal(load(path).items_, model.items_)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def _archive(model):
    buffer = io.BytesIO()
    dump(model, buffer)
    with np.load(io.BytesIO(buffer.getvalue())) as archive:
        return {key: archive[key] for key in archive.files}


def _rewrite(arrays, **replace):
    buffer = io.BytesIO()
    np.savez(buffer, **{**arrays, **replace})
    return buffer.getvalue()


def test_load_refuses_tampered_files():
    model = fitted(skvaser.ItemKNNRecommender())
    arrays = _archive(model)
    header = json.loads(arrays["skvaser.json"].tobytes())

    def with_header(**changes):
        document = json.dumps({**header, **changes}).encode()
        return _rewrite(arrays, **{"skvaser.json": np.frombuffer(document, dtype=np.uint8)})

    with pytest.raises(ValueError, match=r"asks for a 'os\.system', which is not trusted"):
        load(with_header(**{"class": "os.system"}))
    with pytest.raises(ValueError, match="asks for a 'TrainingHistory', which is not trusted"):
        load(with_header(**{"class": "TrainingHistory"}))
    state = dict(header["state"])
    state["dict"] = {**state["dict"], "_order": {"object": "Popen", "state": {"dict": {}}}}
    with pytest.raises(ValueError, match="asks for a 'Popen', which is not trusted"):
        load(with_header(state=state))
    with pytest.raises(ValueError, match="Unknown model file format 99"):
        load(with_header(format=99))
    pickled = np.array([{"a": 1}], dtype=object)  # an array that only pickle can read
    with pytest.raises(ValueError, match="Could not read a skvaser model file"):
        load(_rewrite(arrays, array_0=pickled))
    whole = _rewrite(arrays)
    with pytest.raises(ValueError, match="truncated, damaged"):
        load(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match="no skvaser model header"):
        load(_rewrite({key: value for key, value in arrays.items() if key != "skvaser.json"}))
    with pytest.raises(TypeError, match="skvaser's recommenders only; got a LinearRegression"):
        dump(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), io.BytesIO())
    with pytest.raises(ValueError, match="not fitted yet"):
        dump(clone(model), io.BytesIO())


def test_load_says_what_a_file_of_another_kind_is(tmp_path):
    """A pickle or joblib file, or one NumPy array, is named as such, without NumPy's advice to
    load it with allow_pickle (an argument that load does not have)."""
    import joblib

    model = fitted(skvaser.ItemKNNRecommender())
    pickled = tmp_path / "model.pkl"
    joblib.dump(model, pickled)
    for file in (pickled, io.BytesIO(b"session_id,item_id\n1,2\n")):
        with pytest.raises(ValueError, match=r"neither an archive written by skvaser\."
                           r"persistence\.dump nor any NumPy file\. If it is a pickle or "
                           r"joblib file") as error:
            load(file)
        assert "allow_pickle" not in str(error.value)
    array = io.BytesIO()
    np.save(array, np.arange(3))
    with pytest.raises(ValueError, match=r"holds one NumPy array \(\.npy\)"):
        load(array.getvalue())


def test_load_refuses_weights_that_do_not_fit_the_network():
    """A neural model's archive whose weight array has another shape: a ValueError that says
    the file is damaged, not PyTorch's RuntimeError."""
    arrays = _archive(fitted(NEURAL[0]))
    name, weight = max(((key, value) for key, value in arrays.items() if value.ndim == 2),
                       key=lambda item: item[1].size)
    with pytest.raises(ValueError, match="do not fit VASERRecommender's network: the model file "
                       "is damaged or altered"):
        load(_rewrite(arrays, **{name: weight[:-1]}))


def test_load_refuses_a_state_of_the_wrong_kinds():
    """Values of another kind or missing where the state needs them: the file is damaged,
    never an AttributeError or a model that fails at predict."""
    arrays = _archive(fitted(NEURAL[0]))
    header = json.loads(arrays["skvaser.json"].tobytes())
    attributes = header["state"]["dict"]
    alterations = [
        {**attributes, "device_": {"device": "gpu0"}},
        {**attributes, "padding_value": {"dict": [1, 2]}},
        {name: value for name, value in attributes.items() if name != "n_items_"},
        {name: value for name, value in attributes.items() if name != "_network_weights"},
    ]
    for altered in alterations:
        document = json.dumps({**header, "state": {"dict": altered}}).encode()
        with pytest.raises(ValueError, match="damaged or altered|was altered"):
            load(_rewrite(arrays, **{"skvaser.json": np.frombuffer(document, dtype=np.uint8)}))


def test_a_model_of_a_missing_gpu_loads_on_the_gpu_there_is(monkeypatch):
    """Trained on cuda:3, loaded where CUDA has one device: on that device, with a warning,
    not a crash (simulated: no GPU needed)."""
    import pickle

    import torch

    blob = pickled_as_if_trained_on(fitted(NEURAL[0]), "cuda:3")
    moved_to = []

    def record_to(self, device, *args, **kwargs):
        moved_to.append(torch.device(device))
        return self

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.nn.Module, "to", record_to)
    with pytest.warns(UserWarning, match="trained on cuda:3.*loaded on cuda"):
        loaded = pickle.loads(blob)
    assert moved_to == [torch.device("cuda")] and loaded.device_ == torch.device("cuda")


@pytest.mark.parametrize("other", ["99.0", "0.1.1"])  # any other release, a patch too
def test_another_version_warns_on_load(monkeypatch, tmp_path, other):
    model = fitted(skvaser.ItemKNNRecommender())
    buffer = io.BytesIO()
    dump(model, buffer)
    pickled = __import__("pickle").dumps(model)
    monkeypatch.setattr(skvaser, "__version__", other)
    for reload in (lambda: load(buffer.getvalue()), lambda: __import__("pickle").loads(pickled)):
        with pytest.warns(InconsistentVersionWarning, match=r"saved with skvaser 0\.1\.0 under "
                          rf"skvaser {other.replace('.', '[.]')}.*Refit") as caught:
            reload()
        assert caught[0].filename == __file__  # at the user's line, not inside skvaser


def test_a_model_saved_without_its_version_warns_on_load():
    """As by a release before versions were recorded."""
    model = fitted(skvaser.ItemKNNRecommender())
    state = model.__getstate__()
    del state["_skvaser_version"]
    with pytest.warns(InconsistentVersionWarning, match="saved with skvaser unknown under"):
        type(model).__new__(type(model)).__setstate__(state)


def test_a_fresh_process_gives_the_same_items_and_scores(tmp_path):
    """Fitted here, loaded in a new interpreter: identical items and scores (pickle and dump)."""
    X, _ = data()
    model = fitted(skvaser.NARMRecommender())
    dump(model, tmp_path / "model.npz")
    with open(tmp_path / "model.pkl", "wb") as file:
        __import__("pickle").dump(model, file)
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(f"""
        import pickle, numpy as np
        from skvaser.persistence import load
        X = np.load({str(tmp_path / "X.npy")!r})
        for name, model in (("npz", load({str(tmp_path / "model.npz")!r})),
                            ("pkl", pickle.load(open({str(tmp_path / "model.pkl")!r}, "rb")))):
            items, scores = model.predict(X, return_scores=True)
            np.save({str(tmp_path)!r} + f"/items_{{name}}.npy", items)
            np.save({str(tmp_path)!r} + f"/scores_{{name}}.npy", scores)
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    items, scores = model.predict(X, return_scores=True)
    for name in ("npz", "pkl"):
        np.testing.assert_array_equal(np.load(tmp_path / f"items_{name}.npy"), items)
        np.testing.assert_array_equal(np.load(tmp_path / f"scores_{name}.npy"), scores)


@settings(max_examples=30, deadline=None)
@given(
    allowed=st.lists(st.integers(0, 35), max_size=40),
    exclude_seen=st.booleans(),
    k=st.integers(1, 40),
    rows=st.lists(st.lists(st.integers(0, 35), max_size=MAX_LEN), min_size=1, max_size=5),
)
def test_filters_equal_their_definition(allowed, exclude_seen, k, rows):
    """Property: for any allowed set, seen filter and k, the result is the full ranking with
    the banned items struck out (Session-KNN: its filtering shares the code with Item-KNN)."""
    model = fitted(skvaser.SessionKNNRecommender())
    X = np.array([padded(row) for row in rows])
    model.set_params(n_recommendations=k, exclude_seen=exclude_seen, handle_unknown="ignore")
    items, scores = model.predict(X, allowed_items=allowed, return_scores=True)
    full_items, full_scores = _full(model, X)
    banned = [
        (set(model.items_) - set(allowed)) | (set(row) if exclude_seen else set())
        for row in rows
    ]
    cold = ~np.isin(X, model.items_).any(axis=1)
    expected_items, expected_scores = strike_out(full_items, full_scores, banned, k)
    np.testing.assert_array_equal(items[~cold], expected_items[~cold])
    np.testing.assert_array_equal(scores[~cold], expected_scores[~cold])
    # cold rows: most popular allowed items (nothing seen), NaN scores where there are items
    popular = model.items_[np.argsort(-model.item_popularity_, kind="stable")]
    popular = [item for item in popular if item in set(allowed)][:k]
    for row in np.flatnonzero(cold):
        np.testing.assert_array_equal(items[row, : len(popular)], popular)
        assert (items[row, len(popular):] == -1).all()


@pytest.mark.parametrize("model", NEURAL[:2], ids=ids)
def test_batches_change_neural_scores_by_rounding_only(model):
    """The documented promise, on items built to nearly tie: a row's scores do not depend on
    its batch beyond float32 rounding, items swap only where their scores are that close, and
    exact ties always go to the lower item whatever the batch."""
    import torch

    X, _ = data()
    model = fitted(model)
    weights = model.network_.item_weights()
    with torch.no_grad():  # item 2i+1 a rounding away from item 2i; the last two exactly tied
        weights[1::2] = weights[:-1:2] * (1 + 2e-7)
        weights[-1] = weights[-2]
    together, together_scores = model.predict(X, return_scores=True)
    single = [model.predict(row[None], return_scores=True) for row in X]
    single_items = np.vstack([items for items, _ in single])
    single_scores = np.vstack([scores for _, scores in single])
    np.testing.assert_allclose(single_scores, together_scores, rtol=1e-5, atol=1e-6)
    tolerance = 1e-5 * np.abs(together_scores).max()
    for row in np.flatnonzero((single_items != together).any(axis=1)):
        differ = single_items[row] != together[row]
        # a swap at a position: the two items' scores are within rounding of each other
        assert (np.abs(single_scores[row, differ] - together_scores[row, differ])
                <= tolerance).all()
    tied = model.items_[-2:]
    for items in (together, single_items):
        for row in items:
            if tied[1] in row:  # the higher of two exactly tied items never comes first
                assert tied[0] in row[: list(row).index(tied[1])]
