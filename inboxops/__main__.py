"""`python -m inboxops` is the same as the `inboxops` command."""

from .cli import main

main()
