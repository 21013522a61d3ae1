import numpy as np

from essbench import registry


def test_every_target_declares_its_interface():
    for name, module in registry.targets().items():
        assert name == module.NAME
        for attr in ("DESCRIPTION", "GRADIENT", "MIN_DIM", "MAX_DIM", "build_model", "truth"):
            assert hasattr(module, attr), f"{name} lacks {attr}"


def test_gaussian_iid_truth_against_independent_draws():
    target = registry.target("gaussian_iid")
    truth = target.truth(4)
    x = target.initial_points(4, 200_000, np.random.RandomState(0))
    np.testing.assert_allclose(x.mean(axis=0), truth.mean, atol=0.01)
    np.testing.assert_allclose(x.var(axis=0), truth.var, rtol=0.02)


def test_gaussian_iid_model_logp_is_the_standard_normal():
    target = registry.target("gaussian_iid")
    model = target.build_model(3)
    logp = model.compile_logp()
    x = np.array([0.5, -1.0, 2.0])
    assert np.isclose(logp({"x": x}), -0.5 * (x**2).sum() - 1.5 * np.log(2 * np.pi))
