"""inboxops: the email side of an operations assistant, as a small daemon."""

__version__ = "0.1.0"
