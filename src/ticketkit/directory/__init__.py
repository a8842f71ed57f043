"""Customer directories and integrations, an edge: looking customers and inventory up in
the systems a desk is connected to.

May import: ``ticketkit.model`` and ``ticketkit.errors``.
Must not import: the engines, storage, the desk or analytics.
"""
