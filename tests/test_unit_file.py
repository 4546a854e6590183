"""deploy/inboxops.service as systemd reads it: `systemd-analyze verify` is silent and
`systemd-analyze security --offline=yes` rates it "OK" or better (SYSD-5), through the same
script CI runs (deploy/check-unit). A missing systemd-analyze is a failure, not a skip: the
README's test command installs the Debian package "systemd" that provides it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNIT = DEPLOY / "inboxops.service"


def check_unit(unit: Path) -> subprocess.CompletedProcess[str]:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd", pytrace=False)
    return subprocess.run([str(DEPLOY / "check-unit"), str(unit)], capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_unit_verifies_and_is_hardened() -> None:
    result = check_unit(UNIT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify inboxops.service: ok" in result.stdout
    level = re.search(r"security inboxops.service: ([0-9.]+) (\w+)", result.stdout)
    assert level and level.group(2) in {"PERFECT", "SAFE", "OK"}, result.stdout


def test_a_unit_without_hardening_fails_the_check(tmp_path: Path) -> None:
    """The check can fail: the same unit with its sandboxing removed is rated worse than OK."""
    hardening = re.compile(r"^(Protect|Private|Restrict|SystemCall|Capability|DynamicUser|"
                           r"NoNewPrivileges|LockPersonality|UMask|ProcSubset)", re.M)
    weak = "\n".join(line for line in UNIT.read_text().splitlines()
                     if not hardening.match(line))
    (tmp_path / "inboxops.service").write_text(weak + "\n")
    result = check_unit(tmp_path / "inboxops.service")
    assert result.returncode != 0
    assert "worse than OK" in result.stderr or "exposure above OK" in result.stderr


def test_a_misspelt_directive_fails_verify(tmp_path: Path) -> None:
    broken = UNIT.read_text().replace("ProtectSystem=", "ProtectSytem=")
    assert "ProtectSytem=" in broken
    (tmp_path / "inboxops.service").write_text(broken)
    result = check_unit(tmp_path / "inboxops.service")
    assert result.returncode != 0
    assert "ProtectSytem" in result.stderr


def test_passwords_come_as_credentials_never_environment() -> None:
    """SYSD-4: a password in Environment= would show in /proc/PID/environ."""
    unit = UNIT.read_text()
    assert re.search(r"^LoadCredential(Encrypted)?=INBOXOPS_IMAP_PASSWORD:", unit, re.M)
    assert not re.search(r"^Environment=.*(PASSWORD|TOKEN|SECRET)", unit, re.M | re.I)
