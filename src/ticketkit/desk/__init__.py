"""The ``Helpdesk``: the one place where the engines meet storage and notification. The
facade is thin; each family of operations lives in its own module (intake, changes, links
and merges, the sweep, delivery, reads and progress, access).

May import: every part below it (model, engines, storage, notify, directory, automation).
Must not import: analytics or the command line. Nothing below imports the desk.
"""
