"""Intake: mail comes in. Sources (IMAP, Maildir), first start and backfill, parsing
(pure) and the parse pool, language. Imports only the store and the core."""
