"""`python -m grader.service serve ...`: the `grader` command's service commands, without the console script."""

from grader.cli import grader_main

grader_main()
