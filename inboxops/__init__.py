"""inboxops: the email side of an operations assistant, as a small daemon."""

__version__ = "0.1.0"
# The environment variable naming the config file; here, not in config.py, so the CLI can name
# it in --help without importing the config schema (pydantic) first.
CONFIG_ENV_VAR = "INBOXOPS_CONFIG"
