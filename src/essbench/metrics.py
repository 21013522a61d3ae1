"""Diagnostics of one run, computed on a (chains, draws, params) array.

ESS, R-hat and MCSE are ArviZ's (``arviz_stats``, rank-normalized, Vehtari et al. 2021) and
tau is emcee's: we do not define our own. What we do differently is *how* they are computed,
one parameter at a time on a contiguous (chains, draws) block, spread over threads:

* ranks, quantiles, medians: one sort of the *runs* of repeated draws (an emcee walker
  repeats its value after every rejected move: four draws in five at d = 50), weighted by
  the runs' lengths; the folded draws' ranks come from that same sort; normal scores are
  looked up in a table; R-hat's chain means and variances are sums over runs;
* autocovariances: ArviZ and emcee average per-chain autocovariances, and the inverse FFT is
  linear, so we average the chains' power spectra and do one inverse FFT per quantity;
  a tail indicator's are counted from its few intervals of ones, without an FFT;
* Geyer's initial positive and monotone sequences as array operations, not a Python loop;
* emcee's tau of each whole walker from the spectra of its two halves, which the MCSE of
  the mean transforms anyway (cross-correlation and prefix sums, no second FFT).

Each step is the same arithmetic as ArviZ's or emcee's up to floating-point rounding, and
``tests/test_metrics.py`` checks every number against the plain ArviZ and emcee calls at a
relative tolerance of 1e-10. (A naive ``az.summary`` of the tutorial's emcee run costs more
than its sampling time; see ``benchmarks/diagnostics.py``.)
"""

import math
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property, lru_cache, partial

import numpy as np
import scipy.fft

TAIL_PROB = (0.05, 0.95)
# ArviZ answers nan under 4 draws per chain, and for R-hat under 2 chains.
_MIN_DRAWS = 4
_MIN_CHAINS_RHAT = 2
_DIAGNOSTICS = ("ess_bulk", "ess_tail", "rhat", "mcse_mean", "mcse_var")
# float64s per FFT call: a block of rows this small stays in cache.
_FFT_BLOCK = 1 << 18
_local = threading.local()  # each thread's FFT buffers
# Parameters copied out of the (chains, draws, params) array together.
_GROUP = 8
# ArviZ's test for a constant block: max - min below this.
_CONSTANT = np.finfo(float).resolution
# Counting a tail indicator's pairs of intervals of ones (~40 ns a pair) beats its FFT
# (~12 ns a draw) up to about this many pairs per draw; the tutorial's emcee run has ~0.015.
_MAX_PAIRS_PER_DRAW = 0.25


def _split_chains(x: np.ndarray) -> np.ndarray:
    """ArviZ's chain split of a (chains, draws) block: halves as chains, odd middle dropped.

    Rows 2c and 2c + 1 are chain c's halves (ArviZ stacks all first halves, then all second
    ones: every diagnostic is a sum or an order statistic over rows, so the order only
    moves rounding). For an even length this is a view of ``x``, no copy.
    """
    n_chain, n_draw = x.shape
    half = n_draw // 2
    if n_draw % 2 == 0 and x.flags.c_contiguous:
        return x.reshape(2 * n_chain, half)
    return np.stack([x[:, :half], x[:, n_draw - half :]], axis=1).reshape(2 * n_chain, half)


# --- Ranks: ArviZ's ``_z_scale`` (average ranks, then Blom's normal scores) --------------


def _twice_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """2 * (average rank) - 2, an integer, of sorted ``values`` each standing for ``weights``.

    Value i stands for ``weights[i]`` equal draws. Equal draws share the mean of their ranks,
    as ``scipy.stats.rankdata(method="average")``: a tie group after s draws holding w draws
    has ranks s + 1 ... s + w, mean s + (w + 1) / 2, so 2 * mean - 2 = s + (s + w - 1), the
    sum of the group's first and last 0-based positions (an integer, to index a table).
    """
    ends = np.cumsum(weights)  # 1 + the position of each value's last draw
    starts = ends - weights  # the position of its first draw
    tie = values[1:] == values[:-1]  # value i + 1 is in value i's tie group
    if tie.any():  # a group starts where its first value starts, ends where its last ends
        starts[1:][tie] = 0
        np.maximum.accumulate(starts, out=starts)
        ends[:-1][tie] = ends[-1]
        ends = np.minimum.accumulate(ends[::-1])[::-1]
    return starts + ends - 1


@lru_cache(maxsize=8)
def _z_table(n: int) -> np.ndarray:
    """Normal scores of every possible average rank r = 1, 1.5, ..., n (Blom, c = 3/8)."""
    from scipy.special import ndtri

    c = 3.0 / 8.0
    ranks = 1.0 + 0.5 * np.arange(2 * n - 1)
    return ndtri((ranks - c) / (n - 2 * c + 1))


# --- A block as runs of repeated draws ----------------------------------------------------


class _Runs:
    """A (chains, draws) block as runs of equal consecutive draws within each chain.

    An emcee walker repeats its value after each rejected move (four draws in five at
    d = 50). Every rank, order statistic, chain sum and extreme of the draws is one of the
    runs' values weighted by their lengths, so working on runs gives the same numbers for
    several times less work (and no more work for draws without repeats). A quantity that
    is a function of the draw, f(x), is handled as ``per_run`` = f(values).
    """

    def __init__(self, rows: np.ndarray):
        self.shape = rows.shape
        flat = rows.ravel()
        head = np.empty(flat.size, bool)
        head[0] = True
        np.not_equal(flat[1:], flat[:-1], out=head[1:])
        head[:: rows.shape[1]] = True  # a run does not go on into the next chain
        self.starts = starts = np.flatnonzero(head)
        self.values = flat[starts]
        self.lengths = np.diff(starts, append=flat.size)
        # runs[row_first[c]:row_first[c + 1]] are chain c's
        self.row_first = np.searchsorted(starts, np.arange(0, flat.size + 1, rows.shape[1]))

    @property
    def size(self) -> int:
        return self.shape[0] * self.shape[1]

    def expand(self, per_run: np.ndarray, first: int = 0, stop: int | None = None):
        """Chains first .. stop - 1 (all by default) of the block of a value per run."""
        stop = self.shape[0] if stop is None else stop
        runs = slice(self.row_first[first], self.row_first[stop])
        return np.repeat(per_run[runs], self.lengths[runs]).reshape(stop - first, -1)

    def chain_means(self, per_run: np.ndarray) -> np.ndarray:
        """Each chain's mean of the block of a value per run."""
        return self.chain_sums(per_run) / self.shape[1]

    def chain_sums(self, per_run: np.ndarray) -> np.ndarray:
        """Each chain's sum of the block of a value per run."""
        return np.add.reduceat(per_run * self.lengths, self.row_first[:-1])

    def per_chain(self, per_chain: np.ndarray) -> np.ndarray:
        """A value per chain, as a value per run."""
        return np.repeat(per_chain, np.diff(self.row_first))

    def chain_means_vars(self, per_run: np.ndarray):
        """Each chain's mean and variance (ddof 1), as ``np.mean`` and ``np.var`` of rows."""
        means = self.chain_means(per_run)
        dev = per_run - self.per_chain(means)
        return means, self.chain_sums(dev * dev) / (self.shape[1] - 1)

    # The sorted runs: ranks and order statistics.

    @cached_property
    def order(self) -> np.ndarray:
        return np.argsort(self.values)

    @cached_property
    def ordered(self) -> np.ndarray:
        return self.values[self.order]

    @cached_property
    def ordered_lengths(self) -> np.ndarray:
        return self.lengths[self.order]

    @cached_property
    def ends(self) -> np.ndarray:
        """1 + the position, among the sorted draws, of each sorted run's last draw."""
        return np.cumsum(self.ordered_lengths)

    def order_statistic(self, k: int) -> float:
        """The k-th (0-based) smallest draw."""
        return self.ordered[np.searchsorted(self.ends, k, side="right")]

    def median(self) -> float:
        """``np.median`` of the draws: the middle one, or the mean (a + b) / 2 of the two."""
        n = self.size
        upper = self.order_statistic(n // 2)
        return upper if n % 2 else (self.order_statistic(n // 2 - 1) + upper) / 2

    def quantile(self, prob: float) -> float:
        """``np.quantile(draws, prob)`` (method "linear"), with numpy's arithmetic.

        numpy: virtual index v = (n - 1) * prob, neighbours a, b at floor(v), floor(v) + 1
        (the last draw when v >= n - 1), gamma = v - floor(v) and ``_lerp``:
        a + (b - a) * gamma, or b - (b - a) * (1 - gamma) when gamma >= 0.5.
        """
        n = self.size
        virtual = (n - 1) * prob
        if virtual >= n - 1:
            return self.order_statistic(n - 1)
        below = math.floor(virtual)
        a, b = self.order_statistic(below), self.order_statistic(below + 1)
        gamma = virtual - below
        return b - (b - a) * (1 - gamma) if gamma >= 0.5 else a + (b - a) * gamma

    def normal_scores(self, order, ordered, ordered_lengths) -> np.ndarray:
        """ArviZ's ``_z_scale`` of a value per run (given sorted, with its order), per run."""
        twice = _twice_ranks(ordered, ordered_lengths)
        out = np.empty(order.size)
        out[order] = _z_table(self.size)[twice]
        return out


def _bulk_and_folded_scores(runs: _Runs) -> tuple[np.ndarray, np.ndarray]:
    """ArviZ's ``_z_scale(split)`` and ``_z_scale(abs(split - np.median(split)))``, per run.

    One sort serves both: over the sorted values, |v - median| falls then rises (rounding is
    monotone), and a stable argsort (timsort) merges those two runs in linear time.
    """
    bulk = runs.normal_scores(runs.order, runs.ordered, runs.ordered_lengths)
    folded = np.abs(runs.ordered - runs.median())  # the same floats as ArviZ's fold
    merge = np.argsort(folded, kind="stable")
    fold = runs.normal_scores(runs.order[merge], folded[merge], runs.ordered_lengths[merge])
    return bulk, fold


def _rhat(runs: _Runs, per_run: np.ndarray) -> float:
    """ArviZ's ``_rhat`` (``rhat(method="identity")``) of the block of a value per run."""
    n_draw = runs.shape[1]
    means, variances = runs.chain_means_vars(per_run)
    between = n_draw * np.var(means, ddof=1)
    within = np.mean(variances)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant block: nan, as ArviZ
        return float(np.sqrt((between / within + n_draw - 1) / n_draw))


# --- Autocovariances and Geyer's sequences: ArviZ's ``_ess`` -----------------------------


def _fft_buffers(n_rows: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """This thread's arrays for a block of rows zero-padded from n to m, and their spectra.

    Reused: fresh multi-MB arrays for every block cost page faults, about doubling the
    FFT's time. Only the first n columns of the padded rows are ever written.
    """
    cache = _local.__dict__.setdefault("fft_buffers", {})
    if (n_rows, n, m) not in cache:
        if len(cache) >= 4:
            cache.clear()
        cache[n_rows, n, m] = np.zeros((n_rows, m)), np.empty((n_rows, m // 2 + 1), complex)
    return cache[n_rows, n, m]


def _power_sum(rows, shape, means: np.ndarray, m: int, normalize=False) -> np.ndarray:
    """Sum over the rows of a block of |rfft(row - its mean, m)|^2, each divided by its sum
    of squares (its autocovariance at lag 0, as emcee's ``function_1d``) if ``normalize``.

    ``rows(first, stop)`` gives rows first .. stop - 1 of the (``shape``) block, so a block
    computed from the runs is only ever built a few rows at a time. Rows are centred on their
    means, as in ArviZ's ``autocov`` and emcee's ``function_1d``, into zero-padded rows.
    """
    n_rows, n = shape
    step = min(n_rows, max(1, _FFT_BLOCK // m))
    padded, spectrum = _fft_buffers(step, n, m)
    total = np.zeros(2 * (m // 2 + 1))
    for first in range(0, n_rows, step):
        stop = min(first + step, n_rows)
        centred = padded[: stop - first, :n]
        np.subtract(rows(first, stop), means[first:stop, None], out=centred)
        np.fft.rfft(padded[: stop - first], axis=1, out=spectrum[: stop - first])
        parts = spectrum[: stop - first].view(np.float64)  # re, im, re, im, ...
        if normalize:  # a constant row: nan, as emcee
            with np.errstate(divide="ignore", invalid="ignore"):
                parts /= np.sqrt(np.einsum("ij,ij->i", centred, centred))[:, None]
        total += np.einsum("ij,ij->j", parts, parts)
    return total[0::2] + total[1::2]


def _mean_autocov(rows, shape, means: np.ndarray) -> np.ndarray:
    """ArviZ's ``autocov(block, axis=1).mean(axis=0)``: the chains' mean autocovariance.

    The mean over chains of irfft(|F_c|^2) / n is irfft(mean of |F_c|^2) / n (the inverse
    FFT is linear): one inverse FFT instead of one per chain. Any FFT length of at least
    2n - 1 gives the same acyclic autocovariances as ArviZ's ``next_fast_len(2n)``.
    """
    n_chain, n_draw = shape
    m = scipy.fft.next_fast_len(2 * n_draw - 1, real=True)
    power = _power_sum(rows, shape, means, m)
    return np.fft.irfft(power, m)[:n_draw] / (n_draw * n_chain)


def _geyer_ess(acov: np.ndarray, n_chain: int, chain_mean_var: float) -> float:
    """ArviZ's ``_ess`` from the chains' mean autocovariance, its loops done on arrays.

    ArviZ's loop takes the pairs (rho[2j], rho[2j + 1]), j = 1, 2, ... while the previous
    pair's sum is positive (and 2j - 1 < n - 3), keeping a pair when its sum is >= 0 and
    the last even term when it is > 0. Its second loop lowers each pair's sum to the running
    minimum by setting both terms to half the previous pair's (by then lowered) sum. Returns
    ``nan`` (ArviZ is then asked) when the autocorrelations are not all finite.
    """
    n_draw = acov.size
    mean_var = acov[0] * n_draw / (n_draw - 1.0)
    var_plus = mean_var * (n_draw - 1.0) / n_draw
    if n_chain > 1:
        var_plus += chain_mean_var
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 1.0 - (mean_var - acov) / var_plus
    if not np.isfinite(rho).all():
        return math.nan
    rho[0] = 1.0
    n_pairs = max((n_draw - 3) // 2, 0)
    pair = rho[0 : 2 * n_pairs + 2 : 2] + rho[1 : 2 * n_pairs + 2 : 2]  # j = 0 .. n_pairs
    stops = np.flatnonzero(~(pair[:n_pairs] > 0))
    kept = int(stops[0]) if stops.size else n_pairs  # ArviZ's max_t is 2 * kept - 1
    head = rho[: 2 * kept].copy()
    even = rho[2 * kept]
    last = even if (pair[kept] >= 0 or even > 0) else 0.0
    sums = head[0::2] + head[1::2]
    running_min = np.minimum.accumulate(sums)
    lowered = np.flatnonzero(sums[1:] > running_min[:-1]) + 1
    head[2 * lowered] = head[2 * lowered + 1] = running_min[lowered - 1] / 2.0
    ess = n_chain * n_draw
    tau_hat = -1.0 + 2.0 * np.sum(head) + last
    tau_hat = max(tau_hat, 1 / np.log10(ess))
    return ess / tau_hat


def _ess_of_rows(rows, shape, spread: float, means: np.ndarray, acov=None) -> float:
    """ArviZ's ``ess(block, method="identity")`` of a (chains, draws) block, given by
    ``rows(first, stop)``, its max - min and its chain means (and, if already computed, its
    chains' mean autocovariance ``acov``)."""
    n_chain = shape[0]
    if spread < _CONSTANT:
        return float(shape[0] * shape[1])  # ArviZ's answer for a constant block
    chain_mean_var = np.var(means, ddof=1) if n_chain > 1 else 0.0
    acov = _mean_autocov(rows, shape, means) if acov is None else acov
    ess = _geyer_ess(acov, n_chain, chain_mean_var)
    if math.isnan(ess):
        from arviz_stats.base import array_stats

        block = rows(0, n_chain)
        ess = array_stats.ess(block, chain_axis=0, draw_axis=1, method="identity")
    return float(ess)


def _ess_identity(block: np.ndarray) -> float:
    """ArviZ's ``ess(block, method="identity")`` of a (chains, draws) block."""
    block = np.asarray(block, dtype=float)
    spread = np.max(block) - np.min(block)
    return _ess_of_rows(lambda a, b: block[a:b], block.shape, spread, block.mean(axis=1))


def _ess_of_split(runs: _Runs, per_run: np.ndarray, rows=None, acov=None) -> float:
    """ArviZ's identity ESS of the split block of f(draw), given f per run (``per_run``).

    Its extremes and chain means come from the runs, its rows from ``rows(first, stop)``
    (by default expanded from the runs), so it is never built whole.
    """
    rows = rows or partial(runs.expand, per_run)
    spread = np.max(per_run) - np.min(per_run)
    return _ess_of_rows(rows, runs.shape, spread, runs.chain_means(per_run), acov)


# --- Tail ESS: autocovariances of 0/1 chains, counted from their intervals of ones -------


def _intervals(runs: _Runs, flags: np.ndarray):
    """Chain, start and stop (draw indices) of each maximal interval of flagged runs."""
    n_draw = runs.shape[1]
    before = np.concatenate(([False], flags[:-1]))
    before[runs.row_first[:-1]] = False  # a chain's first run has no run before it
    after = np.concatenate((flags[1:], [False]))
    after[runs.row_first[1:] - 1] = False
    first = np.flatnonzero(flags & ~before)
    last = np.flatnonzero(flags & ~after)
    chain = runs.starts[first] // n_draw
    offset = chain * n_draw
    return chain, runs.starts[first] - offset, runs.starts[last] + runs.lengths[last] - offset


def _indicator_mean_autocov(runs: _Runs, flags: np.ndarray, max_pairs: int):
    """ArviZ's ``autocov(block, axis=1).mean(axis=0)`` of the 0/1 block of a flag per run,
    and the chain means; ``None`` when the chains have over ``max_pairs`` pairs of intervals.

    Counted, not transformed: with I a chain, mu its mean and P(j) its ones before j,
    sum_t (I_t - mu)(I_t+k - mu) = S(k) - mu P(n - k) - mu (P(n) - P(k)) + (n - k) mu^2,
    S(k) the number of pairs of ones k apart. That is the sum over pairs of intervals of
    ones (i not after j) of their overlap when j is shifted back by k, a trapezoid in k with
    four kinks: place the kinks as second differences and sum twice. A 5% tail of an emcee
    chain has a few intervals per chain, far cheaper than an FFT.
    """
    n_chain, n = runs.shape
    chain, start, stop = _intervals(runs, flags)
    last_of_chain = np.cumsum(np.bincount(chain, minlength=n_chain))
    partners = last_of_chain[chain] - np.arange(chain.size)  # j = i .. the chain's last
    if partners.sum() > max_pairs:
        return None
    i = np.repeat(np.arange(chain.size), partners)
    j = i + np.arange(i.size) - np.repeat(np.cumsum(partners) - partners, partners)
    shorter = np.minimum(stop[i] - start[i], stop[j] - start[j])
    rise = start[j] - stop[i]  # overlap 0 up to this shift, then growing by 1 per step
    gone = stop[j] - start[i]  # overlap back to 0 at this shift
    kinks = np.concatenate((rise, rise + shorter, gone - shorter, gone)) + n + 1
    slopes = np.repeat([1.0, -1.0, -1.0, 1.0], i.size)
    second_diff = np.bincount(kinks, slopes, minlength=2 * n + 2)
    pairs = np.cumsum(np.cumsum(second_diff))[n : 2 * n]  # S(k), k = 0 .. n - 1
    ones = np.bincount(chain, stop - start, minlength=n_chain)
    means = ones / n
    steps = np.bincount(start, means[chain], minlength=n + 1)
    steps -= np.bincount(stop, means[chain], minlength=n + 1)
    # before[j] = sum over chains of mu P(j), j = 0 .. n
    before = np.concatenate(([0.0], np.cumsum(np.cumsum(steps)[:n])))
    lag = np.arange(n)
    total = (
        pairs
        - before[n - lag]
        - (np.sum(means * ones) - before[lag])
        + (n - lag) * np.sum(means * means)
    )
    return total / (n * n_chain), means


def _ess_below(runs: _Runs, split: np.ndarray, q: float) -> float:
    """ArviZ's ``ess(split <= q, method="identity")``, the tail ESS at a quantile q.

    Counted from the intervals of ones when they are few, else by FFT as any block.
    """
    flags = runs.values <= q
    if flags.all() or not flags.any():
        return float(runs.size)  # ArviZ's answer for a constant block
    found = _indicator_mean_autocov(runs, flags, max_pairs=int(runs.size * _MAX_PAIRS_PER_DRAW))
    if found is None:
        return _ess_identity(split <= q)
    acov, means = found
    n_chain = runs.shape[0]
    chain_mean_var = np.var(means, ddof=1) if n_chain > 1 else 0.0
    ess = _geyer_ess(acov, n_chain, chain_mean_var)
    return _ess_identity(split <= q) if math.isnan(ess) else float(ess)


# --- One parameter ------------------------------------------------------------------------


def _param_diagnostics(x: np.ndarray, tail_prob=TAIL_PROB, walkers=False) -> dict[str, float]:
    """Bulk ESS, tail ESS, rank R-hat and MCSEs of one parameter's (chains, draws) block.

    ArviZ's bulk ESS is the identity ESS of the rank-normalized split chains; its rank
    R-hat the larger identity R-hat of those and of the rank-normalized folded split chains;
    its tail ESS the smaller identity ESS of the split indicator chains
    ``x <= quantile(x, prob)``; its MCSE of the mean sd(x) / sqrt(identity ESS of the split
    chains). ``mcse_var`` is that MCSE of (x - mean)^2, whose mean ``var`` is the variance
    estimate ``bias_z`` tests. Like ArviZ, nan for a block with a nan or under 4 draws, and
    R-hat nan for one chain. With ``walkers``, also emcee's ``tau`` (chains as walkers),
    from the spectra of the split chains that the MCSE of the mean transforms anyway.
    """
    n_chain, n_draw = x.shape
    mean = x.mean()
    if n_draw < _MIN_DRAWS or (math.isnan(mean) and np.isnan(x).any()):
        tau = {"tau": _integrated_time_1param(x)} if walkers else {}
        return {"mean": float(mean), "var": math.nan} | dict.fromkeys(_DIAGNOSTICS, math.nan) | tau
    split = _split_chains(x)
    runs = _Runs(split)
    extra, acov_mean = {}, None
    if walkers:
        if n_draw % 2 or np.ptp(runs.values) < _CONSTANT:
            extra["tau"] = _integrated_time_1param(x)
        else:
            acov_mean, extra["tau"] = _split_acov_and_tau(split, runs.chain_means(runs.values))
    bulk, fold = _bulk_and_folded_scores(runs)
    # np.quantile(x): the split draws are x but for an odd length's dropped middle draws
    quantiles = [runs.quantile(p) if n_draw % 2 == 0 else np.quantile(x, p) for p in tail_prob]
    rhat = math.nan
    if n_chain >= _MIN_CHAINS_RHAT:
        rhat = max(_rhat(runs, bulk), _rhat(runs, fold))
    sq = (runs.values - mean) ** 2  # (x - mean)^2 per run
    var, sd, sd_sq = _moments(x, runs, mean, sq)
    ess_mean = _ess_of_split(runs, runs.values, lambda a, b: split[a:b], acov_mean)
    ess_sq = _ess_of_split(runs, sq, lambda a, b: (split[a:b] - mean) ** 2)
    return {
        "mean": float(mean),
        "var": var,
        "ess_bulk": _ess_of_split(runs, bulk),
        "ess_tail": min(_ess_below(runs, split, q) for q in quantiles),
        "rhat": rhat,
        "mcse_mean": sd / math.sqrt(ess_mean),
        "mcse_var": sd_sq / math.sqrt(ess_sq),
    } | extra


def _moments(x: np.ndarray, runs: _Runs, mean: float, sq: np.ndarray):
    """mean((x - mean)^2), np.std(x, ddof=1) and np.std((x - mean)^2, ddof=1), summed over
    the split chains' runs (sq = (value - mean)^2 per run) plus an odd length's middle draws."""
    middle = (x[:, x.shape[1] // 2] - mean) ** 2 if x.shape[1] % 2 else np.zeros(0)
    n = x.size
    var = (np.sum(sq * runs.lengths) + np.sum(middle)) / n
    spread_sq = np.sum((sq - var) ** 2 * runs.lengths) + np.sum((middle - var) ** 2)
    return float(var), math.sqrt(var * n / (n - 1)), math.sqrt(spread_sq / (n - 1))


def _param_blocks(draws: np.ndarray, first: int, stop: int, buffer: threading.local):
    """Parameters first .. stop - 1 as contiguous (chains, draws) blocks, in ``buffer.out``.

    Copied a chain at a time: a strided copy of one parameter reads every cache line of the
    whole array, a chain's slice of several parameters stays in cache (~2x faster). The
    blocks are overwritten by the next call with the same ``buffer``.
    """
    chains, steps, _ = draws.shape
    if getattr(buffer, "out", None) is None:
        buffer.out = np.empty((_GROUP, chains, steps), dtype=draws.dtype)
    out = buffer.out[: stop - first]
    for chain in range(chains):
        out[:, chain, :] = draws[chain, :, first:stop].T
    return out


def _map_params(fn, draws: np.ndarray, threads: int) -> dict[str, np.ndarray]:
    """``fn`` of each parameter's block, by groups of parameters spread over threads."""
    n_params = draws.shape[2]
    buffers = threading.local()  # a copy buffer per thread, for this call

    def group(first: int) -> list[dict]:
        blocks = _param_blocks(draws, first, min(first + _GROUP, n_params), buffers)
        return [fn(block) for block in blocks]

    firsts = range(0, n_params, _GROUP)
    if threads > 1 and len(firsts) > 1:
        with ThreadPoolExecutor(threads) as pool:
            groups = list(pool.map(group, firsts))
    else:
        groups = [group(first) for first in firsts]
    rows = [row for rows in groups for row in rows]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def per_parameter(draws: np.ndarray, threads: int = 1, walkers=False) -> dict[str, np.ndarray]:
    """Per-parameter ``ess_bulk``, ``ess_tail``, ``rhat``, ``mcse_mean``, ``mcse_var``.

    Also ``mean`` and ``var`` (the mean of (x - mean)^2), which ``bias_z`` reuses, and with
    ``walkers`` (an ensemble sampler's draws) emcee's ``tau``, which ``autocorr`` reuses.
    """
    return _map_params(partial(_param_diagnostics, walkers=walkers), draws, threads)


# The last draws per_parameter_once was asked about, and its answer (one entry per walkers).
_ONCE: dict[bool, tuple] = {}


def per_parameter_once(draws: np.ndarray, threads: int = 1, walkers=False) -> dict[str, np.ndarray]:
    """:func:`per_parameter` of ``draws``, computed once per array: a run's draws are
    diagnosed by its ESS goal's last check, by ``pipeline.diagnose`` and by the flag
    figures' worst parameters, three times the same numbers (for an ensemble at d = 64,
    1.3 s each). The answer is remembered for the one array object it was computed on (a
    weak reference: a new or copied array is computed afresh) and handed out as a new dict
    of read-only arrays, so that no caller can change another's. ``threads`` only spreads
    the work, so it is not part of the key."""
    walkers = bool(walkers)
    last = _ONCE.get(walkers)
    if last is not None and last[0]() is draws:
        return dict(last[1])
    per = per_parameter(draws, threads, walkers=walkers)
    for values in per.values():
        values.flags.writeable = False
    _ONCE[walkers] = (weakref.ref(draws), per)
    return dict(per)


def _param_ess_bulk(x: np.ndarray) -> dict[str, float]:
    """Only the bulk ESS of one parameter's block (as in :func:`_param_diagnostics`)."""
    if x.shape[1] < _MIN_DRAWS or math.isnan(x.mean()):
        return {"ess_bulk": math.nan}
    runs = _Runs(_split_chains(x))
    bulk, _ = _bulk_and_folded_scores(runs)
    return {"ess_bulk": _ess_of_split(runs, bulk)}


def ess_bulk(draws: np.ndarray, threads: int = 1) -> np.ndarray:
    """Per-parameter bulk ESS alone (ArviZ's), for checks between time-to-target chunks."""
    return _map_params(_param_ess_bulk, draws, threads)["ess_bulk"]


def summarize_ess_rhat(per_param: dict[str, np.ndarray]) -> dict[str, float]:
    """The table's columns: bulk ESS mean and min, tail ESS min, R-hat max."""
    return {
        "ess_bulk_mean": float(np.mean(per_param["ess_bulk"])),
        "ess_bulk_min": float(np.min(per_param["ess_bulk"])),
        "ess_tail_min": float(np.min(per_param["ess_tail"])),
        "rhat_max": float(np.max(per_param["rhat"])),
    }


def cost_per_ess(seconds: float, ess: float) -> float:
    """Seconds per effective sample; ``nan`` when the ESS is not positive and finite."""
    if not (math.isfinite(ess) and ess > 0):
        return math.nan
    return seconds / ess


def bias_z(
    draws: np.ndarray,
    true_mean,
    true_var,
    per_param: dict | None = None,
    truth_mcse=(0.0, 0.0),
    mean_tested=None,
) -> dict[str, float]:
    """z-scores of the mean and variance estimates against the known truth, scaled by the
    *truth's* spread and the run's ESS of each estimate, and the estimates' errors in
    posterior standard deviations.

    z_mean = (mean estimate - true mean) / sqrt(true var / ESS_mean + MCSE_ref(mean)^2), with
    ESS_mean the run's ESS of that mean (ArviZ's, the one its MCSE of the mean is made from:
    sd^2 / MCSE^2, a ratio the run's spread cancels out of). A run that is wrong because its
    draws are too spread (chains stuck apart) cannot weaken its own test by that spread:
    the old scale, the run's own MCSE, grew with the very failure it had to catch.

    z_var likewise for the variance estimate mean((x - mean estimate)^2): its error variance
    under a correct sampler is (m4 - var^2) / ESS_var = true var^2 (kurtosis - 1) / ESS_var,
    with ESS_var the run's ESS of (x - mean)^2 and the kurtosis m4 / var^2 the run's
    (scale-free, so a wrong scale does not inflate it), never below a normal's 3 (a sample
    kurtosis of a heavy-tailed posterior falls short of the true one).

    A reference truth's own MCSE (``truth_mcse``: of the mean, of the variance) is added in
    quadrature. Returns the largest |z| of each over parameters, and ``error_sd_max``: the
    largest |mean estimate - true mean| over parameters in true posterior SDs (the
    one-posterior-SD rule of :func:`essbench.policy.bias_verdict`; ``error_sd_param`` is
    that parameter's index). Not the SD's error: a heavy tail's sample SD (Neal's funnel)
    is more than one true SD off in a few percent of runs of exact draws.
    The estimates are ``per_param``'s when it has them (``per_parameter`` computes them
    anyway; a whole-array pass costs ~0.3 s at the seed's size).

    ``mean_tested`` (a boolean per parameter, default all): the parameters whose mean is
    z-tested (:data:`essbench.policy.MEAN_TEST_MAX_KURTOSIS`: not a heavy-tailed one whose
    quantiles are tested instead); ``n_mean_tests`` counts them. The one-SD error counts
    every parameter.
    """
    per_param = per_param or per_parameter(draws)
    if "mean" in per_param and "var" in per_param:
        mean, var = np.asarray(per_param["mean"]), np.asarray(per_param["var"])
    else:
        mean = draws.mean(axis=(0, 1))
        var = ((draws - mean) ** 2).mean(axis=(0, 1))
    true_mean, true_var = np.asarray(true_mean, float), np.asarray(true_var, float)
    n = draws.shape[0] * draws.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if "ess_kish" in per_param:  # importance-weighted draws: one Kish ESS for all
            # (its MCSE of the variance is sqrt((m4 - var^2) / ESS): m4 follows from it)
            ess_mean = ess_var = np.asarray(per_param["ess_kish"], float)
            m4 = var**2 + np.asarray(per_param["mcse_var"]) ** 2 * ess_var
        else:
            # ArviZ's MCSE of the mean is sd / sqrt(ESS), sd with ddof 1; that of the
            # variance sd((x - mean)^2) / sqrt(ESS_var), whose sd^2 is n (m4 - var^2) / (n - 1)
            m4 = (((draws - mean) ** 2) ** 2).mean(axis=(0, 1))
            ess_mean = var * n / (n - 1) / np.asarray(per_param["mcse_mean"]) ** 2
            ess_var = (m4 - var**2) * n / (n - 1) / np.asarray(per_param["mcse_var"]) ** 2
        kurtosis = np.maximum(m4 / var**2, 3.0)
        se_mean = np.sqrt(true_var / ess_mean + np.asarray(truth_mcse[0]) ** 2)
        se_var = np.sqrt(true_var**2 * (kurtosis - 1) / ess_var + np.asarray(truth_mcse[1]) ** 2)
        z_mean = (mean - true_mean) / se_mean
        z_var = (var - true_var) / se_var
        error_sd = np.abs(mean - true_mean) / np.sqrt(true_var)
    tested = np.ones(z_mean.shape, bool) if mean_tested is None else np.asarray(mean_tested)
    return {
        "z_mean_max": _nanmax_abs(np.where(tested, z_mean, np.nan)),
        "n_mean_tests": int(tested.sum()),
        "z_var_max": _nanmax_abs(z_var),
        "error_sd_max": _nanmax_abs(error_sd),
        "error_sd_param": int(np.nanargmax(error_sd)) if np.isfinite(error_sd).any() else -1,
    }


def _nanmax_abs(values: np.ndarray) -> float:
    """The largest |value|, nan if none is a number (a nan z: too few draws for an ESS)."""
    values = np.abs(np.asarray(values, float))
    return float(np.nanmax(values)) if np.isfinite(values).any() else math.nan


def quantile_z(draws: np.ndarray, levels, quantiles, truth_prob_mcse=0.0) -> dict[str, float]:
    """z-scores of the fraction of draws below each true quantile against its level.

    For parameter j and level p with true quantile q = ``quantiles[j, i]``, the estimate is
    u = mean(x_j <= q), whose MCSE under a correct sampler is sqrt(p (1 - p) / ESS), ESS the
    identity ESS of the split indicator chains (ArviZ's, as for the tail ESS). The estimates
    are bounded, so their error is close to normal whatever the tails of x, unlike that of a
    variance estimate under heavy tails. ``truth_prob_mcse``: the Monte Carlo error of the
    levels of quantiles estimated from exact draws, added in quadrature (one for all, or one
    per parameter). Returns the largest |z| over parameters and levels, and the number of
    tests; where it is, ``z_quantile_param`` (the parameter's index), ``z_quantile_level``
    (p) and ``z_quantile_fraction`` (the run's fraction below that true quantile).
    """
    levels = np.asarray(levels, float)
    quantiles = np.asarray(quantiles, float)
    prob_mcse = np.broadcast_to(np.asarray(truth_prob_mcse, float), (draws.shape[2],))
    worst, where = 0.0, {}
    for j in range(draws.shape[2]):
        x = np.ascontiguousarray(draws[:, :, j])
        if x.shape[1] < _MIN_DRAWS or not np.isfinite(x).all():
            return {"z_quantile_max": math.nan, "n_quantile_tests": levels.size * draws.shape[2]}
        split = _split_chains(x)
        runs = _Runs(split)
        for p, q in zip(levels, quantiles[j], strict=True):
            ess = _ess_below(runs, split, q)
            se = math.hypot(math.sqrt(p * (1 - p) / ess), float(prob_mcse[j]))
            fraction = float(np.mean(x <= q))
            if abs(fraction - p) / se > worst:
                worst = abs(fraction - p) / se
                where = {
                    "z_quantile_param": j,
                    "z_quantile_level": float(p),
                    "z_quantile_fraction": fraction,
                }
    return {"z_quantile_max": worst, "n_quantile_tests": levels.size * draws.shape[2], **where}


def _auto_window(taus: np.ndarray, c: float) -> int:
    """``emcee.autocorr.auto_window`` (importing emcee costs ~1 s): the smallest window
    m >= c * tau(m), else the last."""
    m = np.arange(len(taus)) < c * taus
    if np.any(m):
        return int(np.argmin(m))
    return len(taus) - 1


def _integrated_time_1param(x: np.ndarray, c: float = 5.0) -> float:
    """emcee's ``integrated_time`` for one parameter of a (walkers, steps) block.

    emcee averages over walkers each walker's autocorrelation function acf / acf[0] (acf the
    inverse FFT of its power spectrum), then applies ``auto_window`` with c = 5. The inverse
    FFT being linear, that mean is one inverse FFT of the walkers' power spectra each divided
    by its acf[0], which is (Parseval) the walker's sum of squared deviations.

    Zero-padding n steps to m >= n + L - 1 gives emcee's (acyclic) acf at lags below L.
    ``auto_window`` takes the first lag that is >= c tau, so the lags below n / 2 settle it
    unless the walkers are under ~10 tau long (emcee trusts tau from 50): those first, with
    a shorter FFT, and all lags only if no lag below n / 2 qualifies.
    """
    n_walker, n_step = x.shape
    means = x.mean(axis=1)
    for n_lags in (n_step // 2 + 1, n_step):
        m = scipy.fft.next_fast_len(n_step + n_lags - 1, real=True)
        power = _power_sum(lambda a, b: x[a:b], x.shape, means, m, normalize=True)
        acf = np.fft.irfft(power, m)[:n_lags] / n_walker
        taus = 2.0 * np.cumsum(acf) - 1.0
        if n_lags == n_step or not np.all(np.arange(n_lags) < c * taus):  # window found
            return float(taus[_auto_window(taus, c)])
    raise AssertionError("unreachable")


def _split_acov_and_tau(split: np.ndarray, means: np.ndarray, c: float = 5.0):
    """The split chains' mean autocovariance (as ``_mean_autocov``) and emcee's tau of the
    whole chains (as ``_integrated_time_1param``), from one FFT of the split chains.

    ``split`` is an even-length block split by ``_split_chains`` (rows 2w, 2w + 1: a = the
    first and b = the second half of walker w, h draws each), ``means`` its rows' means.
    emcee's autocovariance of walker y = (a, b) about its mean mu, at lag k, is the sum of
    pairs within a, within b and across, each an autocovariance (or, across, the cross-
    correlation X(s) = sum_j b~_j a~_(j + s), s = h - k) of the centred halves a~ = a - mu_a,
    b~ = b - mu_b, plus terms in d_a = mu_a - mu, d_b = mu_b - mu and the prefix sums P(j)
    of a~ and b~:

        k < h:  R_a(k) + d_a (P_a(h - k) + P_a(h) - P_a(k)) + (h - k) d_a^2   (and for b)
                + X(h - k) + d_b (P_a(h) - P_a(h - k)) + d_a P_b(k) + k d_a d_b   (k > 0)
        k >= h: X(h - k) + d_b P_a(2h - k) + d_a (P_b(h) - P_b(k - h)) + (2h - k) d_a d_b

    R and X come from the halves' spectra (zero-padded to m >= 2h - 1: acyclic), which the
    MCSE of the mean needs anyway; emcee divides each walker's by its lag-0 value, so every
    sum over walkers is taken with those weights. That replaces a second FFT of every
    walker (and a second pass over the draws) with prefix sums.
    """
    n_rows, h = split.shape
    m = scipy.fft.next_fast_len(2 * h - 1, real=True)
    n_freq = m // 2 + 1
    step = min(n_rows, max(2, _FFT_BLOCK // m // 2 * 2))  # whole walkers per block
    padded, spectrum = _fft_buffers(step, h, m)
    power = np.zeros(2 * n_freq)  # sum over rows of |F|^2 (as re^2, im^2, re^2, ...)
    weighted = np.zeros(2 * n_freq)  # sum over walkers of (|A|^2 + |B|^2) / G(0)
    cross_re = np.zeros(2 * n_freq)  # ... of A conj(B) / G(0): its real part (re re, im im)
    cross_im = np.zeros(n_freq)  # ... and its imaginary part (im re - re im)
    sums_a = np.zeros((2, h))  # ... of (d_a, d_b) / G(0) times a~ (P_a: their cumsum)
    sums_b = np.zeros((2, h))  # ... of (d_b, d_a) / G(0) times b~
    squares = np.zeros(3)  # ... of (d_a^2, d_b^2, d_a d_b) / G(0)
    for first in range(0, n_rows, step):
        stop = min(first + step, n_rows)
        centred = padded[: stop - first, :h]
        np.subtract(split[first:stop], means[first:stop, None], out=centred)
        rows = spectrum[: stop - first]
        np.fft.rfft(padded[: stop - first], axis=1, out=rows)
        parts = rows.view(np.float64)
        power += np.einsum("ij,ij->j", parts, parts)
        mean_a, mean_b = means[first:stop:2], means[first + 1 : stop : 2]
        walker_mean = (mean_a + mean_b) / 2
        d_a, d_b = mean_a - walker_mean, mean_b - walker_mean
        half_sum = rows[:, 0].real  # P(h) of each half: its spectrum at frequency 0
        lag0 = np.einsum("ij,ij->i", centred, centred)
        lag0 = lag0[0::2] + lag0[1::2] + h * (d_a * d_a + d_b * d_b)
        lag0 += 2 * (d_a * half_sum[0::2] + d_b * half_sum[1::2])
        with np.errstate(divide="ignore", invalid="ignore"):  # a constant walker: nan (emcee)
            weight = 1.0 / lag0
            sums_a += np.einsum("ki,ij->kj", [d_a * weight, d_b * weight], centred[0::2])
            sums_b += np.einsum("ki,ij->kj", [d_b * weight, d_a * weight], centred[1::2])
            squares += [weight @ (d_a * d_a), weight @ (d_b * d_b), weight @ (d_a * d_b)]
            # a walker's halves both times sqrt(its weight): products of the two carry it
            parts *= np.repeat(np.sqrt(weight), 2)[:, None]
        weighted += np.einsum("ij,ij->j", parts, parts)
        half_a, half_b = parts[0::2], parts[1::2]
        cross_re += np.einsum("ij,ij->j", half_a, half_b)
        cross_im += np.einsum("ij,ij->j", half_a[:, 1::2], half_b[:, 0::2])
        cross_im -= np.einsum("ij,ij->j", half_a[:, 0::2], half_b[:, 1::2])
    acov = np.fft.irfft(power[0::2] + power[1::2], m)[:h] / (h * n_rows)
    within = np.fft.irfft(weighted[0::2] + weighted[1::2], m)[:h]  # R_a + R_b
    across = np.fft.irfft(cross_re[0::2] + cross_re[1::2] + 1j * cross_im, m)  # X(s mod m)
    prefix = np.zeros((4, h + 1))
    np.cumsum(np.concatenate([sums_a, sums_b]), axis=1, out=prefix[:, 1:])
    u_a, v_a, u_b, v_b = prefix
    lag = np.arange(h)
    total = np.empty(2 * h)
    shift_a = u_a[h - lag] + u_a[h] - u_a[lag]  # the d_a terms of pairs within a
    shift_b = u_b[h - lag] + u_b[h] - u_b[lag]
    shift_across = v_a[h] - v_a[h - lag] + v_b[lag]  # ... and across (0 at lag 0)
    squared = (h - lag) * (squares[0] + squares[1]) + lag * squares[2]
    total[:h] = within + shift_a + shift_b + shift_across + squared
    total[1:h] += across[h - lag[1:]]
    far = h + lag  # k = h .. 2h - 1
    total[h:] = across[(h - far) % m] + v_a[h - lag] + v_b[h] - v_b[lag] + (h - lag) * squares[2]
    taus = 2.0 * np.cumsum(total / (n_rows // 2)) - 1.0
    return acov, float(taus[_auto_window(taus, c)])


def autocorr(draws: np.ndarray, threads: int = 1, per_param: dict | None = None):
    """emcee's integrated autocorrelation time over the ensemble (walkers = chains).

    ``ess_autocorr`` = steps * walkers / tau (mean over parameters, as ``ess_bulk_mean``) and
    ``chain_over_tau`` = steps / max tau; emcee trusts tau only when that exceeds 50. The
    taus are ``per_param``'s when it has them (``per_parameter(..., walkers=True)``).
    """
    walkers, steps, _ = draws.shape
    if per_param is not None and "tau" in per_param:
        tau = per_param["tau"]
    else:
        tau = _map_params(lambda b: {"tau": _integrated_time_1param(b)}, draws, threads)["tau"]
    ess = steps * walkers / tau
    return {
        "tau_max": float(np.max(tau)),
        "ess_autocorr": float(np.mean(ess)),
        "ess_autocorr_min": float(np.min(ess)),
        "chain_over_tau": float(steps / np.max(tau)),
    }


# --- Importance-weighted draws (nested sampling) -----------------------------------------


def kish_ess(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights, (Σw)² / Σw²."""
    w = np.asarray(weights, float).ravel()
    return float(np.sum(w) ** 2 / np.sum(w * w))


def weighted_per_parameter(draws: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Per-parameter weighted ``mean`` and ``var`` (Σw (x - mean)², Σw = 1) of weighted draws,
    with MCSEs from Kish's ESS: sd / sqrt(ESS) for the mean, and the weighted sd of
    (x - mean)² / sqrt(ESS) for the variance (as ArviZ's variance MCSE, with Kish's ESS).

    ``ess_kish`` is the one Kish ESS, repeated per parameter; the chain diagnostics
    (``ess_bulk``, ``ess_tail``, ``rhat``) are nan: weighted draws have no chains.
    """
    n_params = draws.shape[2]
    w = np.asarray(weights, float).ravel()
    w = w / w.sum()
    x = draws.reshape(-1, n_params)
    mean = w @ x
    dev2 = (x - mean) ** 2
    var = w @ dev2
    ess = kish_ess(w)
    spread_sq = w @ (dev2 - var) ** 2
    nan = np.full(n_params, math.nan)
    return {
        "mean": mean,
        "var": var,
        "mcse_mean": np.sqrt(var / ess),
        "mcse_var": np.sqrt(spread_sq / ess),
        "ess_kish": np.full(n_params, ess),
        "ess_bulk": nan,
        "ess_tail": nan,
        "rhat": nan,
    }


def summarize_weighted(per_param: dict[str, np.ndarray]) -> dict[str, float]:
    """The table's ESS columns for weighted draws: ``ess_kish``, and nan for the chain ones."""
    return {
        "ess_kish": float(per_param["ess_kish"][0]),
        "ess_bulk_mean": math.nan,
        "ess_bulk_min": math.nan,
        "ess_tail_min": math.nan,
        "rhat_max": math.nan,
    }


def weighted_quantile_z(
    draws: np.ndarray, weights: np.ndarray, levels, quantiles, truth_prob_mcse=0.0
) -> dict[str, float]:
    """:func:`quantile_z` for weighted draws: the weighted fraction below each true quantile
    against its level, with MCSE sqrt(p (1 - p) / ESS), ESS Kish's."""
    levels = np.asarray(levels, float)
    quantiles = np.asarray(quantiles, float)
    w = np.asarray(weights, float).ravel()
    w = w / w.sum()
    ess = kish_ess(w)
    x = draws.reshape(-1, draws.shape[2])
    below = np.stack([w @ (x <= quantiles[:, i]) for i in range(levels.size)], axis=1)
    prob_mcse = np.broadcast_to(np.asarray(truth_prob_mcse, float), (draws.shape[2],))
    se = np.hypot(np.sqrt(levels * (1 - levels) / ess), prob_mcse[:, None])
    return {
        "z_quantile_max": float(np.max(np.abs(below - levels) / se)),
        "n_quantile_tests": levels.size * draws.shape[2],
    }


def shape_of(x: np.ndarray, weights=None) -> dict:
    """Condition number of the covariance of draws ``x`` (n, d) and their tail weight: the
    largest excess kurtosis over parameters (0 for a Gaussian, 6 for a Laplace). ``weights``:
    importance weights of the draws (a nested sampler's), None for equal ones."""
    x = np.asarray(x, float).reshape(len(x), -1)
    w = np.full(len(x), 1.0 / len(x)) if weights is None else np.asarray(weights, float)
    w = w / w.sum()
    centred = x - w @ x
    cov = (centred * w[:, None]).T @ centred
    eig = np.linalg.eigvalsh(np.atleast_2d(cov))
    var = w @ centred**2
    kurtosis = (w @ centred**4) / var**2 - 3.0
    return {
        "condition_number": float(eig[-1] / eig[0]) if eig[0] > 0 else math.inf,
        "tail_kurtosis": float(np.max(kurtosis)),
    }
