"""CoGenesis as LangChain chat models."""

from langchain_cogenesis.chat_models.fusion import ChatCoGenesisFusion

__all__ = ["ChatCoGenesisFusion"]
