"""Business calendars: working hours, lunch breaks, per-date overrides, holidays and official
make-up workdays in any time zone; the calendar's data form and its holiday sources.

May import: ``ticketkit.model`` and ``ticketkit.errors``.
Must not import: storage, notification, the desk, analytics, or any other engine.
"""
