"""The adversarial corpus: one submission per row of the threat table, each attacking and solving.

Every file in tests/adversarial/ says which row of the threat table it attacks and what it must
get (`# expect: full=<exercises> attacked=<exercise/check,...>`). Each is graded as it would be in
a course, and must get no points from the attack, full points on the exercises it solves
honestly, and leave behind no process and no file outside its private temporary directory,
with the warm worker still serving. Attack-specific guarantees (nothing received by a listener,
no unpickled payload, the grader's memory unchanged) are checked beside the generic ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from conftest import EXAMPLES, ROOT, en, run_cli
from grader.grading import GradeOptions, Graded, grade_submission
from grader.reporters import text
from grader.sandbox.supervisor import Sandbox

CORPUS_DIR = Path(__file__).resolve().parent / "adversarial"
CORPUS = sorted(CORPUS_DIR.glob("*.py"))
EXPECT = re.compile(r"^# expect: full=(?P<full>[\w,-]*) attacked=(?P<attacked>[\w,/-]+)$", re.MULTILINE)
THREAT = re.compile(r"^# threat: (?P<threat>.+)$", re.MULTILINE)
CALL_TIMEOUT = 2.0
SEED = 20261126
# Where a forged results file would matter and the grader's user could write on the host.
HOST_ROOTS = ("/run", "/var/tmp", "/tmp", "/dev/shm", "/autograder")


@dataclass
class Attack:
    """One corpus file, made unique to this test run, and what it must get."""

    source: Path
    tag: str
    full: set[str]
    attacked: set[str]
    replacements: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Attack:
        """The file's expectations; the tag its processes and files carry is fresh per test."""
        text_ = path.read_text(encoding="utf-8")
        match = EXPECT.search(text_)
        assert match and THREAT.search(text_), f"{path.name} needs `# threat:` and `# expect:` lines"
        full = set(filter(None, match.group("full").split(",")))
        return cls(path, f"adv{secrets.token_hex(6)}", full, set(match.group("attacked").split(",")))

    def write_to(self, directory: Path) -> Path:
        """A copy of the submission with its tag (and any port or marker) filled in."""
        source = self.source.read_text(encoding="utf-8").replace('TAG = "adversarial-tag"', f'TAG = "{self.tag}"')
        for old, new in self.replacements.items():
            assert old in source, f"{self.source.name} has no {old!r} to replace"
            source = source.replace(old, new)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / self.source.name
        target.write_text(source, encoding="utf-8")
        return target


@dataclass
class Outcome:
    """A graded attack and what the test saw around it."""

    attack: Attack
    graded: Graded
    seconds: float
    output: str = ""


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _process_table() -> dict[int, tuple[int, bytes]]:
    """pid -> (parent pid, command line) of every process on this machine."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                table[int(entry)] = (parent, cmdline.read())
        except (OSError, IndexError, ValueError):
            continue
    return table


def _descendants(root: int, table: dict[int, tuple[int, bytes]]) -> list[int]:
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def assert_nothing_left_running(sandbox: Sandbox, tag: str) -> None:
    """No process below the warm worker (supervisors included) and none carrying the attack's tag.

    The reference worker and the supervisor forked ahead for the next child (and that child) are
    the warm worker's own, forked from it, never from a submission.
    """
    worker = sandbox.worker_pid
    assert worker is not None and os.path.exists(f"/proc/{worker}"), "the warm worker died"
    deadline = time.monotonic() + 5.0
    while True:
        table = _process_table()
        spare = sandbox.spare_pid()
        ours = {sandbox.references.pid, spare, *(_descendants(spare, table) if spare else [])}
        left = [pid for pid in _descendants(worker, table) if pid not in ours]
        tagged = [pid for pid, (_, cmdline) in table.items() if tag.encode() in cmdline and pid != os.getpid()]
        if not left and not tagged:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"processes left behind: {left} below the worker, {tagged} tagged {tag}")
        time.sleep(0.05)


def tagged_files(tag: str) -> list[str]:
    """Files named after the attack's tag in the host's shared, writable places."""
    found = []
    for root in HOST_ROOTS:
        for folder, subfolders, files in os.walk(root):
            if folder.count(os.sep) - root.count(os.sep) >= 4:
                subfolders[:] = []
            found.extend(os.path.join(folder, name) for name in files if tag in name)
    return found


# -- what each attack needs around it, beyond the generic assertions -------------------------------
Extra = Callable[[Attack, Path], Iterator[Callable[[Outcome], None]]]
EXTRAS: dict[str, Extra] = {}


def extra(name: str) -> Callable[[Extra], Extra]:
    """Register the set-up and the attack-specific assertions of one corpus file."""

    def register(function: Extra) -> Extra:
        EXTRAS[name] = contextlib.contextmanager(function)  # type: ignore[assignment]
        return function

    return register


def _checks(outcome: Outcome) -> dict[str, object]:
    return {f"{e.id}/{c.id}": c for e in outcome.graded.scorecard.exercises for c in e.checks}


@extra("fake_scorecard_output")
def _fake_output(attack: Attack, directory: Path):
    def verify(outcome: Outcome) -> None:
        card = outcome.graded.scorecard
        assert '"score": 50.0' in card.run.output  # shown to the student as printed, never parsed
        report = text.render(card)
        assert "\x1b" not in report and "\x07" not in report and "\r" not in report
        assert "  | ::error file=grader/cli.py" in report  # shown behind a margin, never at a line's start
        assert [line for line in report.splitlines() if line.lstrip().startswith("::")] == []

    yield verify


@extra("setsid_grandchild")
def _setsid(attack: Attack, directory: Path):
    def verify(outcome: Outcome) -> None:
        assert _checks(outcome)["sin-derivative-plot/plot"].status == "failed"  # it returned; its escapees did not

    yield verify


@extra("fork_storm")
def _fork_storm(attack: Attack, directory: Path):
    def verify(outcome: Outcome) -> None:
        card = outcome.graded.scorecard
        started = re.search(r"forked (\d+) processes", card.run.output)
        if started is None:  # a slow machine: the storm outlasted its call, which was stopped
            assert "did not return" in en(_checks(outcome)["sin-derivative-plot/plot"].message)
        elif card.run.isolation["separate_user"]:
            assert int(started.group(1)) < 64, "RLIMIT_NPROC of the job's own user bounds the storm"

    yield verify


@extra("memory_hog")
def _memory_hog(attack: Attack, directory: Path):
    before = _rss_bytes()

    def verify(outcome: Outcome) -> None:
        checks = _checks(outcome)
        assert "can't allocate memory" in en(checks["second-derivative-cost/graph-size"].message)
        assert checks["sin-derivative-plot/plot"].status == "error"  # MemoryError, killed or stopped: its call only
        assert _rss_bytes() - before < 64 << 20, "the grader's own memory grew"

    yield verify


@extra("huge_observations")
def _huge_observations(attack: Attack, directory: Path):
    before = _rss_bytes()

    def verify(outcome: Outcome) -> None:
        checks = _checks(outcome)
        assert "MiB of observations" in en(checks["vector-control-flow/f-values"].message)
        assert "sent more data than the grader accepts" in en(checks["vector-control-flow/gradient"].message)
        assert _rss_bytes() - before < 256 << 20, "observations beyond the cap reached the grader's memory"

    yield verify


@extra("huge_output")
def _huge_output(attack: Attack, directory: Path):
    def verify(outcome: Outcome) -> None:
        run = outcome.graded.scorecard.run
        plot = _checks(outcome)["sin-derivative-plot/plot"]
        assert run.output_bytes > 100 << 20 or "did not return" in en(plot.message)
        assert len(run.output) < 24 << 10, "captured output is capped"
        assert "bytes not shown" in run.output

    yield verify


@extra("segfault_ctypes")
def _segfault(attack: Attack, directory: Path):
    def verify(outcome: Outcome) -> None:
        assert "SIGSEGV" in en(_checks(outcome)["sin-derivative-plot/plot"].message)

    yield verify


@extra("reduce_payload")
def _reduce(attack: Attack, directory: Path):
    marker = directory.parent / f"unpickled-{attack.tag}"
    attack.replacements['MARKER = "/tmp/adversarial-marker"'] = f'MARKER = "{marker}"'

    def verify(outcome: Outcome) -> None:
        assert not marker.exists(), "something unpickled the submission's payload"
        assert "submission.Payload" in en(_checks(outcome)["second-derivative-cost/values"].message)
        assert "numpy.ndarray (object)" in en(_checks(outcome)["second-derivative-cost/graph-size"].message)

    yield verify


@extra("network")
def _network(attack: Attack, directory: Path):
    received: list[bytes] = []
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", tcp.getsockname()[1]))
    local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    local.bind("\0" + attack.tag)
    local.listen()
    attack.replacements["PORT = 47017"] = f"PORT = {tcp.getsockname()[1]}"
    stop = threading.Event()

    def listen() -> None:
        for sock in (tcp, udp, local):
            sock.settimeout(0.05)
        while not stop.is_set():
            for sock in (tcp, local):
                with contextlib.suppress(OSError):
                    connection, _ = sock.accept()
                    received.append(b"connection")
                    with connection:
                        received.append(connection.recv(100))
            with contextlib.suppress(OSError):
                received.append(udp.recv(100))

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()

    def verify(outcome: Outcome) -> None:
        stop.set()
        listener.join()
        for sock in (tcp, udp, local):
            sock.close()
        isolation = outcome.graded.scorecard.run.isolation
        if isolation["network_namespace"]:
            assert received == [], "the submission reached a listener on this machine"
            assert "tcp sent" not in outcome.graded.scorecard.run.output
        else:
            assert "network_namespace" in isolation["missing"]

    yield verify


@extra("read_secrets")
def _read_secrets(attack: Attack, directory: Path):
    def verify(outcome: Outcome) -> None:
        run = outcome.graded.scorecard.run
        assert "stole" not in run.output
        if run.isolation["pid_namespace"]:
            assert "processes seen: [1]" in run.output
        if run.isolation["pid_namespace"] or run.isolation["file_allow_list"]:
            # Its own PID namespace, or Landlock's signal scope: nothing outside the job answers.
            assert "could signal 0 other processes" in run.output
        if not run.isolation["pid_namespace"] and run.isolation["file_allow_list"]:
            assert "/proc listing refused" in run.output  # only its own /proc/self is readable

    yield verify


@extra("escape_mounts")
def _escape_mounts(attack: Attack, directory: Path):
    def verify(outcome: Outcome) -> None:
        run = outcome.graded.scorecard.run
        assert "stole" not in run.output and "wrote /run/lock" not in run.output
        if run.isolation["mount_namespace"]:
            assert "remount / writable ok" not in run.output

    yield verify


@extra("write_results_file")
def _write_results(attack: Attack, directory: Path):
    def verify(outcome: Outcome) -> None:
        run = outcome.graded.scorecard.run
        assert "wrote" in run.output  # it did write: into its private directories, which are gone
        assert not (ROOT / "results.json").exists()
        assert not Path("/autograder").exists()
        littered = tagged_files(attack.tag)
        for path in littered:  # a grader without a read-only view leaves them; clean up after the test
            os.unlink(path)
        if run.isolation["read_only"] and run.isolation["mount_namespace"]:
            assert littered == [], "the submission wrote outside its temporary directory"
        else:
            assert run.isolation["level"] != "namespaces"

    yield verify


def _grade(sandbox: Sandbox, builtin, path: Path, timeout: float = CALL_TIMEOUT) -> Graded:
    options = GradeOptions(seed=SEED, call_timeout=timeout, total_timeout=60.0)
    return grade_submission(path, builtin, sandbox, options)


def _grade_attack(sandbox: Sandbox, builtin, attack: Attack, directory: Path) -> Outcome:
    setup = EXTRAS.get(attack.source.stem)
    with (setup(attack, directory) if setup else contextlib.nullcontext(None)) as verify:
        submission = attack.write_to(directory)
        started = time.monotonic()
        graded = _grade(sandbox, builtin, submission)
        outcome = Outcome(attack, graded, time.monotonic() - started)
        if verify is not None:
            verify(outcome)
    return outcome


def assert_attack_failed(outcome: Outcome) -> None:
    """No points from the attack, full points where the file answers honestly, a readable scorecard."""
    card = outcome.graded.scorecard
    checks = _checks(outcome)
    assert not card.passed  # the CLI's exit status 1
    if outcome.attack.attacked == {"all"}:
        assert card.score == 0 and card.error
    for name in outcome.attack.attacked - {"all"}:
        assert checks[name].status != "passed" and checks[name].score == 0, (name, en(checks[name].message))
    for exercise in card.exercises:
        if exercise.id in outcome.attack.full:
            assert exercise.score == exercise.max_score, [(c.id, en(c.message)) for c in exercise.checks if c.status != "passed"]
    assert text.render(card).startswith(card.submission)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_attack_gets_no_points_and_harms_nothing(path, sandbox, builtin, tmp_path):
    attack = Attack.load(path)
    directory = tmp_path / "submissions"
    try:
        outcome = _grade_attack(sandbox, builtin, attack, directory)
    finally:
        littered = tagged_files(attack.tag)
        for leftover in littered:  # only if a defence failed; never leave them behind
            os.unlink(leftover)
    assert littered == [], "the submission wrote outside its temporary directory"
    assert_attack_failed(outcome)
    assert_nothing_left_running(sandbox, attack.tag)
    assert sorted(p.name for p in directory.iterdir()) == [path.name], "something was written next to the submission"
    assert not (ROOT / "results.json").exists()


def test_every_threat_row_has_an_attack():
    threats = " ".join(THREAT.search(p.read_text()).group("threat") for p in CORPUS)
    for row in ("forge or overwrite results", "fake stdout", "monkeypatch the comparison", "exit early",
                "always-equal", "__torch_function__", "NaN", "pickle", "read hidden inputs or expected values",
                "infinite loop", "setsid", "memory bomb", "fork storm", "network", "hundreds of MB of output",
                "segmentation fault"):
        assert row in threats, f"no corpus file attacks: {row}"


def test_a_batch_mixing_attacks_grades_the_correct_ones_as_alone(sandbox, builtin, tmp_path):
    # The correct submissions share the attacks' directory: each child sees none of it.
    directory = tmp_path / "batch"
    attacks = [Attack.load(p) for p in CORPUS]
    solutions = []
    for name in ("solution.py", "solution_copy.py"):
        directory.mkdir(exist_ok=True)
        (directory / name).write_text((EXAMPLES / "solution.py").read_text(encoding="utf-8"), encoding="utf-8")
        solutions.append(directory / name)
    alone = _grade(sandbox, builtin, solutions[0], timeout=10.0).scorecard
    jobs: list[tuple[str, Path, float]] = [(a.tag, a.write_to(directory), CALL_TIMEOUT) for a in attacks]
    jobs[len(jobs) // 3:len(jobs) // 3] = [("solution", solutions[0], 10.0)]
    jobs.append(("solution", solutions[1], 10.0))
    with ThreadPoolExecutor(max_workers=4) as pool:
        cards = list(pool.map(lambda job: (job[0], _grade(sandbox, builtin, job[1], job[2]).scorecard), jobs))

    def verdicts(card):
        return [(e.id, c.id, c.status, c.score) for e in card.exercises for c in e.checks]

    assert alone.score == alone.max_score
    graded_solutions = [card for who, card in cards if who == "solution"]
    assert len(graded_solutions) == 2
    for card in graded_solutions:
        assert verdicts(card) == verdicts(alone)
    by_tag = {who: card for who, card in cards}
    for attack in attacks:
        assert not by_tag[attack.tag].passed
        assert_nothing_left_running(sandbox, attack.tag)
        for path in tagged_files(attack.tag):
            os.unlink(path)  # only a grader without a read-only view gets here; the other test says so
    assert not Path("/tmp/adversarial-marker").exists(), "something unpickled a payload"


def test_json_and_ci_output_stay_the_graders_own(tmp_path):
    attack = Attack.load(CORPUS_DIR / "fake_scorecard_output.py")
    submission = attack.write_to(tmp_path)
    result = run_cli(str(submission), "--format", "json", "--seed", "7", "--timeout", "2")
    assert result.returncode == 1, result.stderr
    card = json.loads(result.stdout)  # the whole of stdout is the grader's one JSON document
    assert card["submission"] == str(submission) and card["score"] < card["max_score"]
    assert card["run"]["isolation"]["level"] in ("namespaces", "partial", "rlimits-only", "none")
    assert all(isinstance(c["duration"], float) for e in card["exercises"] for c in e["checks"])
    assert "::error file=grader/cli.py" in card["run"]["output"]

    in_ci = run_cli(str(submission), "--seed", "7", "--timeout", "2", env={"GITHUB_ACTIONS": "true"})
    assert in_ci.returncode == 1
    # Every workflow command the submission printed sits inside a stop-commands fence.
    fenced = False
    for line in in_ci.stdout.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("::stop-commands::"):
            token = stripped.removeprefix("::stop-commands::")
            fenced = True
        elif fenced and stripped == f"::{token}::":
            fenced = False
        elif stripped.startswith("::") and not fenced:
            assert not any(word in stripped for word in ("grader is broken", "Points 50/50", "add-mask")), line
