"""Discovery, and the README's sampler x target compatibility table."""

from conftest import REPO

from essbench import registry


def test_readme_compatibility_table_is_the_registry_s():
    """Regenerate: python -m essbench.docs"""
    assert registry.compatibility_table() in (REPO / "README.md").read_text()


def test_every_sampler_and_target_is_in_the_table():
    table = registry.compatibility_table()
    for name in registry.targets():
        assert f"`{name}`" in table.splitlines()[0]
    rows = {line.split("|")[1].strip(" `") for line in table.splitlines()[2:]}
    assert rows == set(registry.samplers()) - {"fault_injection"}


def test_a_gradient_sampler_on_a_target_without_gradients_is_refused():
    class Target:
        GRADIENT, MIN_DIM, MAX_DIM = False, 1, None

    nuts, emcee = registry.sampler("pymc_nuts"), registry.sampler("emcee")
    assert registry.compatibility(nuts, Target).startswith("✗")
    assert registry.compatibility(emcee, Target) == "✓ (≥ 2d walkers)"
