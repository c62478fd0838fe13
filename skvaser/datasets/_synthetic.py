"""A synthetic click-log generator with the structure of real e-commerce sessions."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from .._sklearn import Interval, validate_params

__all__ = ["make_sessions"]

#: Longest session generated, in clicks.
MAX_LENGTH = 100
#: Spread (sigma of the log) of the session-length rate; 1.4 gives YOOCHOOSE's share of
#: two-click sessions (about 43 % at a mean of 4.2 clicks).
_LENGTH_SIGMA = 1.4
#: Probabilities of an item's first, second and third successor.
_SUCCESSOR_WEIGHTS = np.array([0.6, 0.3, 0.1])
#: 2014-04-01 00:00 UTC, where YOOCHOOSE's log starts.
_START_TIME = 1_396_310_400.0
#: Median seconds between two clicks of a session, and mean seconds between sessions.
_DWELL_SECONDS, _SESSION_GAP_SECONDS = 30.0, 120.0


@validate_params(
    {
        "n_sessions": [Interval(Integral, 0, None, closed="left")],
        "n_items": [Interval(Integral, 1, None, closed="left")],
        "n_intents": [Interval(Integral, 1, None, closed="left")],
        "mean_length": [Interval(Real, 2, MAX_LENGTH, closed="both")],
        "repeat_prob": [Interval(Real, 0, 1, closed="both")],
        "transition_strength": [Interval(Real, 0, 1, closed="both")],
        "popularity_exponent": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_sessions(
    n_sessions=1000,
    n_items=500,
    *,
    n_intents=20,
    mean_length=5.0,
    repeat_prob=0.1,
    transition_strength=0.5,
    popularity_exponent=1.0,
    random_state=None,
):
    """Generate a click log of sessions with realistic structure.

    Each session draws a latent intent, then clicks item after item. Its first click comes from
    the intent; every later click

    - with probability ``transition_strength``, follows the previous click: every item has
      three likely successors (chosen with probabilities 0.6, 0.3 and 0.1), a directed relation,
      so the order of clicks carries information that co-occurrence alone does not;
    - with probability ``repeat_prob``, repeats an earlier click of the session;
    - otherwise, is drawn from the session's intent, a distribution over a random subset of the
      items, so a session's earlier clicks tell which items are likely later.

    Item popularity is Zipf-like: the item of popularity rank ``r`` has weight
    ``r ** -popularity_exponent``, which weighs both the intents' distributions and the choice of
    successors. Session lengths are ``2 + Poisson(rate)`` with a log-normally distributed rate,
    capped at 100 clicks: most sessions are short and a few very long, as in YOOCHOOSE.

    Parameters
    ----------
    n_sessions : int, default=1000
        Number of sessions.
    n_items : int, default=500
        Number of items; ids are ``0..n_items-1`` (an unpopular item may never be clicked).
    n_intents : int, default=20
        Number of latent intents. Each covers about ``3 * n_items / n_intents`` items (at least
        two), so intents overlap.
    mean_length : float, default=5.0
        Mean number of clicks of a session, between 2 and 100. The cap at 100 clicks lowers the
        realised mean for larger values (10 gives about 9.6, 30 about 24).
    repeat_prob : float, default=0.1
        Probability that a click repeats an earlier click of its session.
    transition_strength : float, default=0.5
        Probability that a click follows a successor of the previous click.
        ``repeat_prob + transition_strength`` must not exceed 1.
    popularity_exponent : float, default=1.0
        Exponent of the Zipf-like popularity; 0 makes all items equally popular.
    random_state : int, RandomState instance or None, default=None
        Seed of the generator; an int gives the same log on every call.

    Returns
    -------
    session_ids : ndarray of int64, shape (n_clicks,)
        Session of each click: ``0..n_sessions-1`` in order of their start.
    item_ids : ndarray of int64, shape (n_clicks,)
        Clicked items.
    timestamps : ndarray of float64, shape (n_clicks,)
        Click times in unix seconds (from 2014-04-01 UTC, millisecond precision), strictly
        increasing: sessions follow one another and clicks are in time order within them.

    See Also
    --------
    sessions_to_prefixes : Expand the sessions into (prefix, next click) samples.

    Examples
    --------
    >>> from skvaser.datasets import make_sessions, sessions_to_prefixes
    >>> session_ids, item_ids, timestamps = make_sessions(1000, 200, random_state=0)
    >>> session_ids.shape == item_ids.shape == timestamps.shape
    True
    >>> len(item_ids) / 1000  # mean session length
    4.624
    >>> X, y, groups = sessions_to_prefixes(session_ids, item_ids, timestamps, max_len=10)
    >>> X.shape
    (3624, 10)
    """
    if repeat_prob + transition_strength > 1:
        raise ValueError(
            f"repeat_prob + transition_strength must not exceed 1; got {repeat_prob} + "
            f"{transition_strength}."
        )
    rng = check_random_state(random_state)

    # Zipf-like popularity over randomly ordered item ids.
    popularity = np.empty(n_items)
    popularity[rng.permutation(n_items)] = np.arange(1, n_items + 1) ** -float(popularity_exponent)
    popularity /= popularity.sum()

    # Intents: distributions over random item subsets, weighted by popularity, as cumulative
    # rows offset by the intent's index so that one searchsorted samples every session's intent.
    intent_size = min(n_items, max(2, round(3 * n_items / n_intents)))
    intent_items = np.stack(
        [rng.choice(n_items, intent_size, replace=False) for _ in range(n_intents)]
    )
    weights = popularity[intent_items] * rng.gamma(1.0, size=intent_items.shape)
    intent_cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    intent_cdf[:, -1] = 1.0
    intent_cdf += np.arange(n_intents)[:, None]
    intent_prior = rng.dirichlet(np.ones(n_intents))

    successors = rng.choice(n_items, size=(n_items, len(_SUCCESSOR_WEIGHTS)), p=popularity)

    rate = (mean_length - 2) * rng.lognormal(-(_LENGTH_SIGMA**2) / 2, _LENGTH_SIGMA, n_sessions)
    lengths = np.minimum(2 + rng.poisson(rate), MAX_LENGTH)
    starts = np.cumsum(lengths) - lengths
    intents = rng.choice(n_intents, n_sessions, p=intent_prior)

    def from_intent(intent):
        u = intent + rng.random_sample(len(intent))
        position = np.searchsorted(intent_cdf.ravel(), u, side="right") - intent * intent_size
        return intent_items[intent, np.clip(position, 0, intent_size - 1)]

    items = np.empty(int(lengths.sum()), dtype=np.int64)
    items[starts] = from_intent(intents)
    for t in range(1, int(lengths.max(initial=0))):  # one step for all sessions still going
        going = np.flatnonzero(lengths > t)
        clicks = starts[going] + t
        u = rng.random_sample(len(going))
        earlier = starts[going] + (rng.random_sample(len(going)) * t).astype(np.int64)
        successor = rng.choice(len(_SUCCESSOR_WEIGHTS), len(going), p=_SUCCESSOR_WEIGHTS)
        items[clicks] = np.select(
            [u < transition_strength, u < transition_strength + repeat_prob],
            [successors[items[clicks - 1], successor], items[earlier]],
            from_intent(intents[going]),
        )

    session_ids = np.repeat(np.arange(n_sessions, dtype=np.int64), lengths)
    gaps = 1.0 + rng.lognormal(np.log(_DWELL_SECONDS), 1.0, len(items))
    gaps[starts] = 1.0 + rng.exponential(_SESSION_GAP_SECONDS, n_sessions)
    timestamps = np.round(_START_TIME + np.cumsum(gaps), 3)
    return session_ids, items, timestamps
