"""The privacy boundary: the one door to the cloud, leak detectors, the audit log."""

from langchain_cogenesis.privacy.audit import AuditEntry, AuditLog, AuditVerification
from langchain_cogenesis.privacy.detectors import (
    CanaryDetector,
    Hit,
    NgramDetector,
    PiiDetector,
    PrivacyScanner,
    RareTokenDetector,
    restore,
)
from langchain_cogenesis.privacy.guard import (
    POLICIES,
    CloudReply,
    EgressGuard,
    Policy,
    PrefixGate,
    find_private_overlap,
)

__all__ = [
    "POLICIES",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "CanaryDetector",
    "CloudReply",
    "EgressGuard",
    "Hit",
    "NgramDetector",
    "PiiDetector",
    "Policy",
    "PrefixGate",
    "PrivacyScanner",
    "RareTokenDetector",
    "find_private_overlap",
    "restore",
]
