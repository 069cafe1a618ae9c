"""Benchmark: the grading service under load, against `grade DIR` on the same files, in one run.

Starts `grader serve` on 127.0.0.1 and a free port with a fresh database, then:
  - idle latency: one submission at a time (solution.py), submit to result, p50/p95;
  - sustained load: N closed-loop clients, each posting the next file of a mix of every example
    submission and waiting for its result, for a fixed time; throughput, p50/p95/p99 latency,
    errors, and lost submissions (accepted but not graded in the end);
  - the serving process's peak resident memory (VmHWM), and that it never mapped libtorch;
  - `grade DIR` on the same mix (its own summary line: grading time without start-up), so the
    throughputs compare like with like; and `grade solution.py` CPU time against `import torch`;
  - with `--baseline DIR` (a checkout of another revision), the idle latency of servers of both
    trees, started in turn for `--rounds` rounds, so that a change is measured against the code
    before it on the same machine in the same minutes.
Traffic goes to 127.0.0.1 only, and every loop is bounded in time.

    python bench/serve_load.py --clients 8 --duration 60 --jobs 2
    git worktree add /tmp/before HEAD~3 && python bench/serve_load.py --baseline /tmp/before --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "submissions_example"
BIN = Path(sys.executable).parent


def mix() -> list[Path]:
    """Every example submission, right and wrong, in a fixed order."""
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".py", ".ipynb"))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of some values, by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def status_kb(pid: int, field: str) -> int:
    """A memory figure of a live process from /proc/PID/status, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def machine() -> str:
    """One line about this machine."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "?"
    return (f"{os.cpu_count()} cores ({model}), {platform.machine()}, Linux {platform.release()}, "
            f"Python {platform.python_version()}, torch {torch}")


def grade_dir(files: list[Path], copies: int, jobs: int, seed: int, figures: str) -> tuple[int, float, float]:
    """`grade DIR --jobs J` on `copies` of the mix: (submissions, seconds of grading from its summary, wall seconds)."""
    with tempfile.TemporaryDirectory() as directory:
        for k in range(copies):
            for path in files:
                shutil.copyfile(path, Path(directory) / f"c{k:02d}_{path.name}")
        # The same work as the server: --artifacts keeps the figures and overlays, as --figures all does.
        artifacts = ["--artifacts", str(Path(directory) / "figures")] if figures != "none" else []
        started = time.perf_counter()
        done = subprocess.run([str(BIN / "grade"), directory, "--seed", str(seed), "--jobs", str(jobs), "--csv",
                               str(Path(directory) / "grades.csv"), *artifacts], capture_output=True, text=True,
                              check=False, env={**os.environ, "TERM": "dumb"})
        wall = time.perf_counter() - started
    found = re.search(r"Graded (\d+) submissions in ([0-9.]+) s", done.stderr + done.stdout)
    if not found:
        raise SystemExit(f"grade DIR printed no summary:\n{done.stderr[-2000:]}")
    return int(found.group(1)), float(found.group(2)), wall


def cpu_of(pid: int) -> float:
    """User+system CPU seconds a live process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(command: list[str], repeat: int) -> float:
    """The least user+system CPU time of `repeat` runs of a command (its children included)."""
    best = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, capture_output=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best = min(best, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return best


class Service:
    """`grader serve` on a free port with its own database; killed with its process group at the end."""

    def __init__(self, directory: Path, jobs: int, figures: str, tree: Path | None = None) -> None:
        """`tree`: serve the grader package of that checkout instead of the installed one."""
        self.log = (directory / "server.log").open("wb")
        env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
        self.process = subprocess.Popen(
            [str(BIN / "grader"), "serve", "--port", "0", "--db", str(directory / "bench.db"), "--jobs", str(jobs),
             "--rate", "0", "--queue-size", "10000", "--log-level", "warning", "--figures", figures],
            stdout=self.log, stderr=self.log, cwd=directory, start_new_session=True, env=env)
        self.path = directory / "server.log"
        self.url = ""
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.findall(r"grader serve: (http://\S+)", self.path.read_text(errors="replace"))
            if found:
                self.url = found[-1]
                try:
                    if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"grader serve did not start:\n{self.path.read_text()[-2000:]}")

    def stop(self) -> None:
        """Kill it and its group (the warm worker leaves when the server is gone)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


def post(http: httpx.Client, path: Path, seed: int, wait: float) -> httpx.Response:
    """Submit one file (multipart) and wait up to `wait` seconds for its result."""
    return http.post("/api/v1/submissions", params={"wait": wait},
                     files={"file": (path.name, path.read_bytes())}, data={"seed": str(seed), "lang": "en"})


def idle_latency(url: str, samples: int, seed: int) -> list[float]:
    """Submit solution.py `samples` times, one at a time: seconds from submit to result."""
    times = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for _ in range(samples):
            started = time.perf_counter()
            answer = post(http, EXAMPLES / "solution.py", seed, 60)
            if answer.status_code == 200 and answer.json()["status"] == "graded":
                times.append(time.perf_counter() - started)
    return times


def idle_against(baseline: Path, rounds: int, samples: int, jobs: int, figures: str, seed: int) -> dict[str, list[float]]:
    """Idle latency of this tree's server and of the baseline's, started in turn `rounds` times."""
    found: dict[str, list[float]] = {"baseline": [], "this tree": []}
    for _ in range(rounds):
        for name, tree in (("baseline", baseline), ("this tree", ROOT)):
            with tempfile.TemporaryDirectory() as directory:
                service = Service(Path(directory), jobs, figures, tree)
                try:
                    found[name] += idle_latency(service.url, samples, seed)
                finally:
                    service.stop()
    return found


def load(url: str, files: list[Path], clients: int, duration: float, seed: int) -> dict[str, object]:
    """N closed-loop clients for `duration` seconds; latencies, errors and every accepted id."""
    latencies: list[float] = []
    accepted: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    finished_in_window = [0]

    def client(index: int) -> None:
        k = index
        with httpx.Client(base_url=url, timeout=180) as http:
            while time.monotonic() < stop_at:
                path = files[k % len(files)]
                k += clients
                started = time.perf_counter()
                try:
                    answer = post(http, path, seed, 60)
                    body = answer.json()
                    if answer.status_code == 202:  # not done within the wait: keep waiting
                        with lock:
                            accepted.append(body["id"])
                        answer = http.get(f"/api/v1/submissions/{body['id']}", params={"wait": 120})
                        body = answer.json()
                    elif answer.status_code == 200:
                        with lock:
                            accepted.append(body["id"])
                    if answer.status_code != 200 or body.get("status") != "graded":
                        with lock:
                            errors.append(f"{path.name}: HTTP {answer.status_code} {str(body)[:200]}")
                        continue
                except (httpx.HTTPError, ValueError) as exc:
                    with lock:
                        errors.append(f"{path.name}: {type(exc).__name__}: {exc}")
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if time.monotonic() <= stop_at:
                        finished_in_window[0] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"latencies": latencies, "accepted": accepted, "errors": errors, "window": duration,
            "in_window": finished_in_window[0], "elapsed": time.monotonic() - started}


def main() -> None:
    """Run every measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of sustained load (default 60)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="--jobs of the server and of grade DIR")
    parser.add_argument("--idle", type=int, default=20, help="submissions for the idle latency (default 20)")
    parser.add_argument("--copies", type=int, default=3, help="copies of the mix graded by grade DIR (default 3)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--figures", choices=["all", "drawn", "none"], default="none",
                        help="the server's --figures (none: as grade DIR, which keeps none; all: grade DIR --artifacts)")
    parser.add_argument("--baseline", type=Path, help="a checkout of another revision: its idle latency too, alternated")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the alternation with --baseline (default 3)")
    args = parser.parse_args()
    if args.baseline and not (args.baseline / "grader" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline}: not a checkout of the grader (no grader/__init__.py there)")
    files = mix()
    print(f"machine: {machine()}")
    print(f"mix: {len(files)} example submissions; server (--figures {args.figures}) and grade DIR with --jobs {args.jobs}",
          flush=True)

    graded, grading_seconds, grade_wall = grade_dir(files, args.copies, args.jobs, args.seed, args.figures)
    grade_rate = graded / grading_seconds
    torch_cpu = cpu_seconds([sys.executable, "-c", "import torch"], 3)
    grade_cpu = cpu_seconds([str(BIN / "grade"), str(EXAMPLES / "solution.py"), "--seed", str(args.seed)], 3)

    with tempfile.TemporaryDirectory() as directory:
        service = Service(Path(directory), args.jobs, args.figures)
        try:
            pid = service.process.pid
            idle = idle_latency(service.url, args.idle, args.seed)
            cpu_before = cpu_of(pid)
            result = load(service.url, files, args.clients, args.duration, args.seed)
            server_cpu = cpu_of(pid) - cpu_before
            with httpx.Client(base_url=service.url, timeout=60) as http:
                statuses = [http.get(f"/api/v1/submissions/{i}").json().get("status") for i in result["accepted"]]
            lost = sum(1 for s in statuses if s != "graded")
            peak_kb = status_kb(pid, "VmHWM")
            rss_kb = status_kb(pid, "VmRSS")
            torch_mapped = "libtorch" in Path(f"/proc/{pid}/maps").read_text()
        finally:
            service.stop()

    latencies = result["latencies"]  # type: ignore[assignment]
    rate = result["in_window"] / result["window"]  # type: ignore[operator]
    rows = [
        ("idle: one submission at a time (solution.py)",
         f"p50 {percentile(idle, 50):.3f} s, p95 {percentile(idle, 95):.3f} s ({len(idle)} of {args.idle})"),
        (f"load: {args.clients} clients for {args.duration:g} s", f"{len(latencies)} graded, {rate:.2f} per second"),
        ("load: latency, submit to result", f"p50 {percentile(latencies, 50):.2f} s, p95 {percentile(latencies, 95):.2f} s, "
                                            f"p99 {percentile(latencies, 99):.2f} s"),
        ("load: errors / lost submissions", f"{len(result['errors'])} / {lost} of {len(result['accepted'])} accepted"),
        (f"grade DIR ({graded} files, --jobs {args.jobs}{', --artifacts' if args.figures != 'none' else ''})", f"{grading_seconds:.1f} s grading ({grade_wall:.1f} s with "
                                                         f"start-up): {grade_rate:.2f} per second"),
        ("service throughput / grade DIR's", f"{rate / grade_rate:.0%}"),
        ("serving process CPU per graded submission", f"{server_cpu / max(1, len(latencies)):.3f} s"),
        ("serving process memory", f"peak {peak_kb / 1024:.0f} MB, at the end {rss_kb / 1024:.0f} MB; "
                                   f"libtorch mapped: {'yes' if torch_mapped else 'no'}"),
        ("grade solution.py CPU / import torch CPU", f"{grade_cpu:.2f} s / {torch_cpu:.2f} s: {grade_cpu / torch_cpu:.2f}x"),
    ]
    if args.baseline:
        against = idle_against(args.baseline, args.rounds, args.idle, args.jobs, args.figures, args.seed)
        for name, times in against.items():
            rows.append((f"idle, alternated ({args.rounds} rounds): {name}",
                         f"p50 {percentile(times, 50):.3f} s, p95 {percentile(times, 95):.3f} s ({len(times)})"))
        ours, theirs = against["this tree"], against["baseline"]
        rows.append(("idle, this tree / baseline", f"p50 {percentile(ours, 50) / percentile(theirs, 50):.2f}x, "
                                                   f"p95 {percentile(ours, 95) / percentile(theirs, 95):.2f}x"))
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    for error in result["errors"][:10]:  # type: ignore[index]
        print("error:", error)
    summary = {name: value for name, value in rows}
    print(json.dumps(summary, ensure_ascii=False), file=sys.stderr)


if __name__ == "__main__":
    main()
