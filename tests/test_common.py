"""The checks every skvaser recommender passes (imbalanced-learn's ``_yield_sampler_checks``).

Every class exported by :mod:`skvaser` that subclasses :class:`~skvaser.base.BaseRecommender` is
found at collection time and runs every check that :func:`_yield_recommender_checks` yields,
with the small settings of ``tests/_settings.py``; neural recommenders also run the training
fault checks. A check names the bad input it feeds and the error or the documented handling it
expects. scikit-learn's own estimator checks are in ``test_estimator_checks.py``.
"""

import copy
import functools
import inspect
import pickle
import re
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from _settings import all_recommenders, fast_params, make_fast
from conftest import interrupt_after
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

import skvaser
import skvaser.nn.trainer as trainer
from skvaser import recall_at_k, sessions_to_prefixes
from skvaser.base import BaseRecommender
from skvaser.datasets import make_sessions
from skvaser.models.neural import NeuralRecommender, resolve_matmul_precision

MAX_LEN = 6
UNKNOWN = 10**6  # an item id no model saw
HUGE_UNKNOWN = 2**40  # beyond the dense encoding table


@functools.cache
def _prefixes():
    """(X, y, groups): about 440 prefixes of 120 synthetic sessions over 30 items, width 6."""
    prefixes = sessions_to_prefixes(*make_sessions(120, 30, random_state=0), max_len=MAX_LEN)
    for array in prefixes:
        array.setflags(write=False)
    return prefixes


def _data():
    return _prefixes()[:2]


@functools.cache
def _fitted(cls):
    """A model of ``cls`` fitted on ``_data()``; checks copy it before changing it."""
    return make_fast(cls).fit(*_data())


def data():
    X, y = _data()
    return X.copy(), y.copy()


def fitted(estimator):
    return copy.deepcopy(_fitted(type(estimator)))


def predict_quietly(model, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return model.predict(X)


def padded(clicks, width=MAX_LEN, padding_value=-1):
    """One left-padded prefix row of ``clicks``."""
    return np.array([padding_value] * (width - len(clicks)) + list(clicks), dtype=np.int64)


# ---------------------------------------------------------------------- checks: bad input
def check_empty_input(estimator):
    """No rows: fit raises naming the sample count; predict returns no rows."""
    X, y = data()
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 6\)\)"):
        clone(estimator).fit(np.empty((0, MAX_LEN), dtype=np.int64), np.empty(0, dtype=np.int64))
    with pytest.raises(ValueError, match=r"2-D array \(n_samples, max_len\).*shape \(0,\)"):
        clone(estimator).fit([], [])
    model = fitted(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranked = model.predict(np.empty((0, MAX_LEN), dtype=np.int64))
    assert ranked.shape == (0, model.n_recommendations) and ranked.dtype == np.int64
    with pytest.raises(ValueError, match="empty: there is nothing to score"):
        model.score(np.empty((0, MAX_LEN), dtype=np.int64), np.empty(0, dtype=np.int64))


def check_non_finite_and_float_ids(estimator):
    """NaN, inf and fractional ids raise naming the array; integral floats are ids."""
    X, y = data()
    item = X[0, -1]
    for bad in (np.nan, np.inf, -np.inf):
        X_bad = np.where(X == item, bad, X)
        with pytest.raises(ValueError, match="X contains NaN or infinite values"):
            clone(estimator).fit(X_bad, y)
        y_bad = np.where(y == y[0], bad, y)
        with pytest.raises(ValueError, match="y contains NaN or infinite values"):
            clone(estimator).fit(X, y_bad)
    with pytest.raises(ValueError, match=r"X contains non-integer values such as .*2\.5"):
        clone(estimator).fit(np.where(X == item, 2.5, X), y)
    with pytest.raises(ValueError, match="y contains non-integer values"):
        clone(estimator).fit(X, y + 0.25)
    model = fitted(estimator)
    with pytest.raises(ValueError, match="X contains NaN or infinite values"):
        model.predict(np.where(X == item, np.nan, X))
    with pytest.raises(ValueError, match="y contains NaN or infinite values"):
        model.score(X, np.where(y == y[0], np.nan, y))
    # floats holding integers are the same ids
    as_floats = clone(estimator).fit(X.astype(np.float64), y.astype(np.float32))
    np.testing.assert_array_equal(as_floats.items_, model.items_)
    np.testing.assert_array_equal(as_floats.predict(X.astype(np.float64)), model.predict(X))


def check_negative_ids(estimator):
    """A negative id other than padding_value raises naming both; padding_value is free."""
    X, y = data()
    with pytest.raises(ValueError, match=r"X contains negative values other than "
                       r"padding_value=-1 \(e\.g\. -5\)"):
        clone(estimator).fit(np.where(X == X[0, -1], -5, X), y)
    with pytest.raises(ValueError, match=r"y contains negative values \(e\.g\. -1\)"):
        clone(estimator).fit(X, np.where(y == y[0], -1, y))
    model = fitted(estimator)
    with pytest.raises(ValueError, match="padding_value=-1 .*-7"):
        model.predict(np.where(X == X[0, -1], -7, X))
    # another padding value: -9 pads, -1 is now a bad id
    other = clone(estimator).set_params(padding_value=-9)
    other.fit(np.where(X == -1, -9, X), y)
    np.testing.assert_array_equal(other.items_, model.items_)
    with pytest.raises(ValueError, match="padding_value=-9 .*-1"):
        other.predict(X)
    with pytest.raises(ValueError, match="padding_value"):
        clone(estimator).set_params(padding_value=0).fit(X, y)
    with pytest.raises(ValueError, match="do not fit in int64"):
        beyond = X.astype(np.uint64)
        beyond[X < 0] = 2**63  # (np.where(X < 0, 2**63, X) overflows int64 from numpy 2.5)
        clone(estimator).fit(beyond, y)


def check_all_padding_rows(estimator):
    """Rows without a click: fit leaves them out with a warning; predict (a new visitor, no
    warning) gives them the most clicked items."""
    X, y = data()
    empty = np.full((3, MAX_LEN), -1)
    with pytest.warns(UserWarning, match=r"3 of \d+ prefixes in X contain no click .*left out"):
        with_empty = clone(estimator).fit(np.vstack([empty, X]), np.r_[[1, 2, 3], y])
    np.testing.assert_array_equal(with_empty.predict(X), fitted(estimator).predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranked = with_empty.predict(empty[:2])
    np.testing.assert_array_equal(ranked[0], ranked[1])
    assert np.isin(ranked, with_empty.items_).all()
    with pytest.raises(ValueError, match="Every prefix in X is empty"):
        clone(estimator).fit(empty, [1, 2, 3])


def check_prefix_width(estimator):
    """Prefixes wider or narrower than in fit raise naming both widths and the remedy."""
    X, y = data()
    model = fitted(estimator)
    wider = np.hstack([np.full((len(X), 2), -1), X])
    name = type(estimator).__name__
    for bad, width in ((wider, MAX_LEN + 2), (X[:, 1:], MAX_LEN - 1)):
        message = (
            rf"X has {width} features, but {name} is expecting {MAX_LEN} features as input\. "
            rf"X holds prefixes of width \(max_len\) {width}, but this model was fitted on "
            rf"prefixes of width {MAX_LEN}.*max_len={MAX_LEN}.*X\[:, -{MAX_LEN}:\]"
        )
        with pytest.raises(ValueError, match=message):
            model.predict(bad)
        with pytest.raises(ValueError, match=message):
            model.score(bad, y)
    # the remedy works
    np.testing.assert_array_equal(model.predict(wider[:, -MAX_LEN:]), model.predict(X))


def check_unknown_items(estimator):
    """Unknown prefix items are skipped, never recommended; unknown targets are misses."""
    X, y = data()
    model = fitted(estimator)
    known = model.items_
    a, b = known[0], known[-1]
    rows = np.array([
        padded([a, b]),
        padded([UNKNOWN, a, b]),  # a leading unknown click is padding
        padded([HUGE_UNKNOWN, a, b]),
        padded([]),
        padded([UNKNOWN]),  # only unknown clicks: the empty session
        padded([UNKNOWN, HUGE_UNKNOWN, UNKNOWN + 1]),
    ])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ranked = model.predict(rows)
    assert [str(warning.message) for warning in caught] == [
        f"4 of 6 prefixes in X contain items not seen in fit (6 clicks, such as {UNKNOWN}); "
        "those clicks are skipped. Set handle_unknown='ignore' to skip them silently."
    ]
    assert caught[0].filename == __file__  # the caller's line, not skvaser's
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.predict(rows[1:2])
    assert [str(warning.message) for warning in caught] == [
        f"1 of 1 prefixes in X contain items not seen in fit (1 click, such as {UNKNOWN}); "
        "that click is skipped. Set handle_unknown='ignore' to skip them silently."
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ignored = model.set_params(handle_unknown="ignore").predict(rows)
    np.testing.assert_array_equal(ignored, ranked)
    with pytest.raises(ValueError, match=rf"4 of 6 prefixes .* such as {UNKNOWN}.*'ignore'"):
        model.set_params(handle_unknown="error").predict(rows)
    model.set_params(handle_unknown="warn")
    assert np.isin(ranked, known).all()
    for row in (1, 2):
        np.testing.assert_array_equal(ranked[row], ranked[0])
    for row in (4, 5):
        np.testing.assert_array_equal(ranked[row], ranked[3])
    # unknown targets count as misses: Recall@20 with them replaced equals the known hits
    replaced = np.arange(len(y)) % 3 == 0
    y_unknown = np.where(replaced, UNKNOWN, y)
    hits = (model._recommend(X, 20)[0] == y[:, None]).any(axis=1)
    assert model.score(X, y_unknown) == pytest.approx(np.mean(hits & ~replaced))
    assert model.score(X, np.full(len(y), HUGE_UNKNOWN)) == 0.0


def check_single_item(estimator):
    """A catalogue of one item: that item first, padding_value after it."""
    X = np.array([padded([7]), padded([7, 7]), padded([7, 7, 7])])
    model = clone(estimator).set_params(n_recommendations=4).fit(X, [7, 7, 7])
    np.testing.assert_array_equal(model.items_, [7])
    with pytest.warns(UserWarning, match="1 of 3 prefixes in X contain items not seen"):
        ranked = model.predict(np.array([padded([7]), padded([]), padded([UNKNOWN])]))
    np.testing.assert_array_equal(ranked, [[7, -1, -1, -1]] * 3)
    assert model.score(X, [7, 7, 8]) == pytest.approx(2 / 3)


def check_mismatched_lengths(estimator):
    """X and y of different lengths raise naming both counts."""
    X, y = data()
    n = len(X)
    with pytest.raises(ValueError, match=f"X has {n} rows but y has {n - 1} entries"):
        clone(estimator).fit(X, y[:-1])
    with pytest.raises(ValueError, match=f"X has {n - 1} rows but y has {n} entries"):
        clone(estimator).fit(X[:-1], y)
    with pytest.raises(ValueError, match=f"X has {n} rows but y has {n - 1} entries"):
        fitted(estimator).score(X, y[:-1])


def check_wrong_dimensions(estimator):
    """1-D or 3-D X and 2-D y raise saying which shape is expected."""
    X, y = data()
    expect_2d = r"X must be a 2-D array \(n_samples, max_len\) of left-padded prefixes; got"
    with pytest.raises(ValueError, match=expect_2d + rf" an array of shape \({len(X)},\)"):
        clone(estimator).fit(X[:, -1], y)
    with pytest.raises(ValueError, match=expect_2d + r" .*\(\d+, 6, 1\)"):
        clone(estimator).fit(X[:, :, None], y)
    with pytest.raises(ValueError, match=r"y must be a 1-D array; got an array of shape"):
        clone(estimator).fit(X, np.c_[y, y])
    with pytest.raises(ValueError, match="y must be 1-D .*column vector"):
        clone(estimator).fit(X, y[:, None])
    model = fitted(estimator)
    with pytest.raises(ValueError, match=expect_2d + r".*reshape\(prefix, \(1, -1\)\)"):
        model.predict(X[0])
    with pytest.raises(ValueError, match=expect_2d):
        model.predict(X[None])
    with pytest.raises(ValueError, match=r"y must be a 1-D array"):
        model.score(X, np.c_[y, y])


def check_not_fitted(estimator):
    """predict and score before fit raise NotFittedError."""
    X, y = data()
    model = clone(estimator)
    for call in (lambda: model.predict(X), lambda: model.score(X, y)):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            call()


def check_string_ids(estimator):
    """String, bytes and object ids are ids like integers (as a classifier's string labels):
    the same model, the same recommendations; ids of mixed types raise naming both."""
    X, y = data()

    def as_strings(ids, kind=str):  # order-preserving, so the codes and the model are the same
        return np.array([None if i < 0 else kind(f"sku-{i:04d}") for i in ids.ravel()],
                        dtype=object).reshape(ids.shape)

    reference = fitted(estimator)
    for kind in (str, lambda text: text.encode()):
        model = clone(estimator).set_params(padding_value=None)
        model.fit(as_strings(X, kind), as_strings(y, kind))
        np.testing.assert_array_equal(model.items_, as_strings(reference.items_, kind))
        ranked, scores = model.predict(as_strings(X, kind), return_scores=True)
        assert ranked.dtype == object
        np.testing.assert_array_equal(ranked, as_strings(reference.predict(X), kind))
        np.testing.assert_allclose(scores, reference.predict(X, return_scores=True)[1])
        assert model.score(as_strings(X, kind), as_strings(y, kind)) == reference.score(X, y)
    # data frames of SKUs padded with None: pandas holds the padding as NaN or NA
    expected = as_strings(reference.predict(X))
    for frame in (pd.DataFrame(as_strings(X)), pd.DataFrame(as_strings(X)).astype("string")):
        model = clone(estimator).set_params(padding_value=None).fit(frame, as_strings(y))
        np.testing.assert_array_equal(model.items_, as_strings(reference.items_))
        np.testing.assert_array_equal(model.predict(frame), expected)
    # NumPy string arrays, padded with -1 (the default)
    text = np.where(X < 0, "-1", X.astype(str))
    model = clone(estimator).fit(np.where(X < 0, -1, text.astype(object)), y.astype(str))
    assert set(model.items_) == set(y.astype(str)) | set(text[X >= 0])
    with pytest.raises(TypeError, match=r"X and y hold item ids of different types "
                       r"\(integer and string\).*astype\(str\)"):
        clone(estimator).fit(X, np.array([f"item{i}" for i in y]))
    mixed = X.astype(object)
    mixed[0, -1] = "a"
    with pytest.raises(TypeError, match=r"X holds item ids of mixed types, such as 'a' \(str\) "
                       r"and \d+ \(int\)"):
        clone(estimator).fit(mixed, y)
    with pytest.raises(TypeError, match="got dtype bool"):
        clone(estimator).fit(X > 3, y)
    padded_otherwise = np.where(X < 0, -1, np.char.add("i", X.astype(str)).astype(object))
    with pytest.raises(TypeError, match=r"X holds -1 among item ids of another type, as if "
                       r"padded with -1, but padding_value is None.*padding_value=-1"):
        clone(estimator).set_params(padding_value=None).fit(padded_otherwise, y.astype(str))
    with pytest.raises(TypeError, match=r"X holds string item ids, but this model was fitted "
                       r"on integer ids"):
        fitted(estimator).predict(X.astype(str))
    target = as_strings(y)[0]
    clashing = np.where(X < 0, target, as_strings(X))
    with pytest.raises(ValueError, match=rf"padding_value='{target}' is also an item id in y"):
        clone(estimator).set_params(padding_value=target).fit(clashing, as_strings(y))
    with pytest.raises(TypeError, match=r"X holds -1 among integer item ids, as if padded with "
                       r"it, but padding_value=None is not an integer"):
        clone(estimator).set_params(padding_value=None).fit(X, y)
    with pytest.raises(ValueError, match=r"X contains missing values \(None\) that are not the "
                       r"padding value: if they pad the prefixes, give the model "
                       r"padding_value=None \(it is -1\)"):
        clone(estimator).fit(np.where(X < 0, None, X.astype(object)), y)
    # integer ids padded with None: a row of int64 ids holds no padding, and is served
    model = clone(estimator).set_params(padding_value=None)
    model.fit(np.where(X < 0, None, X.astype(object)), y)
    full_row = np.array([model.items_[:MAX_LEN]], dtype=np.int64)
    np.testing.assert_array_equal(model.predict(full_row), model.predict(full_row.astype(object)))


def check_more_recommendations_than_items(estimator):
    """n_recommendations beyond the catalogue: every item, then padding_value (documented)."""
    X = np.array([padded([1, 2]), padded([2, 3]), padded([3, 4]), padded([4, 5])])
    y = np.array([3, 4, 5, 1])
    for padding_value in (-1, -7):
        X_padded = np.where(X == -1, padding_value, X)
        model = clone(estimator).set_params(n_recommendations=8, padding_value=padding_value)
        ranked = model.fit(X_padded, y).predict(X_padded)
        assert ranked.shape == (4, 8)
        np.testing.assert_array_equal(np.sort(ranked[:, :5], axis=1), [[1, 2, 3, 4, 5]] * 4)
        np.testing.assert_array_equal(ranked[:, 5:], padding_value)
        assert model.score(X_padded, y) == 1.0  # every item is within the top 20 of 5
    assert "padding_value" in type(estimator).predict.__doc__


def check_predictions(estimator):
    """fit returns self; predict gives distinct known ids, best first; score is Recall@20."""
    X, y = data()
    model = clone(estimator)
    assert model.fit(X, y) is model
    ranked = model.predict(X)
    assert ranked.shape == (len(X), model.n_recommendations) and ranked.dtype == np.int64
    assert np.isin(ranked, model.items_).all()
    ordered = np.sort(ranked, axis=1)
    assert (ordered[:, 1:] != ordered[:, :-1]).all()
    np.testing.assert_array_equal(model.items_, np.unique(np.r_[X[X >= 0], y]))
    assert model.n_features_in_ == MAX_LEN
    assert model.score(X, y) == pytest.approx(recall_at_k(y, model.predict(X)[:, :20], k=20))
    # list input is accepted like arrays
    np.testing.assert_array_equal(model.predict(X[:5].tolist()), ranked[:5])


def check_ranking_parameters_are_checked_at_predict(estimator):
    """predict, score and encode check the ranking parameters that ``set_params`` may have
    changed since fit (serving's idiom): an invalid value raises naming it and never ranks
    (the string "False" would filter, being truthy); valid again, the model ranks as before."""
    model = fitted(estimator)
    X, y = data()
    expected = model.predict(X[:5])
    methods = [model.predict, functools.partial(model.score, y=y[:5])]
    if hasattr(model, "encode"):
        methods.append(model.encode)
    for name, value in [("exclude_seen", "False"), ("handle_unknown", "eror"),
                        ("n_recommendations", 0)]:
        model.set_params(**{name: value})
        for method in methods:
            with pytest.raises(InvalidParameterError,
                               match=rf"'{name}' parameter of {type(model).__name__}"):
                method(X[:5])
        model.set_params(**{name: estimator.get_params()[name]})
    np.testing.assert_array_equal(model.predict(X[:5]), expected)


def check_fit_takes_groups(estimator):
    """Every recommender fits with ``fit(X, y, groups=groups)``. The neural ones find a
    session's prefixes from the rows: ``groups`` changes nothing, and metadata routing never
    asks for it (no ``set_fit_request``)."""
    X, y = data()
    groups = _prefixes()[2]
    assert inspect.signature(type(estimator).fit).parameters["groups"].default is None
    model = clone(estimator).fit(X, y, groups=groups)
    if isinstance(estimator, NeuralRecommender):
        np.testing.assert_array_equal(model.predict(X), fitted(estimator).predict(X))
        assert not hasattr(estimator, "set_fit_request")


def check_data_frame_fit_serves_arrays(estimator):
    """Fitted on a data frame, a model ranks arrays (its own make_queries rows) as the frame,
    without scikit-learn's warning about feature names: a prefix's columns are positions. A
    frame with other column names is still refused."""
    X, y = data()
    columns = [f"click_{j}" for j in range(MAX_LEN)]
    model = clone(estimator).fit(pd.DataFrame(X, columns=columns), y)
    session = [item for item in X[-1] if item >= 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranked = model.predict(X)
        model.predict(model.make_queries([session]))
    np.testing.assert_array_equal(ranked, model.predict(pd.DataFrame(X, columns=columns)))
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(pd.DataFrame(X, columns=columns[::-1]))


def check_batch_composition(estimator):
    """A prefix's recommendations do not depend on the other rows of the batch."""
    X, _ = data()
    model = fitted(estimator)
    X = np.vstack([X[:150], [padded([])], [padded([UNKNOWN])], [padded([UNKNOWN, X[0, -1]])]])
    together = predict_quietly(model, X)
    one_by_one = np.vstack([predict_quietly(model, row[None]) for row in X])
    order = np.random.RandomState(0).permutation(len(X))
    shuffled = predict_quietly(model, X[order])[np.argsort(order)]
    chunks = np.vstack([predict_quietly(model, X[i : i + 7]) for i in range(0, len(X), 7)])
    doubled = predict_quietly(model, np.vstack([X, X]))
    np.testing.assert_array_equal(one_by_one, together)
    np.testing.assert_array_equal(shuffled, together)
    np.testing.assert_array_equal(chunks, together)
    np.testing.assert_array_equal(doubled, np.vstack([together, together]))


def _comparable(params):
    """``params`` with the estimators among them (a composite's members) by their repr."""
    return {
        name: repr(value) if isinstance(value, (BaseEstimator, list)) else value
        for name, value in params.items()
    }


def check_pickle_and_joblib(estimator, tmp_path):
    """Pickle and joblib round trips predict bit-identically; unfitted models pickle too."""
    X, y = data()
    model = fitted(estimator)
    expected = model.predict(X)
    joblib.dump(model, tmp_path / "model.joblib")
    for loaded in (pickle.loads(pickle.dumps(model)), joblib.load(tmp_path / "model.joblib")):
        assert type(loaded) is type(model)
        np.testing.assert_array_equal(loaded.predict(X), expected)
        np.testing.assert_array_equal(loaded.items_, model.items_)
        assert loaded.score(X, y) == model.score(X, y)
        assert _comparable(loaded.get_params()) == _comparable(model.get_params())
    unfitted = pickle.loads(pickle.dumps(clone(estimator)))
    assert _comparable(unfitted.get_params()) == _comparable(estimator.get_params())
    np.testing.assert_array_equal(unfitted.fit(X, y).predict(X), expected)


def check_same_random_state_same_model(estimator):
    """Two fits with the same random_state give the same predictions (and weights)."""
    X, y = data()
    first = clone(estimator).fit(X, y)
    second = clone(estimator).fit(X, y)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    if isinstance(first, NeuralRecommender):
        one, two = first.network_.state_dict(), second.network_.state_dict()
        assert all(torch.equal(one[name], two[name]) for name in one)
        assert first.loss_curve_ == second.loss_curve_


def check_clone_is_unfitted(estimator):
    """clone of a fitted model: same parameters, no fitted state."""
    model = fitted(estimator)
    copy_ = clone(model)
    assert _comparable(copy_.get_params()) == _comparable(model.get_params())
    with pytest.raises(NotFittedError):
        check_is_fitted(copy_)
    fitted_attributes = [name for name in vars(copy_) if name.endswith("_")]
    assert fitted_attributes == []
    with pytest.raises(NotFittedError):
        copy_.predict(data()[0])


def check_params_stored_verbatim(estimator):
    """__init__ stores its keyword arguments unchanged (no validation, no derived state)."""
    cls = type(estimator)
    signature = inspect.signature(cls.__init__)
    assert all(
        p.kind == p.KEYWORD_ONLY for name, p in signature.parameters.items() if name != "self"
    ), "parameters are keyword-only"
    sentinel = object()
    params = {name: sentinel for name in signature.parameters if name != "self"}
    model = cls(**params)
    assert all(getattr(model, name) is sentinel for name in params)


# ---------------------------------------------------------------------- checks: neural training
def _network_class(estimator):
    return type(_fitted(type(estimator)).network_)


def check_a_failed_refit_keeps_the_model(estimator):
    """A fit that fails -- on its data, or in its first epoch -- leaves the fitted model as it
    was: its vocabulary, its width and its predictions."""
    X, y = data()
    model = fitted(estimator)
    expected = model.predict(X)
    other_items = np.where(X >= 0, X + 1000, X)[:, 1:]  # another vocabulary, another width
    with pytest.raises(ValueError, match="rows but y has"):
        model.fit(other_items, y[:-1] + 1000)
    if isinstance(model, NeuralRecommender):
        original = _network_class(estimator).loss_terms

        def diverging(self, x, y_, generator):
            return {name: term * np.nan for name, term in original(self, x, y_, generator).items()}

        with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing was trained: no warning about weights
            patch.setattr(_network_class(estimator), "loss_terms", diverging)
            with pytest.raises(FloatingPointError):
                model.fit(other_items, y + 1000)
    else:
        with pytest.raises(ValueError, match="one session per row"):
            model.fit(other_items, y + 1000, groups=np.zeros(len(y) - 1))
    assert model.n_features_in_ == MAX_LEN and model.items_.max() < 1000
    np.testing.assert_array_equal(model.predict(X), expected)


def check_diverged_loss_names_the_term(estimator):
    """A NaN or infinite loss term stops fit with a FloatingPointError naming that term."""
    X, y = data()
    network_cls = _network_class(estimator)
    terms = list(_fitted(type(estimator)).loss_terms_[0])
    assert "reconstruction" in terms
    original = network_cls.loss_terms
    for term in terms:
        for value in (float("nan"), float("inf")):

            def diverging(self, x, y_, generator, term=term, value=value):
                result = dict(original(self, x, y_, generator))
                result[term] = result[term] * value
                return result

            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(network_cls, "loss_terms", diverging)
                message = f"The {term} term of the loss became {value} at step 1 of epoch 1"
                with pytest.raises(FloatingPointError, match=message):
                    clone(estimator).fit(X, y)


def check_failure_in_a_later_epoch_keeps_the_finished_ones(estimator):
    """An exception in epoch 2 is re-raised after a warning; the model then holds epoch 1:
    its attributes say so, it predicts as a one-epoch fit does and a warm start continues it
    as it continues that fit."""
    X, y = data()
    network_cls = _network_class(estimator)
    # A fixed annealing: "auto" follows max_iter, so a 3-epoch fit's first epoch would differ.
    fixed = {"beta_annealing_steps": 10} if "beta_annealing_steps" in estimator.get_params() else {}
    estimator = clone(estimator).set_params(**fixed)
    model = clone(estimator).set_params(max_iter=3, early_stopping=False)
    with pytest.MonkeyPatch.context() as patch:
        interrupt_after(patch, network_cls, epochs=1, error=MemoryError("out of memory"))
        with pytest.warns(UserWarning, match="failed during epoch 2 after 1 finished epoch"):
            with pytest.raises(MemoryError, match="out of memory"):
                model.fit(X, y)
    assert model.n_iter_ == 1 and len(model.loss_curve_) == len(model.loss_terms_) == 1
    one_epoch = clone(estimator).set_params(max_iter=1, early_stopping=False).fit(X, y)
    assert model.loss_curve_ == one_epoch.loss_curve_
    np.testing.assert_array_equal(model.predict(X), one_epoch.predict(X))
    # ... and a warm start continues it as it continues the one-epoch fit: the steps of the
    # finished epoch count (the step size, the annealing, the average and the seeds follow them)
    for fitted in (model, one_epoch):
        fitted.set_params(warm_start=True, max_iter=1).fit(X, y)
    assert model.loss_curve_ == one_epoch.loss_curve_


def check_keyboard_interrupt_keeps_a_usable_model(estimator):
    """Ctrl-C during fit warns and keeps a usable model: the best weights with validation."""
    X, y = data()
    network_cls = _network_class(estimator)
    # without validation: the weights of the last complete step
    with pytest.MonkeyPatch.context() as patch:
        interrupt_after(patch, network_cls, epochs=1)
        model = clone(estimator).set_params(max_iter=5, early_stopping=False)
        with pytest.warns(UserWarning, match="interrupted during epoch 2.*last complete step") \
                as caught:
            model.fit(X, y)
    assert caught[0].filename == __file__  # at the caller's line
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 1
    assert not model.network_.training
    assert model.predict(X[:5]).shape == (5, model.n_recommendations)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(model)).predict(X), model.predict(X)
    )
    # with validation: the weights of the best epoch so far (scripted scores: epoch 1 is best)
    snapshots = []

    def evaluate(network, batches, k=20):
        snapshots.append({n: t.clone() for n, t in network.state_dict().items()})
        return [0.3, 0.2][len(snapshots) - 1], 0.0

    with pytest.MonkeyPatch.context() as patch:
        interrupt_after(patch, network_cls, epochs=2)
        patch.setattr(trainer, "evaluate_network", evaluate)
        model = clone(estimator).set_params(max_iter=5, early_stopping=True, n_iter_no_change=5)
        with pytest.warns(UserWarning, match=r"interrupted during epoch 3.*best weights .*epoch 1"):
            model.fit(X, y)
    assert model.n_iter_ == 2 and model.validation_scores_ == [0.3, 0.2]
    assert model.best_validation_score_ == 0.3
    weights = model.network_.state_dict()
    assert all(torch.equal(weights[name], snapshots[0][name]) for name in weights)
    assert model.predict(X[:5]).shape == (5, model.n_recommendations)


def check_warm_start_continues(estimator):
    """warm_start=True continues from the fitted network; False starts over."""
    X, y = data()
    model = clone(estimator).set_params(warm_start=True)
    max_iter = model.max_iter
    model.fit(X, y)
    # a warm fit seeds from random_state as it is then: one seed twice continues alike, another
    # draws other batches and noise
    twins = [copy.deepcopy(model).set_params(random_state=seed) for seed in (1, 1, 2)]
    scores = [twin.fit(X, y).predict(X[:20], return_scores=True)[1] for twin in twins]
    np.testing.assert_array_equal(scores[0], scores[1])
    assert not np.array_equal(scores[0], scores[2])
    curve, items = list(model.loss_curve_), model.items_.copy()
    before = {n: t.clone() for n, t in model.network_.state_dict().items()}
    model.fit(X, y)
    assert model.n_iter_ == 2 * max_iter and model.loss_curve_[:max_iter] == curve
    after = model.network_.state_dict()
    assert any(not torch.equal(before[name], after[name]) for name in before)
    # the vocabulary of the first fit is kept: rows with new items are left out, with a warning
    X_new = np.vstack([X, [padded([UNKNOWN])]])
    with pytest.warns(UserWarning, match="warm_start keeps the item vocabulary.*1 rows") as caught:
        model.fit(X_new, np.r_[y, y[0]])
    assert caught[0].filename == __file__  # at the caller's line
    assert model.n_iter_ == 3 * max_iter
    np.testing.assert_array_equal(model.items_, items)
    with pytest.raises(TypeError, match="y holds string item ids, but this model was fitted on "
                       "integer ids"):
        model.fit(X, y.astype(str))
    assert model.n_iter_ == 3 * max_iter
    model.set_params(warm_start=False).fit(X, y)
    assert model.n_iter_ == max_iter
    np.testing.assert_array_equal(model.predict(X), fitted(estimator).predict(X))


def check_warm_start_with_nothing_to_learn(estimator):
    """A warm refit with no usable row raises naming the fix and leaves the model as it was;
    one usable row, or a catalogue of one item, trains."""
    X, y = data()
    model = clone(estimator).set_params(warm_start=True, early_stopping=False).fit(X, y)
    before = (model.n_iter_, model.predict(X))
    for rows, targets in (
        ([padded([])] * 2, [y[0], y[1]]),  # empty rows
        ([padded([UNKNOWN])], [y[0]]),  # unknown clicks
        ([X[0]], [UNKNOWN]),  # an unknown target
    ):
        with pytest.warns(UserWarning, match="warm_start keeps the item vocabulary"):
            with pytest.raises(ValueError, match=r"none of the \d+ rows can be trained on.*"
                               r"warm_start=False"):
                model.fit(np.array(rows), np.array(targets))
        assert model.n_iter_ == before[0]
        np.testing.assert_array_equal(model.predict(X), before[1])
    model.fit(X[:1], y[:1])  # one row
    assert model.n_iter_ == before[0] + model.max_iter
    single = clone(estimator).set_params(warm_start=True, early_stopping=False)
    single.fit([padded([7])], [7]).fit([padded([7, 7])], [7])  # one item, warm
    np.testing.assert_array_equal(single.predict([padded([7])])[0, :1], [7])


def pickled_as_if_trained_on(model, device):
    """``pickle.dumps(model)`` as the model fitted on ``device`` (e.g. ``"cuda:0"``) would be
    pickled: no GPU needed."""
    cls = type(model)
    original = cls.__getstate__

    def on_device(self):
        state = original(self)
        state["device_"] = device
        return state

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cls, "__getstate__", on_device)
        return pickle.dumps(model)


def check_cuda_model_loads_on_the_cpu(estimator):
    """A model pickled on CUDA loads on a CPU-only machine with a warning (yielded only where
    CUDA is absent: test_cuda.py covers real devices)."""
    X, _ = data()
    model = fitted(estimator)
    expected = model.predict(X)
    blob = pickled_as_if_trained_on(model, "cuda:0")
    with pytest.warns(UserWarning, match="trained on CUDA.*loaded on the CPU") as caught:
        loaded = pickle.loads(blob)
    assert caught[0].filename == __file__  # at the caller's line
    assert loaded.device_ == torch.device("cpu")
    np.testing.assert_array_equal(loaded.predict(X), expected)


def check_encode_ranks_like_predict(estimator):
    """``encode`` gives the vectors predict scores: ranking them against the item weights gives
    predict's recommendations; unfitted, it raises; rows encode independently of the batch."""
    X, _ = data()
    with pytest.raises(NotFittedError):
        clone(estimator).encode(X)
    model = fitted(estimator)
    encodings = model.encode(X)
    weights = model.network_.item_weights().detach().numpy()
    assert encodings.dtype == np.float32 and encodings.shape == (len(X), weights.shape[1])
    scores = torch.as_tensor(encodings) @ torch.as_tensor(weights).T
    k = min(model.n_recommendations, model.n_items_)
    best = torch.topk(scores, k, dim=1).values
    # predict's items score as high as the best k (ties may order differently)
    predicted = np.searchsorted(model.items_, model.predict(X)[:, :k])
    np.testing.assert_allclose(
        torch.gather(scores, 1, torch.as_tensor(predicted)).numpy(), best.numpy(), rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(model.encode(X[::-1])[::-1], encodings, rtol=1e-5, atol=1e-6)


def check_matmul_precision(estimator):
    """``matmul_precision``: explicit values are kept, ``"auto"`` takes bfloat16 exactly on a
    CPU with bfloat16 dot-product instructions, and bfloat16 products train like float32 ones
    (the loss of every epoch within 5 %)."""
    X, y = data()
    trained = {}
    for precision in ("float32", "bfloat16"):
        model = clone(estimator).set_params(matmul_precision=precision).fit(X, y)
        assert model.matmul_precision_ == precision
        trained[precision] = model
    np.testing.assert_allclose(
        trained["bfloat16"].loss_curve_, trained["float32"].loss_curve_, rtol=0.05
    )
    for avx512_bf16, amx, expected in [(False, False, "float32"), (True, False, "bfloat16"),
                                       (False, True, "bfloat16")]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
            patch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
            model = clone(estimator).set_params(matmul_precision="auto", max_iter=1).fit(X, y)
            assert resolve_matmul_precision("auto", torch.device("cuda")) == "float32"
        assert model.matmul_precision_ == expected


# ---------------------------------------------------------------------- the generator
def _yield_recommender_checks(estimator):
    """Every check that ``estimator`` (an unfitted recommender) must pass."""
    yield check_predictions
    yield check_empty_input
    yield check_non_finite_and_float_ids
    yield check_negative_ids
    yield check_all_padding_rows
    yield check_prefix_width
    yield check_unknown_items
    yield check_single_item
    yield check_mismatched_lengths
    yield check_wrong_dimensions
    yield check_not_fitted
    yield check_string_ids
    yield check_more_recommendations_than_items
    yield check_ranking_parameters_are_checked_at_predict
    yield check_fit_takes_groups
    yield check_data_frame_fit_serves_arrays
    yield check_batch_composition
    yield check_pickle_and_joblib
    if "random_state" in estimator.get_params():
        yield check_same_random_state_same_model
    yield check_clone_is_unfitted
    yield check_params_stored_verbatim
    yield check_a_failed_refit_keeps_the_model
    if isinstance(estimator, NeuralRecommender):
        yield check_diverged_loss_names_the_term
        yield check_keyboard_interrupt_keeps_a_usable_model
        yield check_failure_in_a_later_epoch_keeps_the_finished_ones
        yield check_warm_start_continues
        yield check_warm_start_with_nothing_to_learn
        yield check_encode_ranks_like_predict
        yield check_matmul_precision
        if not torch.cuda.is_available():
            yield check_cuda_model_loads_on_the_cpu


RECOMMENDERS = all_recommenders()


def _cases():
    for cls in RECOMMENDERS:
        estimator = make_fast(cls)
        for check in _yield_recommender_checks(estimator):
            yield pytest.param(estimator, check, id=f"{cls.__name__}-{check.__name__}")


@pytest.mark.parametrize("estimator, check", list(_cases()))
def test_recommender_checks(estimator, check, tmp_path):
    if "tmp_path" in inspect.signature(check).parameters:
        check(clone(estimator), tmp_path=tmp_path)
    else:
        check(clone(estimator))


def test_every_recommender_is_found():
    names = {cls.__name__ for cls in RECOMMENDERS}
    assert {"VASERRecommender", "NARMRecommender", "ItemKNNRecommender"} <= names
    # recommenders of the implementation modules are exported, so the suite sees them
    for module in (skvaser.models, skvaser.neighbors):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseRecommender):
                assert name in skvaser.__all__, f"{module.__name__}.{name} is not exported"


def test_fast_params_are_accepted():
    for cls in RECOMMENDERS:
        params = fast_params(cls)
        assert set(params) <= set(cls().get_params()), cls.__name__
        assert params.get("random_state", 0) == 0
        # on the CPU, members too: the checks compare fits exactly, which CUDA does not repeat
        deep = cls(**params).get_params(deep=True)
        devices = {key: value for key, value in deep.items() if re.fullmatch(r"(.*__)?device", key)}
        assert all(value == "cpu" for value in devices.values()), (cls.__name__, devices)
