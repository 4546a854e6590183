"""Installed from a wheel, outside the clone, inboxops works with what the package carries:
`init` writes a config, `check` passes, `run --once` drafts a reply, and one template file in the
office's folder changes only the drafts that use it (issue 11, item 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import drop
from mailfactory import client_mail

REPO = Path(__file__).resolve().parent.parent
INQUIRY = ("Question about prices", "Hello, could you please send me your price list? Thank you.")
COMPLAINT = ("Broken delivery", "Hello, the chair from order 5512 arrived broken and the "
             "delivery was two weeks late. I am very unhappy and want a refund.")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding inboxops from a wheel built from a copy of the source tree.

    The venv sees the system site-packages so the test downloads nothing (the dependencies are
    installed there), but inboxops itself must come from the wheel: see the import check."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "inboxops", source / "inboxops",
                    ignore=shutil.ignore_patterns("__pycache__"))
    dist = base / "dist"
    env = _clean_env()
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(dist), str(source)],
        check=True, cwd=base, env=env, capture_output=True,
    )
    (wheel,) = dist.glob("inboxops-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "inboxops/defaults/templates/inquiry.en.body.txt" in names
    assert "inboxops/defaults/templates/_quote.ro.txt" in names
    target = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(target)],
                   check=True, env=env)
    subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, env=env, capture_output=True)
    return target


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH (it points at the clone) and no config chosen by the environment."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "INBOXOPS_CONFIG", "PIP_REQUIRE_VIRTUALENV")}


def _inboxops(venv: Path, cwd: Path, *args: str) -> str:
    done = subprocess.run([str(venv / "bin" / "inboxops"), *args], cwd=cwd, env=_clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"inboxops {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_package_comes_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import inboxops; print(inboxops.__file__)"],
        cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, check=True)
    assert Path(done.stdout.strip()).is_relative_to(venv), done.stdout
    assert not Path(done.stdout.strip()).is_relative_to(REPO)


def test_init_check_and_run_from_the_wheel(venv: Path, tmp_path: Path) -> None:
    office = tmp_path / "office"
    print(_inboxops(venv, tmp_path, "init", str(office)))
    assert not (office / "templates").exists()  # the packaged templates are enough
    config = str(office / "config.toml")
    checked = _inboxops(venv, tmp_path, "--config", config, "check")
    assert "templates: ok: packaged" in checked and str(venv) in checked

    maildir = office / "var" / "mail"
    drop(maildir, "1.M1.test", client_mail(subject=INQUIRY[0], body=INQUIRY[1]))
    _inboxops(venv, tmp_path, "--config", config, "run", "--once")
    (packaged,) = json.loads(_inboxops(venv, tmp_path, "--config", config, "drafts", "--json"))
    assert packaged["category"] == "inquiry"
    assert "will come back to you with the details" in packaged["body"]

    # The office rewrites one file: the English inquiry text. Nothing else changes.
    (office / "templates").mkdir()
    (office / "templates" / "inquiry.en.body.txt").write_text(
        "Dear {{ client_name }}, our price list is attached to this answer.\n\n"
        "{{ signature }}\n", encoding="utf-8")
    drop(maildir, "2.M2.test", client_mail(sender="Ion Pop <ion@client.example>",
                                            subject=INQUIRY[0], body=INQUIRY[1]))
    drop(maildir, "3.M3.test", client_mail(sender="Dan Ene <dan@client.example>",
                                            subject=COMPLAINT[0], body=COMPLAINT[1]))
    _inboxops(venv, tmp_path, "--config", config, "run", "--once")
    rows = json.loads(_inboxops(venv, tmp_path, "--config", config, "drafts", "--json"))
    by_to = {r["to"]: r for r in rows}
    assert by_to["ion@client.example"]["body"].startswith(
        "Dear Ion Pop, our price list is attached")
    assert by_to["dan@client.example"]["category"] == "complaint"
    assert "price list is attached" not in by_to["dan@client.example"]["body"]
    assert by_to["ana@client.example"]["body"] == packaged["body"]  # drafted before: untouched
    checked = _inboxops(venv, tmp_path, "--config", config, "check")
    assert "1 file(s) there replace the packaged ones" in checked
