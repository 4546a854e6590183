"""The classifier interface, the registry config picks from, and the chain that combines them.

Each classifier is a small class whose class attributes are defaults that config can override
(the afew habit); config's `[classify] chain` names which run and in what order. A classifier
returns per-category scores with reasons; a decisive verdict (for example an auto-reply header)
ends the chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from inboxops.errors import ConfigError
from inboxops.models import CATEGORIES, Category, Classification, ParsedMessage


@dataclass
class Verdict:
    """One classifier's opinion: scores per category, why, and whether it settles the matter."""

    scores: dict[Category, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    decisive: bool = False

    def add(self, category: Category, weight: float, reason: str) -> None:
        self.scores[category] = self.scores.get(category, 0.0) + weight
        self.reasons.append(reason)


class Classifier:
    """Base class: subclasses set `name` and implement `judge`."""

    name: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        for key, value in options.items():
            if not hasattr(type(self), key):
                raise ConfigError(f"[classify.{self.name}] {key}: unknown option")
            setattr(self, key, value)

    def judge(self, msg: ParsedMessage) -> Verdict:
        raise NotImplementedError


REGISTRY: dict[str, type[Classifier]] = {}


def register(cls: type[Classifier]) -> type[Classifier]:
    """Class decorator: make a classifier available to config by its `name`."""
    REGISTRY[cls.name] = cls
    return cls


class Chain:
    """Runs classifiers in order and combines their verdicts into one Classification."""

    weak_evidence = 0.5  # a total below this is a lean, never a confident decision

    def __init__(self, classifiers: list[Classifier], fallback: Category = "inquiry") -> None:
        self.classifiers = classifiers
        self.fallback = fallback

    @classmethod
    def from_names(
        cls, names: list[str], options: dict[str, dict[str, Any]] | None = None,
        shared: dict[str, dict[str, Any]] | None = None,
    ) -> Chain:
        """Build the chain config names; `shared` passes knowledge (our addresses) by name."""
        shared = shared or {}
        built = []
        for name in names:
            factory: Callable[..., Classifier] | None = REGISTRY.get(name)
            if factory is None:
                known = ", ".join(sorted(REGISTRY))
                raise ConfigError(
                    f"[classify] chain: unknown classifier {name!r}. Known: {known}."
                )
            built.append(factory(**{**shared.get(name, {}), **(options or {}).get(name, {})}))
        return cls(built)

    def classify(self, msg: ParsedMessage) -> Classification:
        total: dict[Category, float] = {}
        reasons: list[str] = []
        for classifier in self.classifiers:
            verdict = classifier.judge(msg)
            if verdict.decisive and verdict.scores:
                category = max(verdict.scores, key=lambda c: verdict.scores[c])
                confidence = min(0.99, 0.8 + 0.05 * len(verdict.reasons))
                return Classification(category, round(confidence, 2), verdict.reasons)
            for category, score in verdict.scores.items():
                total[category] = total.get(category, 0.0) + score
            reasons.extend(verdict.reasons)
        if not total or max(total.values()) <= 0:
            return Classification(self.fallback, 0.3, ["no signal found; needs a human"])
        ranked = sorted(CATEGORIES, key=lambda c: total.get(c, 0.0), reverse=True)
        best, runner_up = total.get(ranked[0], 0.0), total.get(ranked[1], 0.0)
        if best < self.weak_evidence:
            # A lean (say, a message that asks for nothing) is a best guess, not a decision.
            return Classification(ranked[0], 0.3, ["only weak signals; needs a human", *reasons])
        # Confidence grows with the evidence and with the margin over the runner-up.
        strength = best / (best + 1.0)
        margin = (best - runner_up) / best
        confidence = round(0.25 + 0.74 * strength * margin, 2)
        return Classification(ranked[0], confidence, reasons)
