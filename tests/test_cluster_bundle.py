"""The plain-data side of cluster grading, without a cluster: exercise bundles, job payloads, file names, layering."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from grader.cluster import ClusterError, scheduler_address
from grader.cluster.bundle import BundleError, ExerciseBundle, pack, unpack
from grader.cluster.client import attachments_from, job_payload, lost_scorecard, task_key
from grader.cluster.tasks import safe_file_name
from grader.grading import GradeOptions
from grader.messages import render
from grader.spec.loader import builtin_exercises_dir, load_exercises

PACKAGE = Path(__file__).resolve().parent.parent / "grader" / "cluster"


def test_the_builtin_exercises_travel_and_load_from_the_unpacked_copy(tmp_path):
    bundle = pack(builtin_exercises_dir())
    assert "double-backward/exercise.yaml" in bundle.files and "double-backward/reference.py" in bundle.files
    assert not any("__pycache__" in name for name in bundle.files)
    root = unpack(bundle, tmp_path / "copy")
    here = load_exercises(builtin_exercises_dir())
    there = load_exercises(root)
    assert [e.spec for e in there] == [e.spec for e in here]


def test_the_hash_names_the_content_only(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "exercise.yaml").write_text("id: a\n")
    first = pack(tmp_path)
    assert pack(tmp_path).digest == first.digest  # the same files, the same hash
    (tmp_path / "a" / "exercise.yaml").write_text("id: b\n")
    assert pack(tmp_path).digest != first.digest
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "a" / "__pycache__").mkdir()
    (tmp_path / "a" / "__pycache__" / "reference.cpython-311.pyc").write_bytes(b"\0")
    assert set(pack(tmp_path).files) == {"a/exercise.yaml"}


@pytest.mark.parametrize("name", ["../escape.py", "/etc/passwd", "a/../../b", "a\\b", ""])
def test_a_bundle_with_an_unsafe_path_is_refused_before_anything_is_written(tmp_path, name):
    files = {"ok.yaml": b"id: x\n", name: b"x"}
    from grader.cluster.bundle import _digest

    with pytest.raises(BundleError, match="unsafe path"):
        unpack(ExerciseBundle(_digest(files), files), tmp_path / "target")
    assert not (tmp_path / "target").exists()


def test_a_bundle_that_does_not_match_its_hash_is_refused(tmp_path):
    with pytest.raises(BundleError, match="hash"):
        unpack(ExerciseBundle("0" * 64, {"a.yaml": b"id: a\n"}), tmp_path / "target")


def test_a_directory_too_large_to_ship_says_so(tmp_path, monkeypatch):
    import grader.cluster.bundle as bundle

    monkeypatch.setattr(bundle, "MAX_BUNDLE_BYTES", 10)
    (tmp_path / "big.py").write_bytes(b"x" * 11)
    with pytest.raises(BundleError, match="more than"):
        pack(tmp_path)


@pytest.mark.parametrize(("name", "expected"), [
    ("solution.py", "solution.py"), ("my notes.ipynb", "my notes.ipynb"), ("../x.py", "submission.py"),
    ("a/b.py", "submission.py"), ("evil\x00.py", "submission.py"), ("README.md", "submission.py"),
    ("x" * 300 + ".py", "submission.py"), ("nb.ipynb", "nb.ipynb"),
])
def test_a_worker_grades_under_the_clients_file_name_when_it_is_a_plain_one(name, expected):
    assert safe_file_name(name) == expected


def test_a_job_is_plain_data():
    options = GradeOptions(seed=3, hide=("/a", "/b"), keep_figures=True, lang="zh")
    job = job_payload("s.py", "class/s.py", b"x = 1\n", ("double-backward",), options, "all")
    assert job["options"] == {"seed": 3, "call_timeout": 5.0, "total_timeout": 120.0, "lang": "zh", "show_hidden": False,
                              "hide": ["/a", "/b"], "keep_figures": True}
    assert GradeOptions(**{**job["options"], "hide": tuple(job["options"]["hide"])}) == options
    assert task_key(7, "class/my file (2).py", "ab12cd34") == "grade-7-ab12cd34-my_file__2_.py"


def test_figures_rebuilt_from_a_result():
    found = attachments_from({"attachments": [{"exercise": "e", "check": "c", "kind": "figure", "name": "f.png",
                                               "description": {"key": "overlay_title", "params": {}}, "data": b"\x89PNG"}]})
    (attachment,) = found[("e", "c")]
    assert attachment.content("en") == b"\x89PNG" and attachment.kind == "figure"


def test_a_lost_submission_gets_zero_points_and_the_reason(builtin):
    card = lost_scorecard(builtin, "s.py", 3, "en", "workers died")
    assert card.score == 0 and card.max_score == 50 and card.internal_error == "workers died"
    assert "stopped 3 times" in render(card.error, "en") and "3 次" in render(card.error, "zh")
    assert render(card.error_hint, "en")


def test_the_cluster_package_never_imports_torch_nor_the_cli():
    """Dask workers hold a Sandbox, so they must not import torch (the warm worker does); the CLI is on top."""
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {n for n in names if n == "torch" or n.startswith(("torch.", "grader.cli"))}, path.name


@pytest.mark.parametrize("written, read", [("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"), ("sched.course:8786", "tcp://sched.course:8786"),
                                           ("tls://sched:8786", "tls://sched:8786"), ("tcp://[::1]:8786", "tcp://[::1]:8786")])
def test_scheduler_addresses_as_dask_reads_them(written, read):
    assert scheduler_address(written) == read


@pytest.mark.parametrize("written", ["", "sched", "tcp://", "tcp://sched", "tcp://sched:0", "tcp://sched:65536", "tcp://:8786",
                                     "http://sched:8786", "ucx://sched:8786", "tcp://sched:8786/x", "tcp://[nope]:1", "a b:1"])
def test_malformed_scheduler_addresses_are_refused_with_the_expected_form(written):
    with pytest.raises(ClusterError, match=r"is not the address of a Dask scheduler: write tcp://HOST:PORT"):
        scheduler_address(written)


def test_python_is_parsed_one_thread_at_a_time():
    """A Dask worker grades on several threads: CPython 3.11's AST builder is not safe for that (gh-106905)."""
    import threading

    from grader import source

    callers = [p for p in PACKAGE.parent.rglob("*.py") if "ast.parse(" in p.read_text(encoding="utf-8")]
    assert callers == [PACKAGE.parent / "source.py"]  # every parse goes through grader.source.parse
    parsed = []
    with source._PARSE_LOCK:
        thread = threading.Thread(target=lambda: parsed.append(source.parse("x = 1")))
        thread.start()
        thread.join(timeout=0.5)
        assert not parsed  # waits for the lock
    thread.join(timeout=30)
    assert len(parsed) == 1 and isinstance(parsed[0], ast.Module)
