"""What posteriordb's hidden Markov models share: Stan's simplex and the forward algorithm.

``hmm_example``, ``hmm_drive_0`` and ``hmm_drive_1`` declare two transition-probability
simplexes ``theta1``, ``theta2`` (the rows of the transition matrix) and marginalise the
hidden states with the forward algorithm. Their PyMC ports carry the same parameters under
the same transforms as Stan, so that every sampler moves in Stan's unconstrained space:
``StanSimplex`` is Stan's simplex transform (PyMC's own ``simplex`` is a different map),
and Stan's ``positive_ordered`` is PyMC's ``Ordered(positive=True)``.
"""

import numpy as np
import pytensor
import pytensor.tensor as pt
from pymc.distributions.transforms import Transform


def _helmert_weights(n: int) -> np.ndarray:
    """1 / sqrt(i (i + 1)) for i = 1..n: the isometric log-ratio basis' scale."""
    i = np.arange(1, n + 1, dtype=float)
    return 1.0 / np.sqrt(i * (i + 1.0))


class StanSimplex(Transform):
    """Stan's simplex transform (Stan >= 2.37, the one pystan's Stan 2.39 uses): the
    isometric log-ratio map, ``x = softmax(sum_to_zero_constrain(y))``.

    ``y_i = (sum_{j<=i} log x_j - i log x_{i+1}) / sqrt(i (i + 1))`` for i = 1..K-1
    (Stan's ``simplex_free``); log |J| = sum(log x) + log(K) / 2 (``simplex_constrain``).
    For K = 2, y = logit(x_1) / sqrt(2), where PyMC's ``simplex`` gives logit(x_1) / 2.
    """

    name = "stansimplex"  # value variables theta1_stansimplex__ (PyMC strips one word)
    ndim_supp = 1

    def forward(self, value, *inputs):
        value = pt.as_tensor(value)
        log_x = pt.log(value)
        k = int(value.type.shape[-1])
        i = np.arange(1, k, dtype=float)
        cumulative = pt.cumsum(log_x, axis=-1)[..., :-1]
        return (cumulative - i * log_x[..., 1:]) * _helmert_weights(k - 1)

    def backward(self, value, *inputs):
        value = pt.as_tensor(value)
        n = int(value.type.shape[-1])
        w = value * _helmert_weights(n)
        # Stan's sum_to_zero_constrain: z_k = sum_{j > k} w_j - k w_k, k = 0..n (w_0 = 0).
        tail = pt.cumsum(w[..., ::-1], axis=-1)[..., ::-1]
        zeros = pt.zeros_like(w[..., :1])
        above = pt.concatenate([tail, zeros], axis=-1)
        own = pt.concatenate([zeros, np.arange(1, n + 1, dtype=float) * w], axis=-1)
        return pt.special.softmax(above - own, axis=-1)

    def log_jac_det(self, value, *inputs):
        value = pt.as_tensor(value)
        k = int(value.type.shape[-1]) + 1
        x = self.backward(value, *inputs)
        return pt.sum(pt.log(x), axis=-1) + 0.5 * np.log(k)


def log_transition(alpha) -> "pt.TensorVariable":
    """The rows theta1, theta2 (``simplex[K]``, Dirichlet(alpha[k]) priors; Stan's
    ``dirichlet_lpdf`` with its constant, or no prior where alpha is all ones) as free
    random variables under Stan's simplex transform, and their stacked logarithm (K, K)."""
    import pymc as pm

    alpha = np.asarray(alpha, float)
    rows = [
        pm.Dirichlet(f"theta{k + 1}", a, default_transform=None, transform=StanSimplex())
        for k, a in enumerate(alpha)
    ]
    return pt.log(pt.stack(rows))


def forward_logp(log_transition, log_emission):
    """log p(y) of an HMM by the forward algorithm, as Stan's programs write it.

    ``log_transition`` (K, K): log P(state k at t | state j at t-1) at [j, k];
    ``log_emission`` (N, K): log p(y_t | state k). The first state carries weight 1 per
    state (Stan's ``gamma[1, k] = emission``: no initial distribution), so the result is
    logsumexp_k gamma[N, k] with gamma[t, k] = logsumexp_j(gamma[t-1, j] + log_transition[j,
    k]) + log_emission[t, k].
    """

    def step(log_e, gamma, log_a):
        return pt.logsumexp(gamma[:, None] + log_a, axis=0) + log_e

    gammas = pytensor.scan(
        step,
        sequences=[log_emission[1:]],
        outputs_info=[log_emission[0]],
        non_sequences=[log_transition],
        return_updates=False,
    )
    return pt.logsumexp(gammas[-1])
