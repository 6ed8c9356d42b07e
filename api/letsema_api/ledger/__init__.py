"""The MFI's general journal (double-entry, cash basis): the ``Journal`` port on PostgreSQL, the journal
list and the trial balance. Entries are built by ``letsema_core.accounting``; this app only stores them."""
