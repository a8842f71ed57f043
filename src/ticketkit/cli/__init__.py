"""The command line: ``python -m ticketkit demo`` and small commands.

May import: anything in ticketkit; it is the face. Nothing imports the command line.
"""
