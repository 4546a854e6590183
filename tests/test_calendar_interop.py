"""A summer and a winter meeting land at the right UTC instant outside icalendar (issue 12).

Calendars other than ours read the invitation: ical.js (Thunderbird, Nextcloud, many web
clients), vobject (Radicale itself, older Python tools) and icalendar reading only the component
(`to_tz(lookup_tzid=False)`), none of them using its own zone database. Each must place a 10:00
Europe/Bucharest meeting at 07:00Z in July and 08:00Z in January. The same must hold after the
invitation has been stored on, and fetched back from, a real Radicale CalDAV server, which parses
what it stores with vobject and serves it re-serialised: the VTIMEZONE must come back with its
yearly RRULE intact. Radicale 3.9 accepts and keeps METHOD:REQUEST, so the invitation is stored
exactly as it is mailed.

ical.js is installed from npm once per session into a temporary folder (node and npm are test
requirements, like Dovecot); a failed install fails the tests, naming the cause.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import vobject
from icalendar import Calendar, Timezone

from inboxops.responders.meetings import build_request

ZONE = "Europe/Bucharest"
TZ = ZoneInfo(ZONE)
MEETINGS = {  # name: (local start, the UTC instant every parser must give)
    "summer": (datetime(2027, 7, 14, 10, tzinfo=TZ), datetime(2027, 7, 14, 7, tzinfo=UTC)),
    "winter": (datetime(2027, 1, 13, 10, tzinfo=TZ), datetime(2027, 1, 13, 8, tzinfo=UTC)),
}

# Reads one calendar from stdin. The zone is registered with ICAL.TimezoneService from the
# calendar's own VTIMEZONE (ical.js ships no IANA zones, so `known_before` must be false), and
# the instant is computed twice: with the zone ical.js attached while parsing, and with the
# registered one.
NODE_SCRIPT = """\
import ICAL from "ical.js";
import { readFileSync } from "node:fs";

const root = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
const zones = root.getAllSubcomponents("vtimezone");
const tzid = zones.length ? zones[0].getFirstPropertyValue("tzid") : null;
const knownBefore = tzid !== null && ICAL.TimezoneService.has(tzid);
for (const zone of zones) ICAL.TimezoneService.register(zone);
const start = new ICAL.Event(root.getFirstSubcomponent("vevent")).startDate;
const viaService = start.clone();
viaService.zone = ICAL.TimezoneService.get(start.zone.tzid) || ICAL.Timezone.localTimezone;
console.log(JSON.stringify({
  tzid: start.zone.tzid,
  known_before: knownBefore,
  parsed: start.toJSDate().toISOString(),
  service: viaService.toJSDate().toISOString(),
}));
"""


@dataclass(frozen=True)
class IcalJs:
    """What ical.js made of one calendar."""

    tzid: str
    known_before: bool
    parsed: datetime  # the instant with the zone ical.js attached while parsing
    service: datetime  # the instant with the zone registered in ICAL.TimezoneService


def invitation(name: str) -> bytes:
    start, _ = MEETINGS[name]
    return build_request(
        uid=f"{name}@example.com", sequence=0, start=start, end=start + timedelta(hours=1),
        summary="Meeting", description="", location="Office", organizer="office@example.com",
        organizer_name="Office", attendees=[("client@example.org", "Client")], timezone=ZONE,
        now=datetime(2026, 11, 30, tzinfo=UTC),
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="session")
def icaljs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bytes], IcalJs]:
    """A function that runs ical.js (installed from npm once per session) on calendar bytes."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        pytest.fail("node and npm are needed to install and run ical.js "
                    "(apt-get install nodejs npm)")
    folder = tmp_path_factory.mktemp("icaljs")
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(folder),
                           "ical.js"], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.fail(f"npm install ical.js failed ({done.returncode}): {done.stderr.strip()}")
    script = folder / "start.mjs"  # beside node_modules, so `import "ical.js"` finds it
    script.write_text(NODE_SCRIPT, encoding="utf-8")

    def run(data: bytes) -> IcalJs:
        out = subprocess.run([node, str(script)], input=data, capture_output=True,
                             timeout=60, check=False)
        assert out.returncode == 0, out.stderr.decode(errors="replace")
        got = json.loads(out.stdout)
        return IcalJs(got["tzid"], got["known_before"], _instant(got["parsed"]),
                      _instant(got["service"]))

    return run


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Radicale on 127.0.0.1 (no auth, temporary storage); yields the calendar's URL."""
    folder = tmp_path_factory.mktemp("radicale")
    port = _free_port()
    # --config "" keeps /etc/radicale and ~/.config/radicale out of the test.
    server = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", "", f"--server-hosts=127.0.0.1:{port}",
         "--auth-type=none", f"--storage-filesystem-folder={folder / 'collections'}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    _, err = server.communicate()
                    pytest.fail(f"radicale did not start: {err.decode(errors='replace')}")
                time.sleep(0.1)
        # RFC 4791 §5.3.1: MKCALENDAR makes the calendar collection. Auth "none" takes any
        # user; the default rights (owner_only) let "office" write under /office/.
        url = f"http://127.0.0.1:{port}/office/meetings/"
        made = requests.request("MKCALENDAR", url, auth=("office", "x"), timeout=10)
        assert made.status_code == 201, (made.status_code, made.text)
        yield url
    finally:
        server.terminate()
        server.communicate(timeout=10)


def round_trip(url: str, name: str) -> bytes:
    """PUT the invitation into the calendar as `<name>.ics` and GET it back."""
    item = f"{url}{name}.ics"
    put = requests.put(item, data=invitation(name), auth=("office", "x"), timeout=10,
                       headers={"Content-Type": "text/calendar; charset=utf-8"})
    assert put.status_code == 201, (put.status_code, put.text)
    got = requests.get(item, auth=("office", "x"), timeout=10)
    assert got.status_code == 200, got.status_code
    return got.content


def vobject_instant(data: bytes) -> datetime:
    (event,) = vobject.readOne(data.decode()).vevent_list
    start: datetime = event.dtstart.value
    assert start.tzinfo is not None and start.replace(tzinfo=None).hour == 10
    return start.astimezone(UTC)


def icalendar_instant(data: bytes) -> datetime:
    """DTSTART's wall time read in the calendar's own VTIMEZONE, not in zoneinfo's zone."""
    cal = Calendar.from_ical(data)
    (zone,) = cal.walk("VTIMEZONE")
    (event,) = cal.walk("VEVENT")
    assert isinstance(zone, Timezone)
    assert event["DTSTART"].params["TZID"] == zone["TZID"] == ZONE
    wall: datetime = event.decoded("DTSTART").replace(tzinfo=None)
    return wall.replace(tzinfo=zone.to_tz(lookup_tzid=False)).astimezone(UTC)


def assert_yearly_rules(data: bytes) -> None:
    """The VTIMEZONE is still one DAYLIGHT and one STANDARD rule, each with RRULE, no RDATE."""
    (zone,) = Calendar.from_ical(data).walk("VTIMEZONE")
    parts = {part.name: part for part in zone.subcomponents}
    assert set(parts) == {"DAYLIGHT", "STANDARD"}
    for part in parts.values():
        assert "RRULE" in part and "RDATE" not in part
        assert part.decoded("RRULE")["FREQ"] == ["YEARLY"]


@pytest.mark.parametrize("name", MEETINGS)
def test_icaljs_places_the_meeting_with_our_vtimezone(
        icaljs: Callable[[bytes], IcalJs], name: str) -> None:
    expected = MEETINGS[name][1]
    got = icaljs(invitation(name))
    assert got.tzid == ZONE and not got.known_before  # the zone came from our component
    assert got.parsed == got.service == expected


@pytest.mark.parametrize("name", MEETINGS)
def test_vobject_and_icalendar_place_the_meeting(name: str) -> None:
    data, expected = invitation(name), MEETINGS[name][1]
    assert vobject_instant(data) == icalendar_instant(data) == expected


@pytest.mark.parametrize("name", MEETINGS)
def test_a_radicale_round_trip_keeps_the_instant_and_the_rules(
        radicale: str, icaljs: Callable[[bytes], IcalJs], name: str) -> None:
    expected = MEETINGS[name][1]
    back = round_trip(radicale, name)
    assert b"BEGIN:VEVENT" in back and f"UID:{name}@example.com".encode() in back
    assert_yearly_rules(back)
    assert vobject_instant(back) == icalendar_instant(back) == expected
    got = icaljs(back)
    assert got.tzid == ZONE and not got.known_before
    assert got.parsed == got.service == expected
