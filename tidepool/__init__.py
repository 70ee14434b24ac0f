"""Tidepool: a real-time data server that speaks the Directus REST and WebSocket protocol."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
