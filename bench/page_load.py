"""Benchmark: the web pages' load times, on a database of graded submissions, against a real `grader serve`.

Starts `grader serve` on 127.0.0.1 and a free port with a fresh database and measures (httpx, the
median and p95 of N runs each; numbers only, nothing asserted):
  - time to first result on the reader's page: the form POSTed (303), the result page loaded,
    the API asked to answer when grading is done (`?wait=`, as static/grader.js does), and the
    page loaded again with the result: what a reader with JavaScript waits for;
  - the result page of a graded submission, and the instructor's dashboard (the class at a
    glance, the submissions table, the gradebook), with `--submissions` graded submissions in
    the database (1,000 by default: the example submissions graded for real, then copied under
    new ids and student names through the store, with the server stopped). The first load
    after the server starts is printed apart (the server summarises the counted scorecards in
    the background as it starts, and keeps them: grader/service/analytics.py).

    python bench/page_load.py --runs 20 --submissions 1000
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from service_support.server import Server, token  # noqa: E402

from grader.store import Figure, NewSubmission, Store  # noqa: E402

EXAMPLES = ROOT / "submissions_example"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def report(name: str, seconds: list[float]) -> None:
    """One line: median and p95 in milliseconds."""
    print(f"{name:<44} median {1000 * statistics.median(seconds):7.1f} ms   p95 {1000 * percentile(seconds, 95):7.1f} ms"
          f"   ({len(seconds)} runs)")


def csrf_of(page: str) -> str:
    """The CSRF token in a page's form."""
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no form on the page"
    return found.group(1)


def first_result(server: Server, runs: int) -> list[float]:
    """Seconds from pressing Grade to the result on the page, as the page's script waits for it."""
    source = (EXAMPLES / "solution.py").read_bytes()
    times = []
    with server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        csrf = csrf_of(client.get("/").text)
        for _ in range(runs):
            started = time.perf_counter()
            answer = client.post("/submissions", data={"csrf": csrf},
                                 files={"file": ("solution.py", source, "text/x-python")})
            location = answer.headers["location"]
            client.get(location)
            submission = location.rsplit("/", 1)[-1]
            client.get(f"/api/v1/submissions/{submission}", params={"wait": 30}, headers={"Accept": "application/json"})
            page = client.get(location)
            times.append(time.perf_counter() - started)
            assert "50/50" in page.text, "the solution did not get full marks"
    return times


def grade_examples(server: Server) -> None:
    """Every example submission graded by the server (they become the copies' originals)."""
    files = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))
    with server.client() as client:
        for path in files:
            answer = client.post("/api/v1/submissions", params={"wait": 60},
                                 json={"filename": path.name, "source": path.read_text(encoding="utf-8")})
            assert answer.json()["status"] == "graded", answer.text[:300]


def fill(db: Path, count: int, students: int) -> None:
    """`count` more graded submissions of `students` students, copies of those graded (the server stopped)."""
    store = Store(db)
    try:
        originals = []
        for row in store.submissions(status="graded", limit=1000):
            full = store.get(row.id, scorecard=True, source=True)
            assert full is not None and full.scorecard is not None and full.source is not None
            figures = [Figure(f.name, f.exercise, f.check, f.kind, store.figure(row.id, f.name) or b"")
                       for f in store.figures(row.id)]
            originals.append((full, figures))
        for i in range(count):
            original, figures = originals[i % len(originals)]
            submission_id = secrets.token_urlsafe(16)
            store.add_submission(NewSubmission(id=submission_id, filename=original.filename, source=original.source,  # type: ignore[arg-type]
                                               student=f"student-{i % students:04d}", exercise_set="builtin",
                                               exercises=(), seed=i, lang="en", created=time.time() - (count - i)))
            store.mark_running(submission_id)
            store.finish(submission_id, original.scorecard, figures, 1.0)  # type: ignore[arg-type]
    finally:
        store.close()


def page_loads(server: Server, instructor: str, runs: int) -> None:
    """The result page and the dashboard's pages, each loaded `runs` times."""
    with server.client(headers={"Accept": "text/html"}, follow_redirects=False) as client:
        csrf = csrf_of(client.get("/instructor").text)
        assert client.post("/instructor/sign-in", data={"csrf": csrf, "token": instructor}).status_code == 303
        rows = client.get("/instructor/submissions").text
        # A result with a little of everything: failed checks with hints, a figure and its overlay, graph sizes.
        plot_page = next(path for path, name in re.findall(r'href="(/submissions/[A-Za-z0-9_-]+)">([^<]+)</a>', rows)
                         if name == "mistake_plot_wrong_curve.py")
        for name, path in [("result page", plot_page), ("dashboard: the class at a glance", "/instructor"),
                           ("dashboard: submissions (first page)", "/instructor/submissions"),
                           ("dashboard: gradebook", "/instructor/gradebook"),
                           ("dashboard: submissions failing a check",
                            "/instructor/submissions?failing=second-derivative-cost/graph-size"),
                           ("gradebook.csv", "/instructor/gradebook.csv")]:
            started = time.perf_counter()
            client.get(path)  # the first load after a start: templates compiled, scorecards read and summarised
            first = time.perf_counter() - started
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                answer = client.get(path)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, (path, answer.status_code)
            report(f"{name} ({len(answer.content) // 1024} KiB)", times)
            print(f"{'':<44} first load after the start: {1000 * first:.1f} ms")


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="measurements of each (default 20)")
    parser.add_argument("--submissions", type=int, default=1000, help="graded submissions in the database (default 1000)")
    parser.add_argument("--students", type=int, default=300, help="students they come from (default 300)")
    parser.add_argument("--jobs", type=int, default=2, help="grader serve --jobs (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="page-load-") as tmp:
        directory = Path(tmp)
        server = Server(directory, "--jobs", str(args.jobs), "--rate", "0").start()
        try:
            print(f"grader serve at {server.url}, --jobs {args.jobs}")
            report("time to first result (reader's page, JS path)", first_result(server, args.runs))
            grade_examples(server)
        finally:
            server.stop()
        fill(server.db, args.submissions, args.students)
        instructor = token(server.db, "instructor", "bench")
        server = Server(directory, "--jobs", str(args.jobs), "--rate", "0").start()
        try:
            with server.client() as client:
                counts = client.get("/healthz").json()
            print(f"database: {args.submissions} graded submissions more, of {args.students} students "
                  f"({json.dumps(counts)})")
            page_loads(server, instructor, args.runs)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
