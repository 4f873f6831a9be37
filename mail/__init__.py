"""The mails evgate sends, as pure functions: their words in five languages (``texts``) and
the RFC 5322 message built from a stored mail (``message``). No I/O: the outbox is
store.mail_store's, sending is services.mail_sender's."""
