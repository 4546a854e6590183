"""Calibrated confidence: the chain's lead turned into the probability that its category is right.

The chain adds up evidence per category; how far the winner leads the runner-up ranks messages
well (a bigger lead is more often right) but is not a probability. A monotone map fitted by
isotonic regression (pool-adjacent-violators) on labelled mail turns the lead into one: among
messages given 0.9, about 90% are right. The map is package data (`calibration.json`), built by
`scripts/calibrate.py` with cross-validation, so installing the wheel installs it. It is the only
thing fitted on labelled data; the rules are written by hand.

Also here, because `inboxops eval` and the script share them: expected calibration error,
coverage and precision at a threshold, and the risk-coverage curve. Pure functions, no I/O
beyond reading the package data once.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from itertools import pairwise
from typing import Any

from inboxops.errors import InboxopsError

DATA_FILE = "calibration.json"

# One labelled message as the measures see it: the calibrated confidence and whether the
# category given was the right one.
Outcome = tuple[float, bool]


@dataclass(frozen=True)
class Calibration:
    """A monotone piecewise-linear map from lead to probability, and the review threshold the
    cross-validation chose for it."""

    knots: tuple[tuple[float, float], ...]  # (lead, probability), leads increasing
    threshold: float = 0.9
    report: dict[str, Any] = field(default_factory=dict, compare=False)

    def probability(self, lead: float) -> float:
        """The probability at `lead`: linear between knots, flat beyond the ends."""
        if not self.knots:
            return 0.5
        i = bisect_right(self._leads, lead)
        if i == 0:
            return self.knots[0][1]
        if i == len(self.knots):
            return self.knots[-1][1]
        (x0, p0), (x1, p1) = self.knots[i - 1], self.knots[i]
        return p0 + (p1 - p0) * (lead - x0) / (x1 - x0) if x1 > x0 else p1

    @cached_property
    def _leads(self) -> list[float]:
        """The knots' leads, listed once (per message this cost more than the lookup)."""
        return [x for x, _ in self.knots]

    def to_json(self) -> dict[str, Any]:
        return {"feature": "lead", "threshold": self.threshold,
                "knots": [[round(x, 4), round(p, 4)] for x, p in self.knots],
                "report": self.report}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        knots = tuple((float(x), float(p)) for x, p in data["knots"])
        if any(b[0] < a[0] or b[1] < a[1] for a, b in pairwise(knots)):
            raise InboxopsError("calibration: knots must increase in lead and probability")
        return cls(knots, float(data.get("threshold", 0.9)), data.get("report", {}))


def fit(leads: Sequence[float], correct: Sequence[bool], prior: float = 1.0) -> Calibration:
    """Isotonic regression of correctness on lead (pool-adjacent-violators).

    Each pooled block's rate is shrunk towards the overall rate by `prior` pseudo-messages, so
    a block of five right answers says 0.9-something, not a certainty drawn from five cases.
    """
    pairs = sorted(zip(leads, correct, strict=True))
    if not pairs:
        return Calibration(())
    base = sum(c for _, c in pairs) / len(pairs)
    blocks: list[list[float]] = []  # [sum of lead, sum of correct, count]
    for x, c in pairs:
        blocks.append([x, float(c), 1.0])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            for k in range(3):
                blocks[-1][k] += last[k]
    knots: list[tuple[float, float]] = []
    for sx, sy, n in blocks:
        p = (sy + prior * base) / (n + prior)
        p = max(p, knots[-1][1]) if knots else p  # shrinking must not break monotonicity
        knots.append((sx / n, p))
    return Calibration(tuple(knots))


@cache
def packaged() -> Calibration:
    """The calibration shipped with inboxops (built by scripts/calibrate.py)."""
    try:
        text = resources.files("inboxops.classifiers").joinpath(DATA_FILE).read_text("utf-8")
        return Calibration.from_json(json.loads(text))
    except (OSError, ValueError, KeyError) as e:
        raise InboxopsError(f"calibration data {DATA_FILE} is missing or broken: {e}") from None


def ece(outcomes: Sequence[Outcome], bins: int = 10) -> float:
    """Expected calibration error: the confidence-vs-accuracy gap of equal-width bins, weighted
    by how many messages fall in each."""
    if not outcomes:
        return 0.0
    groups: dict[int, list[Outcome]] = {}
    for p, ok in outcomes:
        groups.setdefault(min(int(p * bins), bins - 1), []).append((p, ok))
    gap = sum(abs(sum(p for p, _ in g) - sum(ok for _, ok in g)) for g in groups.values())
    return gap / len(outcomes)


def reliability(outcomes: Sequence[Outcome], bins: int = 10) -> list[dict[str, float]]:
    """Per non-empty bin: mean confidence, share right, and count (the reliability diagram)."""
    groups: dict[int, list[Outcome]] = {}
    for p, ok in outcomes:
        groups.setdefault(min(int(p * bins), bins - 1), []).append((p, ok))
    return [{"bin": b / bins, "confidence": sum(p for p, _ in g) / len(g),
             "accuracy": sum(ok for _, ok in g) / len(g), "n": len(g)}
            for b, g in sorted(groups.items())]


def at_threshold(outcomes: Sequence[Outcome], threshold: float) -> tuple[float, float]:
    """(coverage, precision): the share sorted automatically, and how often those are right."""
    kept = [ok for p, ok in outcomes if p >= threshold]
    coverage = len(kept) / len(outcomes) if outcomes else 0.0
    return coverage, (sum(kept) / len(kept) if kept else 1.0)


def risk_coverage(outcomes: Sequence[Outcome]) -> list[dict[str, float]]:
    """The risk-coverage curve: for each distinct confidence, the threshold there, the share of
    messages at or above it, and the error rate among them (most confident first)."""
    ranked = sorted(outcomes, key=lambda o: o[0], reverse=True)
    curve, right = [], 0
    for i, (p, ok) in enumerate(ranked, 1):
        right += ok
        if i == len(ranked) or ranked[i][0] < p:
            curve.append({"threshold": round(p, 4), "coverage": round(i / len(ranked), 4),
                          "risk": round(1 - right / i, 4)})
    return curve
