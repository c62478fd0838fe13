"""The evaluation protocol of the published tables (``skvaser.evaluation``)."""

import numpy as np
import pytest

from skvaser import ItemKNNRecommender
from skvaser.evaluation import evaluate_recommender, synthetic_train_test


@pytest.mark.parametrize("padding_value", [None, ""])
def test_string_ids_with_the_models_own_padding(padding_value):
    """The prefixes are padded with the recommender's padding_value (string SKUs are padded
    with None or ""): the figures of the same data with integer ids."""
    train, test = synthetic_train_test(n_sessions=300, n_items=40, random_state=0)

    def as_skus(part):
        sessions, items, times = part
        return sessions, np.array([f"sku-{item:03d}" for item in items], dtype=object), times

    reference = evaluate_recommender(ItemKNNRecommender(), train, test, max_len=5)
    result = evaluate_recommender(ItemKNNRecommender(padding_value=padding_value),
                                  as_skus(train), as_skus(test), max_len=5)
    assert (result["recall"], result["mrr"]) == (reference["recall"], reference["mrr"])
    assert result["model"].padding_value == padding_value
    assert result["n_test"] == reference["n_test"] > 0
