"""The ``Helpdesk``: the one place where the engines meet storage and notification. The
facade (``_helpdesk``) is thin; each family of operations lives in its own module:
``_intake`` (open), ``_changes`` (fire, comment, assign, fields, rate), ``_links`` and
``_subtickets`` (links, merges, splits, sub-tickets), ``_sweep`` (tick, next_wakeup),
``_delivery`` (notifications and the outbox), ``_reads`` (reads, progress, export) and
``_guard`` (access checks), over ``_running`` (one change, committed), ``_work`` (its
drafts and events) and ``_context`` (the shared state). No module imports the facade.

May import: every part below it (model, engines, storage, notify, directory, automation).
Must not import: analytics or the command line. Nothing below imports the desk.
"""
