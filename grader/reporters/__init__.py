"""Reporters: pure functions from scorecards to text in some format; the CLI decides where it goes."""
