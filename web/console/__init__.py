"""Operator console (DESIGN §3): ``setup_console(app, …)`` mounts it under ``/console``."""
from web.console.app import setup_console

__all__ = ["setup_console"]
