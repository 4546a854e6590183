"""Lease holders: a dead process is recognised as dead, anything uncertain counts as alive."""

from __future__ import annotations

import socket
import subprocess
import sys

from inboxops.outbound.liveness import _start_ticks, identity, is_gone


def owner_of(proc: subprocess.Popen[bytes]) -> str:
    return f"{socket.gethostname()}:{proc.pid}:{_start_ticks(proc.pid)}"


def test_a_running_process_holds_its_lease_and_a_dead_one_does_not() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = owner_of(proc)
        assert not is_gone(owner)
    finally:
        proc.kill()
        proc.wait()
    assert is_gone(owner)


def test_a_reused_pid_with_another_start_time_is_not_the_holder() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        host, pid, start = owner_of(proc).rsplit(":", 2)
        assert is_gone(f"{host}:{pid}:{int(start) - 1}")
    finally:
        proc.kill()
        proc.wait()


def test_uncertain_holders_count_as_alive() -> None:
    assert not is_gone(identity())  # ourselves
    assert not is_gone(None)
    assert not is_gone("garbage")
    assert not is_gone(f"another-host.example:{2**22 + 7}:123")  # cannot check another machine
    assert not is_gone(f"{socket.gethostname()}:{2**22 + 7}:?")  # start time was unknown
