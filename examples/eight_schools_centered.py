"""A hierarchical model with a funnel: the eight schools (Rubin 1981; Gelman et al., BDA3
§5.5), written the way it is usually first written, *centered*: each school's effect
``theta`` is drawn around ``mu`` with spread ``tau``. A worked example of "Benchmark your
own model" (README) for a hard model.

Where ``tau`` is small the ``theta`` are squeezed together: the posterior is a funnel whose
neck NUTS cannot enter with one step size. NUTS on this model diverges (hundreds of
divergences), so a long NUTS run on it cannot pass the reference gates, and neither its
moments nor a sampler's can be trusted. The same posterior written *non-centered*
(``theta = mu + tau * theta_z`` with standard normal ``theta_z``) has no funnel: that is
``reference_model`` below, which the ``reference`` rule samples instead to make the truth
(posteriordb does the same: its reference draws of ``eight_schools_centered`` come from
``eight_schools_noncentered``). Every sampler still runs on the centered ``build_model``:
the study measures what the funnel costs each of them.

Parameters (the model's value variables, the space samplers move in): ``mu``,
``tau_log__`` (log tau) and the eight ``theta``; ten in all, counted by essbench.
"""

import numpy as np

NAME = "eight_schools_centered"
DESCRIPTION = "eight schools, centered: a hierarchical funnel (a user's model)"

# Estimated coaching effects and their standard errors (BDA3, Table 5.2).
EFFECTS = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
SIGMAS = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
COORDS = {"school": ["A", "B", "C", "D", "E", "F", "G", "H"]}

# The reference rule's NUTS run (both routes). A high target_accept keeps the non-centered
# form free of the rare divergence that would fail the zero-divergence gate.
REFERENCE_NUTS = {"chains": 4, "tune": 1000, "draws": 6000, "target_accept": 0.99}


def build_model():
    import pymc as pm

    with pm.Model(coords=COORDS) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta = pm.Normal("theta", mu, tau, dims="school")
        pm.Normal("y", theta, SIGMAS, observed=EFFECTS, dims="school")
    return model


def reference_model():
    """The same posterior, non-centered: ``theta`` is a Deterministic of the same name."""
    import pymc as pm

    with pm.Model(coords=COORDS) as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta_z = pm.Normal("theta_z", 0.0, 1.0, dims="school")
        theta = pm.Deterministic("theta", mu + tau * theta_z, dims="school")
        pm.Normal("y", theta, SIGMAS, observed=EFFECTS, dims="school")
    return model
