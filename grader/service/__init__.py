"""The grading service: submissions over HTTP, kept in a database, graded on the warm pool.

A thin layer over the same pipeline as `grade`:

    HTTP (app.py, api.py: routes and pydantic models) -> store (grader/store.py: SQLite)
        -> queue (queue.py: bounded, restart recovery) -> pool (pool.py: the warm Sandbox)
        -> grade_submission -> scorecard JSON (language-neutral) -> store -> JSON / CSV in the reader's language

Nothing here is imported by `grade`, and the serving process never imports torch itself: grading
happens in the warm worker and its children (see pool.py).
"""
