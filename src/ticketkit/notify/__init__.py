"""Notification, an edge: the ``Notifier`` interface, the ``Notification`` value and the
shipped notifiers.

May import: ``ticketkit.model`` and ``ticketkit.errors``.
Must not import: the engines, storage, the desk or analytics.
"""
