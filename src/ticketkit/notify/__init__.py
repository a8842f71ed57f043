"""Notification, an edge: the ``Notifier`` interface, the ``Notification`` value and the
shipped notifiers.

May import: ``ticketkit.model``, ``ticketkit.errors`` and ``ticketkit.privacy`` (to mask
what the notifiers log).
Must not import: the engines, storage, the desk or analytics.
"""
