"""OAuth2 sign-in for IMAP and SMTP: Microsoft 365, Google, or any OAuth2 server.

Below intake and outbound in the layering so both can use it; it needs only config and errors.
`providers` names the endpoints and scopes (pure), `tokens` keeps the token set in its 0600 file
and refreshes it (blocking HTTP: call it from the intake thread or the worker pool, never on the
event loop), `login` runs the interactive first sign-in (`inboxops auth login`), and `sasl`
builds what IMAP and SMTP send to log in with a bearer token. Authlib does the OAuth2 protocol.
"""
