"""The conda env files and the pip install behind `make` must pin the same versions."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lines(filename: str):
    """A pip requirements file's lines as pip reads them: a comment after a pin dropped."""
    for line in (REPO / filename).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def requirements() -> dict[str, str]:
    pins = {}
    for line in _lines("requirements.txt"):
        name, sep, version = line.partition("==")
        assert sep, f"requirements.txt: {line!r} is not pinned with =="
        pins[_norm(name)] = version.strip()
    return pins


def env_files():
    return sorted((REPO / "envs").glob("*.yaml"))


def test_every_env_file_is_pinned_on_conda_forge():
    assert env_files()
    for path in env_files():
        env = yaml.safe_load(path.read_text())
        assert env["channels"] == ["conda-forge", "nodefaults"], path.name
        deps = env["dependencies"]
        assert any(str(d).startswith("python=") for d in deps), f"{path.name}: no python pin"
        for dep in deps:
            assert isinstance(dep, str), f"{path.name}: nested dependency {dep!r}"
            assert re.fullmatch(r"[A-Za-z0-9_.-]+=[0-9][^=<>*]*", dep), (
                f"{path.name}: {dep!r} is not pinned exactly (name=version)"
            )


def test_env_pins_equal_requirements():
    pins = requirements()
    for path in env_files():
        for dep in yaml.safe_load(path.read_text())["dependencies"]:
            name, version = dep.split("=", 1)
            if name == "python":
                continue
            assert _norm(name) in pins, f"{path.name}: {name} missing from requirements.txt"
            assert pins[_norm(name)] == version, (
                f"{path.name} pins {name}={version}, requirements.txt {pins[_norm(name)]}"
            )


def test_every_rule_env_package_is_installed_at_its_pin():
    from importlib import metadata

    for name, version in requirements().items():
        assert metadata.version(name) == version, f"installed {name} is not {version}"


def test_python_pin_is_the_interpreter_family():
    import sys

    for path in env_files():
        deps = yaml.safe_load(path.read_text())["dependencies"]
        py = next(d for d in deps if d.startswith("python="))
        major_minor = ".".join(py.split("=")[1].split(".")[:2])
        assert major_minor == f"{sys.version_info.major}.{sys.version_info.minor}", path.name


def test_constraints_agree_with_requirements():
    pins = requirements()
    for line in _lines("constraints.txt"):
        if "==" in line:
            name, version = line.split("==")
            if _norm(name) in pins:
                assert pins[_norm(name)] == version.strip(), name
