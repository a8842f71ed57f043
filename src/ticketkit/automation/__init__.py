"""Automations: conditions on ticket events that run actions (set fields, add tags,
notify), as configuration values.

May import: ``ticketkit.model``, ``ticketkit.conditions`` and ``ticketkit.errors``.
Must not import: storage, notification, the desk or analytics.
"""
