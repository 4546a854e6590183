"""Classifiers: each judges a parsed message; the chain combines them (see base.py).

Importing this package registers the built-in classifiers, the same way a plug-in would.
"""

from inboxops.classifiers import content, learned, signals, style
from inboxops.classifiers.base import REGISTRY, Chain, Classifier, Verdict, register

__all__ = [
    "REGISTRY", "Chain", "Classifier", "Verdict", "content", "learned", "register", "signals",
    "style",
]
