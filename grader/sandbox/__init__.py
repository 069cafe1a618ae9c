"""Running untrusted submissions: the warm worker, the isolated child, and the grader's side of the wire."""
