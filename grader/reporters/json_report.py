"""The JSON scorecard of interfaces.md: one object per submission, `{"submissions": [...]}` for a batch."""

from __future__ import annotations

import json

from grader.scorecard import Scorecard


def render(scorecard: Scorecard) -> str:
    """One submission's scorecard as JSON."""
    return json.dumps(scorecard.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"


def render_batch(scorecards: list[Scorecard]) -> str:
    """Several submissions' scorecards as `{"submissions": [...]}`."""
    return json.dumps({"submissions": [s.model_dump(mode="json") for s in scorecards]}, ensure_ascii=False, indent=2) + "\n"
