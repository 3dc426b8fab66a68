"""Smoke checks of the benchmark suite in ``experiments/`` (which hiercls never imports)."""

import subprocess
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
SCRIPTS = sorted(path.name for path in EXPERIMENTS.glob("*.py") if not path.name.startswith("_"))

pytestmark = pytest.mark.slow


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.syspath_prepend(str(EXPERIMENTS))
    import _runner

    return _runner


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_offers_quick_mode(script):
    out = subprocess.run(
        [sys.executable, str(EXPERIMENTS / script), "--help"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=EXPERIMENTS.parent,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "--quick" in out.stdout


def test_run_child_returns_result_and_peak_memory(runner, tmp_path):
    result = tmp_path / "result.json"
    code = (
        "import json, time, numpy as np\n"
        "a = np.ones(100_000_000 // 8)\n"
        "time.sleep(1.0)\n"
        f"open({str(result)!r}, 'w').write(json.dumps({{'n': int(a.size)}}))\n"
    )
    outcome = runner.run_child([sys.executable, "-c", code], timeout=120, result_path=result)
    assert outcome["status"] == "ok"
    assert outcome["result"] == {"n": 12_500_000}
    assert outcome["peak_rss_bytes"] >= 100_000_000


def test_run_child_kills_a_child_past_its_time_limit(runner, tmp_path):
    outcome = runner.run_child(
        [sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.5, result_path=tmp_path / "r.json"
    )
    assert outcome["status"] == "timeout"
    assert outcome["result"] is None
    assert outcome["wall_s"] < 30


def test_run_child_reports_a_failing_child(runner, tmp_path):
    outcome = runner.run_child(
        [sys.executable, "-c", "raise SystemExit('no data')"], timeout=60, result_path=tmp_path / "r.json"
    )
    assert outcome["status"] == "error"
    assert "no data" in outcome["stderr_tail"]


def test_table_names_one_commit_or_a_commit_per_row(runner):
    versions = {"numpy": "2.0", "hiercls": "0.1"}
    same = [{"git_commit": "abc1234", "versions": versions}] * 2
    note, per_row = runner.provenance_note(same)
    assert not per_row
    assert note == "Every row: commit abc1234; hiercls 0.1, numpy 2.0."

    mixed = [{"git_commit": "abc1234-dirty", "versions": versions}, {"versions": versions}]
    lines = runner.markdown_table(["model"], mixed, [["a"], ["b"]])
    expected = "Rows come from 2 commit(s) (abc1234-dirty: 1 row, commit not recorded: 1 row);"
    assert lines[0].startswith(expected)
    assert lines[2:] == [
        "| model | commit |",
        "|---|---|",
        "| a | abc1234-dirty |",
        "| b | commit not recorded |",
    ]
