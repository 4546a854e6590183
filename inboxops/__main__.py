"""`python -m inboxops` is the same as the `inboxops` command."""

from inboxops.cli import main

if __name__ == "__main__":  # not when a parser worker process imports this module (spawn)
    main()
