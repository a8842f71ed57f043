"""Workflows: states, transitions, guards and hooks per ticket type, firing triggers on
ticket values, and diagrams.

May import: ``ticketkit.model``, ``ticketkit.conditions`` and ``ticketkit.errors``.
Must not import: storage, notification, the desk or analytics.
"""
