"""A dialogue as the citizen saw it, written by the end-to-end tests (run them with ``-s`` to
read it): what the citizen sent, what the hub answered, and the buttons offered."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Transcript:
    channel: str
    lines: list[str] = field(default_factory=list)

    def citizen(self, text: str) -> None:
        self.lines.append(f"  Công dân: {text}")

    def hub(self, text: str, buttons: list[str] | None = None) -> None:
        body = text.replace("\n", "\n            ")
        self.lines.append(f"  Hub     : {body}")
        if buttons:
            self.lines.append(f"            [{'] ['.join(buttons)}]")

    def show(self) -> None:
        print(f"\n===== {self.channel} =====")
        print("\n".join(self.lines))
