"""The example solution scores full marks under whatever account runs the suite, with the isolation named truly.

CI runs this file as root, as an ordinary user where user namespaces are allowed, and as an
ordinary user where they are forbidden (`.ci/without-user-namespaces`); each run asserts the
level that account really gets.
"""

from __future__ import annotations

import json
import os

from conftest import EXAMPLES, NAMESPACES_HERE, run_cli


def test_the_example_solution_scores_full_marks_with_the_isolation_this_account_gets():
    result = run_cli(str(EXAMPLES / "solution.py"), "--format", "json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    card = json.loads(result.stdout)
    assert card["score"] == card["max_score"] == 50
    isolation = card["run"]["isolation"]
    if NAMESPACES_HERE:
        assert isolation["level"] == "namespaces", isolation
        assert isolation["read_only"] and isolation["rlimits"] and isolation["session"]
        # Only root has other users to become; an ordinary grader's child keeps its uid.
        assert isolation["separate_user"] == (os.geteuid() == 0)
    else:
        assert isolation["level"] == "rlimits-only", isolation
        assert isolation["rlimits"] and isolation["session"] and not isolation["separate_user"]
        assert any(note.startswith("user namespace:") for note in isolation["notes"]), isolation["notes"]


def test_the_text_report_names_the_level_in_force():
    result = run_cli(str(EXAMPLES / "solution.py"))
    assert result.returncode == 0 and "50/50" in result.stdout
    footer = [line for line in result.stdout.splitlines() if "isolation:" in line]
    expected = "namespaces" if NAMESPACES_HERE else "rlimits-only"
    assert footer and footer[-1].endswith(f"isolation: {expected}"), footer
    assert ("Isolation was weaker than full" in result.stdout) == (not NAMESPACES_HERE)
