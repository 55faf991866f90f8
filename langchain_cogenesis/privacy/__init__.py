"""The privacy boundary, in four parts (see docs/architecture.md):

- ``detection/``: what is private in a text (:class:`PrivacyScanner` and its detectors);
- ``egress/``: the one door to the cloud (:func:`decide`, :class:`Door`,
  :class:`EgressGuard`) and the audit log;
- ``redaction/``: typed placeholders out, private values back in (:func:`restore`);
- ``tracing/``: what a tracer may see of a private run (:func:`with_private_tracing`);

and :func:`erase_user`, which reaches all of them. The names below are the public
surface; everything else is imported from its module.
"""

from langchain_cogenesis.privacy.detection.entities import EntityDetector, LocalModelDetector
from langchain_cogenesis.privacy.detection.scanner import PrivacyScanner
from langchain_cogenesis.privacy.egress.audit import AuditLog
from langchain_cogenesis.privacy.egress.decision import EgressDecision, Policy, PolicyRule, decide
from langchain_cogenesis.privacy.egress.door import Door
from langchain_cogenesis.privacy.egress.guard import EgressGuard
from langchain_cogenesis.privacy.erasure import erase_user
from langchain_cogenesis.privacy.redaction.placeholders import restore
from langchain_cogenesis.privacy.tracing.private import allow_raw_tracing
from langchain_cogenesis.privacy.tracing.privately_traced import with_private_tracing

__all__ = [
    "AuditLog",
    "Door",
    "EgressDecision",
    "EgressGuard",
    "EntityDetector",
    "LocalModelDetector",
    "Policy",
    "PolicyRule",
    "PrivacyScanner",
    "allow_raw_tracing",
    "decide",
    "erase_user",
    "restore",
    "with_private_tracing",
]
