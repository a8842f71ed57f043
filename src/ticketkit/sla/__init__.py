"""Service levels: the configuration values (``SLAPolicy``, ``SLATarget``, ``SLAClock``,
``Escalation``) and, apart from them, the clock engine that applies events, reports status,
finds due checkpoints, recomputes and answers "as of"; plus the static checks of policies.

Configuration: ``_config`` (targets, escalations, clocks), ``_policy`` (``SLAPolicy``,
whose engine methods are thin delegates, and policy selection), ``_policy_fields`` and
``_policy_load`` (its checks and data form), ``_check`` (static checks of a policy list).
Engine: ``_plan`` (a policy compiled once for the engine), ``_clock`` (one clock's
arithmetic), ``_apply``, ``_status``, ``_due``, ``_recompute`` and ``_replay``. The engine
never imports the configuration modules above ``_config``.

May import: ``ticketkit.model``, ``ticketkit.calendar``, ``ticketkit.conditions`` and
``ticketkit.errors``.
Must not import: storage, notification, the desk or analytics.
"""
