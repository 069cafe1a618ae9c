"""Helpers of the cluster tests: a scheduler and `grader worker` as separate processes, and test-only worker plugins."""
