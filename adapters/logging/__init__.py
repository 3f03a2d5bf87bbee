"""Event log adapters: a JSON-lines file with rotation and a readable console view.

Both implement the application's ``EventSink`` port, take the event's own timestamp as the
record time, and redact secrets (by field name and by value) before anything is written.
"""

from adapters.logging.console import HumanConsoleSink
from adapters.logging.jsonl_sink import JsonLinesSink
from adapters.logging.records import MASK, level_for

__all__ = ["MASK", "HumanConsoleSink", "JsonLinesSink", "level_for"]
