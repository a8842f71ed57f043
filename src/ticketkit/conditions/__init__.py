"""The one condition language (``Condition`` and the builder ``F``) shared by routing rules,
SLA policy selection, workflow guards and automations.

May import: ``ticketkit.model``, ``ticketkit.errors`` and ``ticketkit.calendar`` (to parse
calendar values in conditions).
Must not import: storage, notification, the desk, analytics, or any other engine.
"""
