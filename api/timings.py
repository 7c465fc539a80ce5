"""Where the time of one request goes: for the `Server-Timing` header and the stage metrics."""

from dataclasses import dataclass, field


@dataclass
class Timings:
    """Milliseconds spent in each stage of one request, in order (for Server-Timing and the metrics)."""

    stages: dict[str, float] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        self.stages[stage] = self.stages.get(stage, 0.0) + seconds * 1000

    def server_timing(self) -> str:
        """The value of a `Server-Timing` header."""
        return ", ".join(f"{stage};dur={ms:.2f}" for stage, ms in self.stages.items())
