"""Service levels: the configuration values (``SLAPolicy``, ``SLATarget``, ``SLAClock``,
``Escalation``) and, apart from them, the clock engine that applies events, reports status,
finds due checkpoints, recomputes and answers "as of"; plus the static checks of policies.

May import: ``ticketkit.model``, ``ticketkit.calendar``, ``ticketkit.conditions`` and
``ticketkit.errors``.
Must not import: storage, notification, the desk or analytics.
"""
