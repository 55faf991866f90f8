"""The privacy boundary: the one door to the cloud, leak detectors, the audit log."""

from langchain_cogenesis.privacy.audit import AuditEntry, AuditLog, AuditVerification
from langchain_cogenesis.privacy.decision import (
    EgressDecision,
    PolicyRule,
    decide,
    tracer_view,
)
from langchain_cogenesis.privacy.detectors import (
    CanaryDetector,
    Hit,
    NgramDetector,
    PiiDetector,
    RareTokenDetector,
)
from langchain_cogenesis.privacy.entities import (
    EntityDetector,
    LocalModelDetector,
    RecognizerRegistry,
    SpacyEngine,
)
from langchain_cogenesis.privacy.erasure import ErasureReport, erase_user
from langchain_cogenesis.privacy.guard import (
    POLICIES,
    CloudReply,
    EgressGuard,
    Policy,
    PrefixGate,
    find_private_overlap,
)
from langchain_cogenesis.privacy.redaction import (
    StreamRestorer,
    restore,
)
from langchain_cogenesis.privacy.restoration import (
    MessageStreamRestorer,
    RestoredValueDetector,
    RestoredValues,
    restore_message,
)
from langchain_cogenesis.privacy.scanner import PrivacyScanner
from langchain_cogenesis.privacy.tracing import allow_raw_tracing, with_private_tracing

__all__ = [
    "POLICIES",
    "AuditEntry",
    "AuditLog",
    "AuditVerification",
    "CanaryDetector",
    "CloudReply",
    "EgressDecision",
    "EgressGuard",
    "EntityDetector",
    "ErasureReport",
    "Hit",
    "LocalModelDetector",
    "MessageStreamRestorer",
    "NgramDetector",
    "PiiDetector",
    "Policy",
    "PolicyRule",
    "PrefixGate",
    "PrivacyScanner",
    "RareTokenDetector",
    "RecognizerRegistry",
    "RestoredValueDetector",
    "RestoredValues",
    "SpacyEngine",
    "StreamRestorer",
    "allow_raw_tracing",
    "decide",
    "erase_user",
    "find_private_overlap",
    "restore",
    "restore_message",
    "tracer_view",
    "with_private_tracing",
]
