"""``python -m ticketkit``: the command line."""

from ticketkit._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
