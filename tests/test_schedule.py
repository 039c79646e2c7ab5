"""The schedules in pipelines/schedule/ are well-formed and refresh weekly: the crontab line's
five fields, the systemd service and timer (`systemd-analyze verify` where available, else
structure), and the CI workflow's YAML."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

SCHEDULE = REPO / "pipelines" / "schedule"
README = (REPO / "README.md").read_text()
# minute, hour, day of month, month, day of week
RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = {
    **{d: n for n, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
    **{m: n for n, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                   "sep", "oct", "nov", "dec"), 1)},
}  # fmt: skip


def cron_field_ok(text: str, low: int, high: int) -> bool:
    """One cron time field: `*`, `*/n`, `a`, `a-b`, `a-b/n`, or a comma list of those."""
    for item in text.lower().split(","):
        match = re.fullmatch(r"(\*|(\w+)(?:-(\w+))?)(?:/(\d+))?", item)
        if not match:
            return False
        for value in (match[2], match[3]):
            if value is None:
                continue
            number = _NAMES.get(value, int(value) if value.isdigit() else -1)
            if not low <= number <= high:
                return False
        if match[4] is not None and int(match[4]) == 0:
            return False
    return True


def cron_entries(path: Path) -> list[list[str]]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [line.split(None, 5) for line in lines if not line.lstrip().startswith("#")]


@pytest.mark.parametrize(
    ("field", "low", "high", "ok"),
    [("17", 0, 59, True), ("60", 0, 59, False), ("*/15", 0, 59, True), ("1-5", 0, 7, True),
     ("mon", 0, 7, True), ("1,3,x", 0, 7, False), ("*/0", 0, 59, False), ("", 0, 59, False)],
)  # fmt: skip
def test_cron_field_checker(field: str, low: int, high: int, ok: bool) -> None:
    assert cron_field_ok(field, low, high) is ok


def test_crontab_line_has_five_valid_fields_and_runs_kg_refresh() -> None:
    entries = cron_entries(SCHEDULE / "kg-refresh.cron")
    assert len(entries) == 1
    fields, command = entries[0][:5], entries[0][5]
    assert all(cron_field_ok(f, lo, hi) for f, (lo, hi) in zip(fields, RANGES, strict=True))
    assert fields[2:4] == ["*", "*"] and fields[4] != "*"  # once a week
    assert "kg refresh" in command and "KG_HOME=" in command


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def test_systemd_service_and_timer_structure() -> None:
    service = _unit(SCHEDULE / "kg-refresh.service")
    assert service["Service"]["Type"] == "oneshot"
    assert re.search(r"/kg refresh\b", service["Service"]["ExecStart"])
    assert "KG_HOME=" in service["Service"]["Environment"]
    assert "3" in service["Service"]["SuccessExitStatus"].split()  # locked is not a failure
    timer = _unit(SCHEDULE / "kg-refresh.timer")
    assert timer["Timer"]["Unit"] == "kg-refresh.service"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert timer["Timer"]["OnCalendar"].split()[0] in ("Mon", "weekly")


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path: Path) -> None:
    service = (SCHEDULE / "kg-refresh.service").read_text()
    # verify wants ExecStart to exist: point it at a real program, keep everything else.
    exec_start = re.search(r"^ExecStart=(\S+)", service, re.MULTILINE)
    assert exec_start
    (tmp_path / "kg-refresh.service").write_text(
        service.replace(exec_start[1], shutil.which("true") or "/bin/true")
    )
    shutil.copy(SCHEDULE / "kg-refresh.timer", tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", "kg-refresh.service", "kg-refresh.timer"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [line for line in done.stderr.splitlines() if "kg-refresh" in line]
    assert done.returncode == 0 and not problems, done.stderr
    calendar = _unit(SCHEDULE / "kg-refresh.timer")["Timer"]["OnCalendar"]
    checked = subprocess.run(
        ["systemd-analyze", "calendar", calendar], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr


def test_ci_workflow_refreshes_weekly_and_commits_graphs() -> None:
    workflow = yaml.safe_load((SCHEDULE / "refresh-weekly.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    crons = [entry["cron"] for entry in triggers["schedule"]]
    assert len(crons) == 1
    fields = crons[0].split()
    assert len(fields) == 5
    assert all(cron_field_ok(f, lo, hi) for f, (lo, hi) in zip(fields, RANGES, strict=True))
    assert fields[2:4] == ["*", "*"] and fields[4] != "*"
    assert "workflow_dispatch" in triggers
    assert workflow["permissions"]["contents"] == "write"
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    assert all("uses" in s or "run" in s for s in steps)
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "kg refresh" in runs and "git add graphs/" in runs and "git push" in runs
    assert any(str(s.get("uses", "")).startswith("actions/cache") for s in steps)
    assert job["env"]["KG_HOME"]
    # the partial exit code (4) keeps the data: the commit step runs, then the job fails
    refresh_step = next(s for s in steps if "kg refresh" in s.get("run", ""))
    assert "-ne 4" in refresh_step["run"]


def test_each_schedule_is_documented() -> None:
    for path in SCHEDULE.iterdir():
        assert f"`{path.name}`" in README, f"{path.name} is not in README.md"
