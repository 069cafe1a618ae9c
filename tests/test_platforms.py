"""The macOS and Windows paths, forced on Linux: the same scores for every example, and the isolation named truly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import EXAMPLES, run_cli

SEED = "20261201"


def batch_scores(platform: str | None) -> dict[str, dict[str, float]]:
    """{file: {exercise/check: score}} of the whole examples folder graded on one platform's path."""
    env = {"GRADER_PLATFORM": platform} if platform else {}
    # A generous call timeout: the scores must not depend on how loaded the machine is.
    result = run_cli(str(EXAMPLES), "--format", "json", "--seed", SEED, "-j", "2", "--timeout", "30", env=env, timeout=900)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    cards = json.loads(result.stdout)["submissions"]
    return {card["submission"]: {f"{e['id']}/{c['id']}": c["score"] for e in card["exercises"] for c in e["checks"]}
            for card in cards} | {"_isolation": {card["submission"]: card["run"]["isolation"] for card in cards if card["run"]}}


@pytest.fixture(scope="module")
def linux_scores():
    return batch_scores(None)


@pytest.mark.parametrize("platform, start, level", [("macos", "fork", "rlimits-only"), ("windows", "spawn", "process")])
def test_every_example_scores_the_same_on_the_forced_path(platform, start, level, linux_scores):
    forced = batch_scores(platform)
    isolation = forced.pop("_isolation")
    expected = {k: v for k, v in linux_scores.items() if k != "_isolation"}
    assert forced == expected
    assert len(forced) == len(list(EXAMPLES.glob("*.py")) + list(EXAMPLES.glob("*.ipynb")))
    assert len(isolation) >= len(forced) - 1  # all but the file Python cannot read ran
    for name, record in isolation.items():
        assert (record["platform"], record["start"], record["level"], record["forced"]) == (platform, start, level, True), name
        assert not record["pid_namespace"] and not record["mount_namespace"]


def test_the_text_report_says_which_path_was_taken():
    result = run_cli(str(EXAMPLES / "solution.py"), env={"GRADER_PLATFORM": "windows"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "isolation: process" in result.stdout and "50/50" in result.stdout
    assert "no resource limits" in result.stdout  # named, not hidden


def _in_forced_windows(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"GRADER_PLATFORM": "windows", "PATH": "/usr/bin:/bin"})


def test_forcing_windows_hides_what_windows_lacks():
    result = _in_forced_windows(
        "import grader, os, socket\n"
        "from grader.sandbox.platform import current\n"
        "assert not hasattr(os, 'fork') and not hasattr(os, 'setsid') and not hasattr(os, 'killpg')\n"
        "assert not hasattr(socket, 'send_fds')\n"
        "try:\n    import resource\nexcept ImportError:\n    pass\nelse:\n    raise AssertionError('resource importable')\n"
        "print(current().start_method, current().forced)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["spawn", "True"]


def test_no_module_touches_a_linux_call_when_imported_on_the_windows_path():
    """Every module of the package imports with Windows' API surface, except the Linux-only one.

    And `__main__` modules (importing one runs its command), and the Dask worker's modules: Dask's psutil
    imports its Linux backend (`resource`) on this machine,
    which the simulated Windows hides; on Windows psutil has a backend of its own.
    """
    result = _in_forced_windows(
        "import grader, importlib, pkgutil\n"
        "skipped = {'grader.sandbox.linux', 'grader.cluster.plugin', 'grader.cluster.worker'}\n"
        "for info in pkgutil.walk_packages(grader.__path__, 'grader.'):\n"
        "    if info.name not in skipped and '_exercises' not in info.name and not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "print('imported')\n")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "imported"


def test_an_unknown_forced_platform_is_a_clear_error():
    result = run_cli(str(EXAMPLES / "solution.py"), env={"GRADER_PLATFORM": "plan9"})
    assert result.returncode == 2
    assert "unknown platform 'plan9'" in result.stderr and "linux, macos, windows" in result.stderr
