"""The grading service, driven over HTTP: a real `grader serve` on 127.0.0.1 and a free port, and httpx.

One server is shared by the module (most tests), one with tight limits checks 413/429/503, and one
is killed with SIGKILL while submissions wait, then started again on the same database.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from conftest import EXAMPLES, run_cli
from service_support.server import Server, token

TIMING_FIELDS = {"duration", "wall_time", "children", "max_rss_kb", "memory_peak_kb"}
MACHINE_FIELDS = {"isolation"}
"""What the machine decides, not the grading: a job's cgroup can be missing while another grader on the
same machine starts (its warm worker sweeps job cgroups it takes for leftovers)."""
SOLUTION = (EXAMPLES / "solution.py").read_text(encoding="utf-8")
SLOW = "import time\ntime.sleep(4)\n"
"""Takes four seconds to import (inside the five-second import timeout), then defines nothing."""
CJK = re.compile(r"[\u4e00-\u9fff]")


def differences(a, b, path="") -> list[str]:
    """Where two plain-data values differ, as paths with both values (for a readable failure)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {str(a)[:300]} != {str(b)[:300]}"]


def comparable(data):
    """A scorecard as plain data without the fields that measure time, and without the submission's display name."""
    if isinstance(data, dict):
        return {k: comparable(v) for k, v in data.items()
                if k not in TIMING_FIELDS and k not in MACHINE_FIELDS and k != "submission"}
    if isinstance(data, list):
        return [comparable(v) for v in data]
    return data


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One service for the module: two jobs, no rate limit (many tests come from one address)."""
    directory = tmp_path_factory.mktemp("service")
    instance = Server(directory, "--jobs", "2", "--rate", "0").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def client(server):
    """An HTTP client of the module's server."""
    with server.client() as http:
        yield http


@pytest.fixture(scope="module")
def instructor_token(server):
    """An instructor's token of the module's server."""
    return token(server.db, "instructor", "Prof")


def submit(http: httpx.Client, source: str, filename: str = "solution.py", wait: float = 0, **fields) -> httpx.Response:
    """POST a submission as JSON."""
    return http.post("/api/v1/submissions", params={"wait": wait} if wait else None,
                     json={"filename": filename, "source": source, **fields})


def result(http: httpx.Client, submission_id: str, wait: float = 60, **params) -> dict:
    """GET a submission, waiting for its result."""
    answer = http.get(f"/api/v1/submissions/{submission_id}", params={"wait": wait, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def assert_problem(answer: httpx.Response, status: int, error: str | None = None) -> dict:
    """An error answer: the status, JSON with a code and a sentence."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["status"] == status and body["message"] and isinstance(body["message"], str)
    if error:
        assert body["error"] == error, body
    return body


# -- submit, wait, fetch ------------------------------------------------------------------------------

def test_submit_wait_and_fetch(client):
    answer = submit(client, SOLUTION, seed=31337, student="alice", lang="en")
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert accepted["status"] in ("queued", "running", "graded")
    assert accepted["links"]["self"] == f"/api/v1/submissions/{accepted['id']}"
    assert accepted["links"]["page"] == f"/submissions/{accepted['id']}"
    assert answer.headers["location"] == accepted["links"]["self"]
    done = result(client, accepted["id"])
    assert done["status"] == "graded" and done["attempts"] == 1
    card = done["scorecard"]
    assert card["score"] == card["max_score"] == 50.0
    assert card["submission"] == "solution.py" and card["run"]["seed"] == 31337
    assert {"message_id", "hint_id"} <= set(card["exercises"][0]["checks"][0])
    # The stored result in Chinese, without grading again.
    chinese = result(client, accepted["id"], lang="zh")
    assert chinese["lang"] == "zh" and chinese["finished"] == done["finished"]
    assert CJK.search(chinese["scorecard"]["exercises"][0]["title"])
    assert not CJK.search(card["exercises"][0]["title"])
    # The language-neutral stored form validates as a Scorecard.
    from grader.scorecard import Scorecard

    stored = result(client, accepted["id"], form="stored")["scorecard"]
    assert Scorecard.model_validate(stored).score == 50.0
    page = client.get(accepted["links"]["page"])
    assert page.status_code == 200 and "solution.py" in page.text


def test_wait_answers_200_with_the_result(client):
    answer = submit(client, SOLUTION, wait=60, seed=5, exercises=["double-backward"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "graded" and body["exercises"] == ["double-backward"]
    assert [e["id"] for e in body["scorecard"]["exercises"]] == ["double-backward"]


def test_multipart_upload_and_figures(client):
    path = EXAMPLES / "mistake_plot_wrong_curve.py"
    with path.open("rb") as file:
        answer = client.post("/api/v1/submissions", params={"wait": 60},
                             files={"file": (path.name, file, "text/x-python")},
                             data={"seed": "7", "exercises": "sin-derivative-plot", "student": "bob"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["filename"] == path.name and body["student"] == "bob" and body["seed"] == 7
    assert {f["kind"] for f in body["figures"]} == {"figure"}, body["figures"]  # the default: what the student drew
    for figure in body["figures"]:
        png = client.get(figure["url"])
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert_problem(client.get(body["links"]["figures"] + "nothing.png"), 404, "not_found")


def test_a_hanging_submission_does_not_hold_up_the_others(client):
    hanging = submit(client, "while True:\n    pass\n", filename="hangs.py", seed=1).json()
    quick = submit(client, SOLUTION, filename="quick.py", seed=1, exercises=["double-backward"]).json()
    quick_done = result(client, quick["id"])
    hanging_now = client.get(hanging["links"]["self"]).json()
    assert quick_done["status"] == "graded"
    assert hanging_now["status"] in ("running", "graded")
    hanging_done = result(client, hanging["id"])
    assert hanging_done["status"] == "graded" and hanging_done["scorecard"]["score"] == 0
    assert quick_done["finished"] < hanging_done["finished"]


def test_grader_submit_prints_the_report_and_exit_status_of_grade(server, tmp_path):
    import os
    import subprocess
    import sys

    path = tmp_path / "mistake_cosine.py"
    shutil.copyfile(EXAMPLES / "mistake_cosine.py", path)
    env = {**os.environ, "GRADER_SERVER": server.url, "NO_COLOR": "1"}
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    submitted = subprocess.run([sys.executable, "-m", "grader.service", "submit", path.name, "--seed", "77", "--lang", "en"],
                               capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    graded = run_cli(path.name, "--seed", "77", "--lang", "en", cwd=tmp_path)
    assert submitted.returncode == graded.returncode == 1, submitted.stderr
    assert submitted.stdout == graded.stdout
    missing = subprocess.run([sys.executable, "-m", "grader.service", "submit", "nothing.py"], capture_output=True,
                             text=True, cwd=tmp_path, env=env, timeout=60)
    assert missing.returncode == 2 and "no such file" in missing.stderr


# -- what the server offers ---------------------------------------------------------------------------

def test_exercises_and_starter(client):
    listing = client.get("/api/v1/exercises").json()
    ids = [e["id"] for e in listing["exercises"]]
    assert ids == ["second-derivative-cost", "double-backward", "vector-control-flow", "custom-control-flow",
                   "sin-derivative-plot"]
    first = listing["exercises"][0]
    assert first["title"]["en"] and CJK.search(first["title"]["zh"])
    assert all(f["signature"].startswith("(") for e in listing["exercises"] for f in e["functions"])
    starter = client.get("/api/v1/starter.py", params={"lang": "zh", "exercise": "double-backward"})
    assert starter.status_code == 200 and starter.headers["content-type"].startswith("text/x-python")
    tree = ast.parse(starter.text)
    assert [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert CJK.search(starter.text)


def test_docs_and_openapi(client):
    document = client.get("/openapi.json").json()
    assert {"/api/v1/submissions", "/api/v1/submissions/{submission_id}", "/api/v1/gradebook.csv", "/healthz",
            "/metrics"} <= set(document["paths"])
    page = client.get("/docs")
    assert page.status_code == 200 and "/api/v1/submissions" in page.text and "<script" not in page.text


# -- tokens and instructor endpoints ------------------------------------------------------------------

def test_instructor_endpoints_need_an_instructor_token(server, client, instructor_token):
    student = token(server.db, "student", "carol")
    for path in ("/api/v1/gradebook.csv", "/api/v1/stats", "/api/v1/submissions", "/api/v1/students"):
        assert_problem(client.get(path), 401, "unauthorized")
        assert_problem(client.get(path, headers={"Authorization": "Bearer grader_000000000000_" + "x" * 43}), 401)
        assert_problem(client.get(path, headers={"Authorization": "Bearer nonsense"}), 401)
        assert_problem(client.get(path, headers={"Authorization": "Basic abc"}), 401)
        assert_problem(client.get(path, headers={"Authorization": f"Bearer {student}"}), 403, "forbidden")
        assert client.get(path, headers={"Authorization": f"Bearer {instructor_token}"}).status_code == 200
    # A student's token submits as its own student only.
    mine = submit(client, SOLUTION, exercises=["double-backward"], seed=3, wait=60)
    assert mine.status_code == 200
    answer = client.post("/api/v1/submissions", params={"wait": 60}, headers={"Authorization": f"Bearer {student}"},
                         json={"filename": "s.py", "source": SOLUTION, "exercises": ["double-backward"], "seed": 3})
    assert answer.status_code == 200 and answer.json()["student"] == "carol"
    other = client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {student}"},
                        json={"filename": "s.py", "source": SOLUTION, "student": "dave"})
    assert_problem(other, 403, "forbidden")


def test_gradebook_and_statistics(client, instructor_token):
    auth = {"Authorization": f"Bearer {instructor_token}"}
    wrong = (EXAMPLES / "mistake_cosine.py").read_text(encoding="utf-8")
    first = submit(client, SOLUTION, filename="first.py", student="erin", seed=11, wait=60).json()
    later = submit(client, wrong, filename="later.py", student="erin", seed=11, wait=60).json()
    assert first["status"] == later["status"] == "graded"
    assert later["score"] < first["score"]
    latest = client.get("/api/v1/gradebook.csv", headers=auth).text.splitlines()
    best = client.get("/api/v1/gradebook.csv", params={"pick": "best"}, headers=auth).text.splitlines()
    assert latest[0].startswith("student,submission,file,submitted,score,max_score,second-derivative-cost,")
    erin_latest = next(line for line in latest if line.startswith("erin,"))
    erin_best = next(line for line in best if line.startswith("erin,"))
    assert later["id"] in erin_latest and first["id"] in erin_best
    listing = client.get("/api/v1/submissions", params={"student": "erin"}, headers=auth).json()["submissions"]
    assert [s["id"] for s in listing] == [later["id"], first["id"]]
    stats = client.get("/api/v1/stats", headers=auth).json()
    assert stats["students"] >= 2
    cosine = next(c for c in stats["checks"] if c["exercise"] == "sin-derivative-plot" and c["check"] == "no-cosine-at-run-time")
    assert cosine["failed"] + cosine["error"] >= 1 and 0 < cosine["fail_share"] <= 1
    assert cosine["top_hints"] and cosine["top_hints"][0]["count"] >= 1
    source = client.get(f"/api/v1/submissions/{later['id']}/source", headers=auth)
    assert source.status_code == 200 and source.text == wrong


# -- hostile and broken input -------------------------------------------------------------------------

def test_unreadable_files_get_the_message_grade_gives(tmp_path, client):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    graded = run_cli(str(broken), str(binary), "--format", "json", "--lang", "en")
    expected = {Path(card["submission"]).name: card["error"] for card in json.loads(graded.stdout)["submissions"]}
    for path in (broken, binary):
        answer = client.post("/api/v1/submissions", files={"file": (path.name, path.read_bytes())}, data={"lang": "en"})
        body = assert_problem(answer, 422, "not_a_submission")
        assert body["message"] == expected[path.name]


def test_malformed_requests_are_answered_with_json(client):
    assert_problem(client.post("/api/v1/submissions", content=b"{not json", headers={"content-type": "application/json"}),
                   422, "invalid_request")
    assert_problem(client.post("/api/v1/submissions", content=b"print(1)", headers={"content-type": "text/plain"}), 415)
    for fields in ({"seed": -1}, {"seed": 2**64}, {"seed": "soon"}, {"lang": "fr"}, {"exercises": "double-backward"},
                   {"student": "x" * 101}, {"surprise": True}):
        assert_problem(submit(client, SOLUTION, **fields), 422, "invalid_request")
    assert_problem(client.post("/api/v1/submissions", json={"filename": "a.py"}), 422, "invalid_request")
    assert_problem(client.post("/api/v1/submissions", json=["a.py", "x"]), 422, "invalid_request")
    unknown = assert_problem(submit(client, SOLUTION, exercises=["no-such-exercise"]), 422, "unknown_exercise")
    assert "double-backward" in unknown["message"]
    for name in ("notes.txt", "../", ".py", "solution.py/", ""):
        assert_problem(submit(client, SOLUTION, filename=name), 422)
    assert_problem(client.post("/api/v1/submissions", files={"other": ("a.py", b"x = 1\n")}), 422, "invalid_request")
    assert_problem(client.get("/api/v1/submissions/no-such-id"), 404, "not_found")
    assert_problem(client.get("/api/v1/submissions/x", params={"lang": "fr"}), 422, "invalid_request")
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert_problem(client.delete("/api/v1/submissions"), 405)


def test_file_names_are_made_safe(client):
    answer = submit(client, "x = 1\n", filename="../../etc/\x1b[31mevil\tname.py", exercises=["double-backward"], seed=1)
    assert answer.status_code == 202, answer.text
    assert answer.json()["filename"] == "[31mevilname.py"  # the escape character and the tab are gone
    windows = submit(client, "x = 1\n", filename="C:\\Users\\me\\my answers.py", exercises=["double-backward"], seed=1)
    assert windows.json()["filename"] == "my answers.py"


# -- many clients at once: the same results as `grade` ------------------------------------------------

def test_50_submissions_from_10_clients_equal_grade(tmp_path, server):
    names = ["solution.py", "solution_notebook.ipynb", "mistake_cosine.py", "mistake_one_path.py",
             "mistake_curly_quotes.py", "mistake_plot_wrong_curve.py", "mistake_nonscalar_backward.py",
             "mistake_finite_differences.py", "mistake_retained_not_accumulated.py", "mistake_missing_module.py"]
    seed = 4242
    folder = tmp_path / "class"
    folder.mkdir()
    for name in names:
        shutil.copyfile(EXAMPLES / name, folder / name)
    graded = run_cli(str(folder), "--seed", str(seed), "--format", "json", "--lang", "en", "--jobs", "2")
    expected = {Path(card["submission"]).name: comparable(card) for card in json.loads(graded.stdout)["submissions"]}
    assert set(expected) == set(names)

    def one_client(index: int) -> list[tuple[str, dict]]:
        seen = []
        with server.client() as http:
            ids = []
            for k in range(5):
                name = names[(index + k) % len(names)]
                answer = http.post("/api/v1/submissions", files={"file": (name, (folder / name).read_bytes())},
                                   data={"seed": str(seed), "lang": "en"})
                assert answer.status_code == 202, answer.text
                ids.append((name, answer.json()["id"]))
            for name, submission_id in ids:
                seen.append((name, result(http, submission_id, wait=60)))
        return seen

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = [item for batch in pool.map(one_client, range(10)) for item in batch]
    assert len(results) == 50 and len({body["id"] for _, body in results}) == 50
    for name, body in results:
        assert body["status"] == "graded", body
        got = comparable(body["scorecard"])
        assert got == expected[name], f"{name}: " + "; ".join(differences(got, expected[name])[:5])


# -- operations --------------------------------------------------------------------------------------

def test_every_connection_has_nagles_algorithm_off():
    # uvicorn serves on our listening socket through asyncio, which turns Nagle off only on sockets
    # whose protocol is TCP by name; with it on, a kept-alive client waited 40 ms for each reply.
    import asyncio
    import socket

    from grader.cli.service import _listen

    listener = _listen("127.0.0.1", 0)

    async def nodelay_of_an_accepted_connection() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    assert listener.proto == socket.IPPROTO_TCP
    assert asyncio.run(nodelay_of_an_accepted_connection()) != 0


def test_health_and_metrics(client):
    health = client.get("/healthz").json()
    assert health["ok"] is True and health["slots"] == 2
    text = client.get("/metrics").text
    for name in ("grader_queue_depth", "grader_submissions_graded_total", "grader_submissions_failed_total",
                 "grader_grading_seconds_bucket", "grader_isolation_info"):
        assert re.search(rf"^{name}\b", text, re.M), name
    graded = int(re.search(r"^grader_submissions_graded_total (\d+)$", text, re.M).group(1))
    assert graded >= 1
    assert re.search(r'^grader_grading_seconds_bucket\{le="\+Inf"\} (\d+)$', text, re.M).group(1) == str(graded)


def test_the_serving_process_never_loads_torch(server, client):
    assert submit(client, SOLUTION, seed=2, wait=60).json()["status"] == "graded"
    try:
        maps = Path(f"/proc/{server.pid}/maps").read_text()
    except PermissionError:
        maps = ""  # an ordinary user may not read a non-dumpable process's maps; the server reads its own below
    assert "libtorch" not in maps, "the serving process has loaded torch"
    assert re.search(r"^grader_serving_process_torch_loaded 0$", client.get("/metrics").text, re.M)


# -- limits -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A service with tight limits (one job, one place in the queue, 3 submissions at once, 50 KiB bodies), keeping overlays."""
    directory = tmp_path_factory.mktemp("limited")
    instance = Server(directory, "--jobs", "1", "--queue-size", "1", "--rate", "6", "--burst", "3",
                      "--max-upload", "0.05", "--figures", "all").start()
    yield instance
    instance.stop()


def test_figures_all_keeps_the_overlays_too(limited):
    key = token(limited.db, "student", "figure-test")
    path = EXAMPLES / "mistake_plot_wrong_curve.py"
    with limited.client(headers={"Authorization": f"Bearer {key}"}) as http:
        answer = http.post("/api/v1/submissions", params={"wait": 60}, files={"file": (path.name, path.read_bytes())},
                           data={"seed": "7", "exercises": "sin-derivative-plot", "lang": "zh"})
        assert answer.status_code == 200, answer.text
        figures = answer.json()["figures"]
        assert {f["kind"] for f in figures} == {"figure", "overlay"}, figures
        overlay = next(f for f in figures if f["kind"] == "overlay")
        assert http.get(overlay["url"]).content.startswith(b"\x89PNG")


def test_a_body_over_the_limit_is_413(limited):
    big = "# " + "x" * 60_000 + "\n"
    with limited.client() as http:
        assert_problem(submit(http, big), 413, "too_large")

        def chunks():
            for _ in range(64):
                yield b"x" * 1024  # no Content-Length: counted while read

        streamed = http.post("/api/v1/submissions", content=chunks(), headers={"content-type": "application/json"})
        assert_problem(streamed, 413, "too_large")


def test_too_many_submissions_from_one_client_is_429(limited):
    key = token(limited.db, "student", "rate-test")
    with limited.client(headers={"Authorization": f"Bearer {key}"}) as http:
        for _ in range(3):
            assert submit(http, SOLUTION, filename="not-python.txt").status_code == 422
        answer = submit(http, SOLUTION, filename="not-python.txt")
        assert_problem(answer, 429, "rate_limited")
        assert int(answer.headers["retry-after"]) >= 1


def test_a_full_queue_is_503_with_retry_after(limited):
    key = token(limited.db, "student", "queue-test")
    with limited.client(headers={"Authorization": f"Bearer {key}"}) as http:
        slow = submit(http, SLOW, filename="slow.py", seed=1).json()
        deadline = time.monotonic() + 30
        while http.get(slow["links"]["self"]).json()["status"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.05)
        waiting = submit(http, SOLUTION, seed=1, exercises=["double-backward"])
        assert waiting.status_code == 202
        full = submit(http, SOLUTION, seed=1)
        assert_problem(full, 503, "queue_full")
        assert int(full.headers["retry-after"]) >= 1
        # Nothing accepted is lost: both are graded.
        assert result(http, slow["id"])["status"] == "graded"
        assert result(http, waiting.json()["id"])["status"] == "graded"


# -- restarts ------------------------------------------------------------------------------------------

def test_kill_9_with_submissions_queued_then_restart_grades_each_once(tmp_path):
    first = Server(tmp_path, "--jobs", "1", "--rate", "0").start()
    try:
        with first.client() as http:
            slow = submit(http, SLOW, filename="slow.py", seed=9).json()
            deadline = time.monotonic() + 30
            while http.get(slow["links"]["self"]).json()["status"] != "running" and time.monotonic() < deadline:
                time.sleep(0.05)
            queued = [submit(http, SOLUTION, filename=f"s{i}.py", seed=9, exercises=["double-backward"]).json()
                      for i in range(4)]
        first.kill()
        # The warm worker and its children end by themselves when the server is gone.
        assert first.reap(timeout=20) == []
    finally:
        first.stop()
    with sqlite3.connect(first.db) as db:
        states = dict(db.execute("SELECT id, status || ':' || attempts FROM submissions").fetchall())
    assert states[slow["id"]] == "running:1"
    assert all(states[q["id"]] == "queued:0" for q in queued)

    second = Server(tmp_path, "--jobs", "1", "--rate", "0", db=first.db).start()
    try:
        with second.client() as http:
            slow_done = result(http, slow["id"])
            done = [result(http, q["id"]) for q in queued]
            metrics = http.get("/metrics").text
    finally:
        second.stop()
    assert slow_done["status"] == "graded" and slow_done["attempts"] == 2
    assert all(d["status"] == "graded" and d["attempts"] == 1 and d["score"] == 10.0 for d in done)
    assert re.search(r"^grader_submissions_graded_total 5$", metrics, re.M), metrics
