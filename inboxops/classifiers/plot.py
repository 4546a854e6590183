"""`inboxops eval --plot FILE`: the reliability diagram and the risk-coverage curve as a PNG.

matplotlib (the `plot` extra) draws it with the Agg backend: no display, no GUI toolkit, the same
pixels on a server as on a laptop. It is imported only here, only when a plot is asked for, so
the daemon never loads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inboxops.errors import InboxopsError


def reliability_png(result: dict[str, Any], path: Path, title: str = "") -> None:
    """Write the diagram for an `evaluate.report` result to `path`."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InboxopsError(
            "--plot needs matplotlib: pip install 'inboxops[plot]'"
        ) from None
    bins = result["reliability"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4), dpi=100)
    left.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfect")
    left.bar([b["bin"] + 0.05 for b in bins], [b["accuracy"] for b in bins], width=0.09,
             color="#2f6fb3", alpha=0.75, label="share right")
    left.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o",
              color="#c9302c", label="mean confidence")
    for b in bins:
        left.annotate(str(b["n"]), (b["bin"] + 0.05, 0.02), ha="center", fontsize=7,
                      color="white")
    left.axvline(result["threshold"], color="#e39b25", linewidth=1.5,
                 label=f"review below {result['threshold']:.2f}")
    left.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence", ylabel="share right",
             title=f"Reliability (ECE {result['ece']:.3f})")
    left.legend(loc="upper left", fontsize=8)
    curve = result["risk_coverage"]
    right.step([p["coverage"] for p in curve], [p["risk"] for p in curve], where="post",
               color="#2f6fb3")
    right.plot([result["coverage"]], [1 - result["precision_at_threshold"]], "o",
               color="#e39b25", label=f"threshold: coverage {result['coverage']:.2f}, "
               f"precision {result['precision_at_threshold']:.3f}")
    right.set(xlim=(0, 1.0), ylim=(0, max(0.2, max((p["risk"] for p in curve), default=0))),
              xlabel="coverage (share sorted automatically)", ylabel="risk (share wrong)",
              title="Risk-coverage")
    right.legend(loc="upper left", fontsize=8)
    fig.suptitle(f"{title}: n={result['n']}, macro-F1 {result['macro_f1']:.3f}")
    fig.tight_layout()
    try:
        fig.savefig(path, format="png")
    except OSError as e:
        raise InboxopsError(f"{path}: cannot write the plot: {e}") from None
    finally:
        plt.close(fig)
