"""``python -m ticketkit``: the command line."""

from ticketkit.cli._main import main

if __name__ == "__main__":
    raise SystemExit(main())
