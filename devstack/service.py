"""What the launcher needs to know about one service of the stack."""

from abc import ABC, abstractmethod
from pathlib import Path

from devstack.settings import StackSettings


class Service(ABC):
    """One long-running process of the stack: its ports, its start command, and its health check."""

    name: str

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.dir = settings.service_dir(self.name)

    @property
    def log_path(self) -> Path:
        """Where the process's stdout and stderr go."""
        return self.settings.run_dir.resolve() / "logs" / f"{self.name}.log"

    @abstractmethod
    def ports(self) -> dict[str, int]:
        """The ports the service binds, keyed by their setting name (`kafka_port`, ...)."""

    @abstractmethod
    def address(self) -> str:
        """How a client reaches the service (a URL or host:port)."""

    @abstractmethod
    def prepare(self) -> None:
        """Write the service's generated configuration and initialise its data folder."""

    @abstractmethod
    def argv(self) -> list[str]:
        """The command line that runs the service in the foreground."""

    def env(self) -> dict[str, str]:
        """Environment variables the process needs besides the caller's."""
        return {}

    def startup_error(self) -> str | None:
        """A reason the service will never become healthy (seen while starting), or None."""
        return None

    @abstractmethod
    def healthy(self) -> bool:
        """Whether the service answers a real request right now."""
