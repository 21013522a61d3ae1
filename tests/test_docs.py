"""Generated documentation stays equal to the modules' declarations."""

from essbench import docs, registry


def test_generated_blocks_are_current():
    """Regenerate with: python -m essbench.docs"""
    assert docs.stale() == []


def test_every_declared_option_is_in_the_config_readme():
    text = (docs.REPO / "config" / "README.md").read_text()
    for kind, plugins in (("sampler", registry.samplers()), ("target", registry.targets())):
        for name, plugin in plugins.items():
            assert f"| `{name}`" in text, f"{kind} {name} missing from config/README.md"
            for option in plugin.OPTIONS.values():
                assert f"`{option.name}` | {option.allowed(markdown=True)}" in text


def test_a_stale_block_is_found_and_rewritten():
    stale = "x\n<!-- generated: t -->\nold\n<!-- end: t -->\ny\n"
    fresh = docs.render(stale, {"t": lambda: "new"})
    assert fresh == "x\n<!-- generated: t -->\nnew\n<!-- end: t -->\ny\n"
    assert docs.render(fresh, {"t": lambda: "new"}) == fresh
