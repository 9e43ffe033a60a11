"""Totals of the test sessions from their JUnit reports: per session, then distinct tests.

``test-all`` runs every package's tests again beside the integration tests, so adding the
sessions' totals would count most tests twice; a test is counted once, with its worst
outcome over the sessions that ran it (error, failed, passed, skipped).
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

OUTCOMES = ("passed", "failed", "errors", "skipped")
WORST_FIRST = ("errors", "failed", "passed", "skipped")


def outcome(case: ET.Element) -> str:
    tags = {child.tag for child in case}
    if "error" in tags:
        return "errors"
    if "failure" in tags:
        return "failed"
    return "skipped" if "skipped" in tags else "passed"


def main(directory: str) -> int:
    reports = sorted(Path(directory).glob("*.xml"))
    if not reports:
        print(f"ci: no test reports in {directory}")
        return 1
    distinct: dict[tuple[str, str], str] = {}
    for report in reports:
        counts = dict.fromkeys(OUTCOMES, 0)
        for case in ET.parse(report).iter("testcase"):
            found = outcome(case)
            counts[found] += 1
            key = (case.get("classname", ""), case.get("name", ""))
            known = distinct.get(key, found)
            distinct[key] = min(known, found, key=WORST_FIRST.index)
        print(f"ci: {report.stem}: " + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES))
    totals = {o: sum(1 for v in distinct.values() if v == o) for o in OUTCOMES}
    listed = ", ".join(f"{totals[o]} {o}" for o in OUTCOMES)
    print(f"ci: {len(distinct)} distinct tests: {listed}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
