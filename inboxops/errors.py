"""One root exception and a few meaningful subclasses (STYLE habit 6).

The CLI turns any InboxopsError into one clear line and a non-zero exit; the daemon logs it and
carries on with the next message.
"""


class InboxopsError(Exception):
    """Root of every error inboxops raises on purpose."""


class ConfigError(InboxopsError):
    """config.toml is missing, unreadable, or has a wrong key or value."""


class MailboxError(InboxopsError):
    """The mailbox (IMAP server or Maildir) could not be reached or used."""


class ParseError(InboxopsError):
    """A message could not be parsed at all (it is quarantined, never dropped)."""


class StateError(InboxopsError):
    """A draft, outbox row or meeting is not in the state the action needs."""


class TemplateError(InboxopsError):
    """A reply template is missing or failed to render (for example an undefined variable)."""


class SendError(InboxopsError):
    """Sending failed; `permanent` says whether retrying can help (SMTP 5xx vs 4xx)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class AuthError(InboxopsError):
    """An OAuth2 access token could not be had; `needs_login` when only a person signing in
    again (`inboxops auth login`) can fix it, else the token endpoint was unreachable."""

    def __init__(self, message: str, *, needs_login: bool) -> None:
        super().__init__(message)
        self.needs_login = needs_login
