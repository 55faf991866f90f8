"""langchain-cogenesis: a cloud LLM and a local SLM write together; private context stays local.

Implements CoGenesis (Zhang et al., 2024). The public API is re-exported here.
"""

from langchain_cogenesis.config import Settings
from langchain_cogenesis.errors import (
    CloudError,
    CloudLogprobsUnavailable,
    CloudResponseError,
    CloudUnavailable,
    CoGenesisError,
    ConfigurationError,
    InvalidInstruction,
    LocalModelError,
    LocalOnly,
    NotAChromaStore,
    PrivacyViolation,
    PrivateJudgeRefused,
    RemoteStoreNotAllowed,
    SourceFileError,
    StoreCorrupted,
    StoreError,
    StoreLocked,
    TokenizerMismatch,
    UnknownThread,
    UnknownUser,
)
from langchain_cogenesis.fusion import ChatCoGenesisFusion
from langchain_cogenesis.models import ChatLocalLlama, StandInCloud, cloud_endpoint
from langchain_cogenesis.privacy import EgressGuard, with_private_tracing
from langchain_cogenesis.schema import (
    CloudPayload,
    ContextAwareInstruction,
    ContextAwareTask,
    Sketch,
    UserContext,
    UserProfile,
    Writing,
    WritingResult,
)

__version__ = "0.1.0"

__all__ = [
    "ChatCoGenesisFusion",
    "ChatLocalLlama",
    "CloudError",
    "CloudLogprobsUnavailable",
    "CloudPayload",
    "CloudResponseError",
    "CloudUnavailable",
    "CoGenesisError",
    "ConfigurationError",
    "ContextAwareInstruction",
    "ContextAwareTask",
    "EgressGuard",
    "InvalidInstruction",
    "LocalModelError",
    "LocalOnly",
    "NotAChromaStore",
    "PrivacyViolation",
    "PrivateJudgeRefused",
    "RemoteStoreNotAllowed",
    "Settings",
    "Sketch",
    "SourceFileError",
    "StandInCloud",
    "StoreCorrupted",
    "StoreError",
    "StoreLocked",
    "TokenizerMismatch",
    "UnknownThread",
    "UnknownUser",
    "UserContext",
    "UserProfile",
    "Writing",
    "WritingResult",
    "__version__",
    "cloud_endpoint",
    "with_private_tracing",
]
