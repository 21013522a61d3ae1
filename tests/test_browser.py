"""The standalone report in a real headless browser (Debian's chromium): every figure loads,
and nothing is fetched from anywhere (it opens offline)."""

import json
import os
import re
import shutil
import subprocess

import pytest

PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  const fetched = performance.getEntriesByType('resource')
    .filter(e => !e.name.startsWith('data:')).length;
  document.title = `probe images=${ok}/${imgs.length} fetched=${fetched}`;
});
</script></body>"""


def chromium():
    path = shutil.which("chromium")
    if path:
        return path
    if os.geteuid() != 0:
        pytest.skip(
            "chromium is not installed and installing it needs root: apt-get install chromium"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
        timeout=900,
        capture_output=True,
    )
    return shutil.which("chromium")


@pytest.mark.workflow
def test_report_loads_every_figure_offline(tiny_run, tmp_path):
    report = tiny_run.attrs["workdir"] / "results" / "tiny" / "report.html"
    page = tmp_path / "report.html"
    page.write_text(report.read_text().replace("</body>", PROBE))
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    match = re.search(r"<title>probe images=(\d+)/(\d+) fetched=(\d+)</title>", proc.stdout)
    assert match, proc.stdout[-2000:] + proc.stderr[-2000:]
    loaded, total, fetched = map(int, match.groups())
    flagged = json.loads(
        (
            tiny_run.attrs["workdir"] / "results" / "tiny" / "figures" / "flagged" / "index.json"
        ).read_text()
    )["cells"]
    # the seven study figures (the decision figure among them) and one per flagged cell
    # (the tiny study has flagged emcee runs)
    assert flagged and total == 7 + sum(bool(c["figure"]) for c in flagged)
    assert loaded == total and fetched == 0
