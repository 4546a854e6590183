"""The classifier interface, the registry config picks from, and the chain that combines them.

Each classifier is a small class whose class attributes are defaults that config can override
(the afew habit); config's `[classify] chain` names which run and in what order. A classifier
returns per-category scores with reasons; a decisive verdict (for example an auto-reply header)
ends the chain. The chain reads each message once (a Reading: the opening of the text, folded,
and its words) and hands that to every classifier, so none of them folds or splits it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from inboxops.classifiers.calibration import Calibration, packaged
from inboxops.classifiers.reading import Reading
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
    """Base class: subclasses set `name` and implement `judge` (a message), or `assess` (the
    chain's Reading of it, to share the folded text and its words with the other classifiers).
    """

    name: ClassVar[str] = ""

    def __init__(self, **options: Any) -> None:
        for key, value in options.items():
            if not hasattr(type(self), key):
                raise ConfigError(f"[classify.{self.name}] {key}: unknown option")
            setattr(self, key, value)

    def judge(self, msg: ParsedMessage) -> Verdict:
        """This classifier's opinion of one message."""
        if type(self).assess is Classifier.assess:
            raise NotImplementedError(f"{type(self).__name__} implements neither judge nor assess")
        return self.assess(Reading(msg))

    def assess(self, reading: Reading) -> Verdict:
        """The same opinion from the chain's Reading of the message."""
        return self.judge(reading.msg)


REGISTRY: dict[str, type[Classifier]] = {}
NO_SIGNAL = "no signal found; needs a human"
WEAK_SIGNALS = "only weak signals; needs a human"


def register(cls: type[Classifier]) -> type[Classifier]:
    """Class decorator: make a classifier available to config by its `name`."""
    REGISTRY[cls.name] = cls
    return cls


class Chain:
    """Runs classifiers in order and combines their verdicts into one Classification.

    The confidence is calibrated (see calibration.py): the winner's lead over the runner-up,
    mapped to the probability that the category is right, as measured on labelled mail.
    """

    weak_evidence = 0.5  # a total below this is a lean, never a confident decision

    def __init__(
        self, classifiers: list[Classifier], fallback: Category = "inquiry",
        calibration: Calibration | None = None,
    ) -> None:
        self.classifiers = classifiers
        self.fallback = fallback
        self.calibration = calibration if calibration is not None else packaged()

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

    def score(self, msg: ParsedMessage) -> tuple[Category, float | None, list[str]]:
        """The winning category, its lead over the runner-up (None when a decisive verdict
        settled it), and the reasons; what `classify` calibrates and the calibration is fitted on.
        """
        total: dict[Category, float] = {}
        reasons: list[str] = []
        reading = Reading(msg)
        for classifier in self.classifiers:
            verdict = classifier.assess(reading)
            if verdict.decisive and verdict.scores:
                category = max(verdict.scores, key=lambda c: verdict.scores[c])
                return category, None, verdict.reasons
            for category, score in verdict.scores.items():
                total[category] = total.get(category, 0.0) + score
            reasons.extend(verdict.reasons)
        if not total or max(total.values()) <= 0:
            return self.fallback, 0.0, [NO_SIGNAL]
        ranked = sorted(CATEGORIES, key=lambda c: total.get(c, 0.0), reverse=True)
        best, runner_up = total.get(ranked[0], 0.0), total.get(ranked[1], 0.0)
        if best < self.weak_evidence:
            reasons = [WEAK_SIGNALS, *reasons]
        return ranked[0], best - runner_up, reasons

    def classify(self, msg: ParsedMessage) -> Classification:
        """Category, calibrated confidence and reasons for one message."""
        category, lead, reasons = self.score(msg)
        if lead is None:
            # A header (auto-reply, list, calendar answer) is a fact about the message, not a
            # lean: no labelled mail is needed to trust it.
            return Classification(category, 0.99, reasons)
        lean = bool(reasons) and reasons[0] in (NO_SIGNAL, WEAK_SIGNALS)
        # Never 1.0: that is kept for a human's correction.
        confidence = min(0.99, round(self.calibration.probability(lead), 2))
        return Classification(category, confidence, reasons, lean=lean)
