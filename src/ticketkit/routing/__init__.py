"""Rule-based assignment: ``Rule``, ``Assign``, ``Router``, the ``Decision`` and its record,
strategies, round-robin cursors, static checks, simulation and comparison.

May import: ``ticketkit.model``, ``ticketkit.conditions``, ``ticketkit.calendar`` and
``ticketkit.errors``.
Must not import: storage, notification, the desk or analytics.
"""
