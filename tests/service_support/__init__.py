"""Helpers of the grading service's tests: a real `grader serve` process on 127.0.0.1 and a free port."""
