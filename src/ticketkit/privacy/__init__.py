"""Personal data: detecting it in free text and records, masking it for display and logs,
who may see it unmasked (``reveal_personal``), redacting and erasing it from tickets and
their events, and retention policies. Pure functions over values; the ``Helpdesk`` wires
them to reads, the sweep and the store.

May import: ``ticketkit.model``, ``ticketkit.errors`` and ``ticketkit.conditions``, the
standard library, attrs, cattrs, python-dateutil and phonenumbers.
Must not import: storage, the desk, notification, analytics, or any other engine.
Imported by: the desk (masking on reads, redaction, erasure, retention in the sweep), the
notifiers (masking what they log) and the package root.
"""
