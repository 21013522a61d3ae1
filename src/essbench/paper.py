"""Numbers for a manuscript: booktabs LaTeX tables and a macros file.

Every macro is defined from a row of a CSV table that is also written (so the text never
retypes a number), and its comment names that table, row and column.
"""

import math
import re

import numpy as np
import pandas as pd

_ONES = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
]
_TENS = ["", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety"]


def number_word(n: int) -> str:
    """CamelCase English for a non-negative integer (LaTeX macro names take letters only)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + (_ONES[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + "Hundred" + (number_word(rest) if rest else "")
    rest = n % 1000
    return number_word(n // 1000) + "Thousand" + (number_word(rest) if rest else "")


def camel(name: str) -> str:
    parts = re.split(r"[^A-Za-z0-9]+", name)
    out = ""
    for part in parts:
        for piece in re.findall(r"[A-Za-z]+|\d+", part):
            out += number_word(int(piece)) if piece.isdigit() else piece[:1].upper() + piece[1:]
    return out


def fmt(x: float, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "--"
    return f"{x:.{digits}g}"


def speedup_table(summary: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Median cost of ``baseline`` ÷ median cost of each sampler, per (target, dim); cells
    where either has no successful run (no finite positive cost) are left out."""
    col = "cost_per_ess_mean_median"
    good = summary[np.isfinite(summary[col]) & (summary[col] > 0)]
    base = good[good["sampler"] == baseline].set_index(["target", "dim"])[col]
    rows = []
    for r in good.itertuples():
        key = (r.target, r.dim)
        if key in base.index and r.sampler != baseline:
            rows.append(
                {
                    "sampler": r.sampler,
                    "target": r.target,
                    "dim": int(r.dim),
                    "baseline": baseline,
                    "speedup": base[key] / getattr(r, col),
                }
            )
    return pd.DataFrame(rows, columns=["sampler", "target", "dim", "baseline", "speedup"])


def _tabular(df: pd.DataFrame, columns: dict[str, str], caption: str, provenance: str) -> str:
    lines = [
        f"% {provenance}",
        "\\begin{tabular}{" + "l" * 2 + "r" * (len(columns) - 2) + "}",
        "\\toprule",
        " & ".join(columns.values()) + " \\\\",
        "\\midrule",
    ]
    for _, row in df.iterrows():
        cells = []
        for col in columns:
            value = row[col]
            cells.append(fmt(value) if isinstance(value, float) else str(value).replace("_", "\\_"))
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", f"% {caption}", ""]
    return "\n".join(lines)


def alpha_latex(alpha: pd.DataFrame, provenance: str) -> str:
    df = alpha.copy()
    df["interval"] = [
        f"[{fmt(a)}, {fmt(b)}]" for a, b in zip(df["alpha_lo"], df["alpha_hi"], strict=True)
    ]
    return _tabular(
        df,
        {
            "sampler": "sampler",
            "target": "target",
            "alpha": "$\\alpha$",
            "interval": "95\\% interval",
            "textbook_alpha": "textbook",
            "n_runs": "runs",
        },
        "cost per effective sample ∝ d^alpha, bootstrap 95% interval (essbench alpha.csv)",
        provenance,
    )


def speedup_latex(speedup: pd.DataFrame, provenance: str) -> str:
    return _tabular(
        speedup,
        {"sampler": "sampler", "target": "target", "dim": "$d$", "speedup": "speed-up"},
        "median cost per ESS of the baseline ÷ the sampler's (essbench speedup.csv)",
        provenance,
    )


def macros(alpha: pd.DataFrame, speedup: pd.DataFrame, provenance: str) -> str:
    lines = [f"% essbench macros; {provenance}"]
    for r in alpha.itertuples():
        name = f"alpha{camel(r.sampler)}{camel(r.target)}"
        lines.append(
            f"\\newcommand{{\\{name}}}{{{fmt(r.alpha)}}}"
            f"  % alpha.csv: sampler={r.sampler}, target={r.target}, column alpha"
        )
    for r in speedup.itertuples():
        name = (
            f"speedup{camel(r.sampler)}Over{camel(r.baseline)}{camel(r.target)}"
            f"D{number_word(r.dim)}"
        )
        lines.append(
            f"\\newcommand{{\\{name}}}{{{fmt(r.speedup)}}}"
            f"  % speedup.csv: sampler={r.sampler}, target={r.target}, dim={r.dim},"
            " column speedup"
        )
    return "\n".join(lines) + "\n"


def parse_macros(text: str) -> dict[str, str]:
    return dict(re.findall(r"\\newcommand\{\\(\w+)\}\{([^}]*)\}", text))
