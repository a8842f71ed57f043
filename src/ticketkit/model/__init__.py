"""The core: tickets, customers, agents, teams, comments, events, ids, JSON values, time
helpers, the clock interface and the converter (``to_dict``/``from_dict``/``to_json``/``from_json``).

May import: ``ticketkit.errors`` and the standard library, attrs and cattrs.
Must not import: any other part of ticketkit. Every other part builds on this one.
"""
