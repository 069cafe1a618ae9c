"""The service's settings: one frozen value made by `grader serve` from its options, read everywhere else."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FigureMode = Literal["all", "drawn", "none"]

MiB = 1 << 20


@dataclass(frozen=True)
class ServiceConfig:
    """How one `grader serve` runs: where its data lives, how much it grades at once, its limits."""

    db: Path
    """The SQLite database file (created when missing)."""
    exercises_dir: Path | None = None
    """The exercise specs graded against (None: the built-in exercises)."""
    jobs: int = 2
    """Submissions graded at the same time (children of the one warm worker)."""
    queue_size: int = 200
    """Submissions that may wait for a worker; one more is answered 503 with Retry-After."""
    rate_per_minute: float = 60.0
    """Submissions one client (a token, else an address) may make per minute, on average."""
    burst: int = 30
    """Submissions one client may make at once before the rate applies."""
    max_upload: int = 8 * MiB
    """The largest request body accepted (413 beyond)."""
    max_wait: float = 60.0
    """The longest `?wait=S` honoured, in seconds."""
    call_timeout: float = 5.0
    """Seconds for importing a submission and for each call (as `grade --timeout`)."""
    total_timeout: float = 120.0
    """Seconds for one whole submission (as `grade --total-timeout`)."""
    memory_mb: int = 2048
    """Memory a submission may use beyond the warm worker's (as `grade --memory`)."""
    figures: FigureMode = "drawn"
    """Keep the `drawn` figures (the student's PNGs, rendered in the sandbox), `all` (also the overlays of the expected
    curves, drawn with matplotlib in the serving process), or `none`."""
    max_attempts: int = 2
    """A submission that was being graded when the service died this many times is failed, not retried."""
    require_token: bool = False
    """Whether submitting needs a token (a student's or an instructor's); otherwise anyone may submit."""
    shutdown_grace: float = 10.0
    """Seconds a clean shutdown waits for the submissions being graded; the rest are graded on the next start."""
