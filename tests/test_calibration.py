"""Calibrated confidence: the isotonic fit, the measures `inboxops eval` reports, the packaged
calibration and its promise (precision >= 0.95 at coverage >= 0.70 per language, ECE <= 0.05 by
cross-validation), and `eval --json/--plot` on a small labelled file written here."""

from __future__ import annotations

import json
import random
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from inboxops import config
from inboxops.classifiers.calibration import (
    Calibration,
    at_threshold,
    ece,
    fit,
    packaged,
    risk_coverage,
)
from inboxops.classifiers.evaluate import source_of
from inboxops.cli import main
from inboxops.errors import InboxopsError

REPO = Path(__file__).resolve().parent.parent


def test_fit_is_monotone_and_tracks_the_rate_of_right_answers() -> None:
    rng = random.Random(1)
    leads = [rng.uniform(0, 4) for _ in range(2000)]
    # Right with probability 0.5 + lead/8: a known curve to recover.
    correct = [rng.random() < 0.5 + x / 8 for x in leads]
    cal = fit(leads, correct)
    probs = [p for _, p in cal.knots]
    assert probs == sorted(probs)
    for x in (0.5, 2.0, 3.5):
        assert cal.probability(x) == pytest.approx(0.5 + x / 8, abs=0.06)
    assert cal.probability(-10) == cal.knots[0][1] and cal.probability(99) == cal.knots[-1][1]


def test_fit_never_claims_certainty_from_a_few_cases() -> None:
    cal = fit([1.0, 2.0, 3.0, 4.0, 5.0, 0.1], [True] * 5 + [False])
    assert cal.probability(5.0) < 1.0


def test_broken_knots_are_refused() -> None:
    with pytest.raises(InboxopsError):
        Calibration.from_json({"knots": [[0, 0.9], [1, 0.5]]})


def test_ece_coverage_precision_and_the_risk_coverage_curve() -> None:
    honest = [(0.8, True)] * 8 + [(0.8, False)] * 2
    assert ece(honest) == pytest.approx(0.0)
    overconfident = [(0.95, True)] * 5 + [(0.95, False)] * 5
    assert ece(overconfident) == pytest.approx(0.45)
    outcomes = [(0.99, True), (0.9, True), (0.9, False), (0.5, True)]
    assert at_threshold(outcomes, 0.9) == (0.75, pytest.approx(2 / 3))
    assert at_threshold(outcomes, 0.995) == (0.0, 1.0)
    assert risk_coverage(outcomes) == [
        {"threshold": 0.99, "coverage": 0.25, "risk": 0.0},
        {"threshold": 0.9, "coverage": 0.75, "risk": pytest.approx(0.3333, abs=1e-4)},
        {"threshold": 0.5, "coverage": 1.0, "risk": 0.25},
    ]


def test_packaged_calibration_keeps_its_promise_and_matches_the_config_default() -> None:
    cal = packaged()
    assert cal.threshold == config.default().classify.review_below
    report = cal.report
    assert report["built_by"] == "scripts/calibrate.py" and report["folds"] == 5
    for lang in ("en", "ro"):
        figures = report["cv_per_language"][lang]
        assert figures["precision"] >= 0.95 and figures["coverage"] >= 0.70, (lang, figures)
        assert figures["ece"] <= 0.05
    assert report["cv_overall"]["ece"] <= 0.05


def test_the_wheel_carries_the_calibration() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["inboxops.classifiers"]
    assert "calibration.json" in data
    assert (REPO / "inboxops" / "classifiers" / "calibration.json").is_file()


@pytest.mark.parametrize(("origin", "source"), [
    ("owner/repo:data/file.csv@0123abc (row 7)", "owner/repo"),
    ("https://github.com/owner/repo/issues/12 (first post only)", "github.com/owner/repo"),
    ("", ""),
])
def test_source_names(origin: str, source: str) -> None:
    assert source_of(origin) == source


def _labelled(path: Path) -> Path:
    # Written for this test: two sources, clear and unclear messages.
    items = [
        ("a/shop", "complaint", "Broken parcel", "It arrived broken, unacceptable, refund me."),
        ("a/shop", "inquiry", "Price", "How much does the blue kettle cost? Do you have it?"),
        ("a/shop", "complaint", "hm", "ok"),
        ("b/office", "meeting", "Meeting", "Can we meet on Tuesday at 3pm to discuss the plan?"),
        ("b/office", "other", "Newsletter", "Unsubscribe here. You are receiving this newsletter."),
        ("b/office", "inquiry", "Gate", "The card for the gate stopped opening it."),
    ]
    path.write_text("".join(
        json.dumps({"id": str(i), "lang": "en", "label": label, "subject": subject,
                    "body": body, "from_source": f"{source}:x.jsonl"}) + "\n"
        for i, (source, label, subject, body) in enumerate(items)), encoding="utf-8")
    return path


def test_eval_json_reports_what_the_assistant_lives_with(tmp_path: Path) -> None:
    path = _labelled(tmp_path / "items.jsonl")
    plot = tmp_path / "reliability.png"
    result = CliRunner().invoke(main, ["eval", str(path), "--json", "--plot", str(plot)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["threshold"] == config.default().classify.review_below
    assert set(data["per_source"]) == {"a/shop", "b/office"}
    assert data["per_source"]["a/shop"]["n"] == 3
    assert 0 < data["coverage"] < 1  # the clear ones sorted, the unclear ones to review
    assert data["precision_at_threshold"] == 1.0
    assert 0 <= data["ece"] <= 1
    assert data["risk_coverage"][-1]["coverage"] == 1.0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 10_000
