"""Documentation generated from the modules' declarations.

``python -m essbench.docs`` rewrites the generated blocks of ``config/README.md`` (option
tables) and ``README.md`` (the sampler × target compatibility table, the table of
posteriordb's ports) in place;
``python -m essbench.docs --check`` exits 1 when they are stale (``tests/test_docs.py``
runs the check). A generated block sits between ``<!-- generated: NAME -->`` and
``<!-- end: NAME -->``; edit the modules, not the block.
"""

import re
import sys
from pathlib import Path

from essbench import registry

REPO = Path(__file__).resolve().parents[2]


def _default(option) -> str:
    if option.default is None:
        return "unset"
    if isinstance(option.default, bool):
        return "`true`" if option.default else "`false`"
    if isinstance(option.default, str):
        return f"`{option.default}`"
    return f"{option.default:g}" if isinstance(option.default, float) else str(option.default)


def _rows(plugins: dict, kind: str) -> list[str]:
    lines = [
        f"| {kind} | option | allowed | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, plugin in plugins.items():
        base = getattr(plugin.module, "NAME", name)
        if base != name:  # a declared variant of the module named base
            changed = {
                k: v for k, v in plugin.DEFAULTS.items() if plugins[base].DEFAULTS.get(k) != v
            }
            settings = ", ".join(f"`{k}: {str(v).lower()}`" for k, v in changed.items())
            lines.append(f"| `{name}` | | | | `{base}` with {settings}: {plugin.DESCRIPTION} |")
            continue
        label = f"`{name}`" + (" (tests only)" if getattr(plugin, "TEST_ONLY", False) else "")
        if not plugin.OPTIONS:
            lines.append(f"| {label} | — | | | |")
            continue
        for i, option in enumerate(plugin.OPTIONS.values()):
            lines.append(
                f"| {label if i == 0 else ''} | `{option.name}` | {option.allowed(markdown=True)}"
                f" | {_default(option)} | {option.meaning} |"
            )
    return lines


def sampler_options_table() -> str:
    return "\n".join(_rows(registry._shipped_sorted("sampler"), "sampler"))


def target_options_table() -> str:
    return "\n".join(_rows(registry._shipped_sorted("target"), "target"))


TRUTH_SOURCES = {
    "posteriordb": "posteriordb's reference draws",
    "reference": "gated NUTS reference (no vendored draws)",
    "analytic": "analytic",
}


def _parameters(plugin) -> str:
    """The port's parameters as Stan declares them (``beta[5]``), and its dimension."""
    model = plugin.build_model(plugin.MIN_DIM)
    names = []
    for rv in model.free_RVs:
        shape = [str(int(s)) for s in rv.shape.eval()]
        names.append(f"{rv.name}[{', '.join(shape)}]" if shape else rv.name)
    return f"{', '.join(names)} ({plugin.MIN_DIM})"


def posteriordb_table() -> str:
    """The README's table of posteriordb's ports (targets declaring ``POSTERIOR``)."""
    from essbench import posteriordb

    lines = [
        "| target | posteriordb posterior | parameters (dim) | kind of model | truth | licence |",
        "|---|---|---|---|---|---|",
    ]
    for name, plugin in registry._shipped_sorted("target").items():
        posterior = getattr(plugin.module, "POSTERIOR", None)
        if posterior is None:
            continue
        lines.append(
            f"| `{name}` | `{posterior}` | {_parameters(plugin)} | {plugin.KIND}"
            f" | {TRUTH_SOURCES[plugin.TRUTH]} | {posteriordb.licence(posterior)} |"
        )
    return "\n".join(lines)


def log_prob_example_table() -> str:
    """The README's compatibility table for the log_prob worked example."""
    from essbench.logprob import example_table

    return example_table()


def published_answer() -> str:
    """The README's opening: the newest ``published/answer-*`` folder's answer in two
    sentences (:func:`essbench.decision.headline`), or that none is published yet."""
    import pandas as pd

    from essbench import decision

    folders = sorted((REPO / "published").glob("answer-*/tables/decision.csv"))
    if not folders:
        return (
            "**The answer** is not published yet: its study, `config/answer.yaml`"
            " (gradient-based against gradient-free samplers on real posteriors), has not"
            " finished; its results will be in `published/answer-<date>/`."
        )
    path = folders[-1]
    link = path.parent.parent.relative_to(REPO).as_posix() + "/"
    return decision.headline(pd.read_csv(path), link)


BLOCKS = {
    REPO / "config" / "README.md": {
        "sampler-options": sampler_options_table,
        "target-options": target_options_table,
    },
    REPO / "README.md": {
        "answer": published_answer,
        "compatibility": registry.compatibility_table,
        "posteriordb": posteriordb_table,
        "log-prob-example": log_prob_example_table,
    },
}


def render(text: str, blocks: dict) -> str:
    for name, make in blocks.items():
        begin, end = re.escape(f"<!-- generated: {name} -->"), re.escape(f"<!-- end: {name} -->")
        pattern = re.compile(rf"({begin}\n)(?:.*?\n)?({end})", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"no generated block {name!r} (<!-- generated: {name} -->)")
        body = make()
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def stale() -> list[Path]:
    return [
        path
        for path, blocks in BLOCKS.items()
        if render(path.read_text(), blocks) != path.read_text()
    ]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        paths = stale()
        for path in paths:
            print(f"{path.relative_to(REPO)} is stale: run python -m essbench.docs")
        return 1 if paths else 0
    for path, blocks in BLOCKS.items():
        path.write_text(render(path.read_text(), blocks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
