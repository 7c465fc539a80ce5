"""Errors of the local stack launcher."""


class StackError(Exception):
    """Base class of the errors the stack launcher raises."""


class PortInUse(StackError):
    """A port the stack needs is already taken by a process the stack did not start."""


class ServiceStartFailed(StackError):
    """A service process exited or did not become healthy in time."""


class JvmDepsUnavailable(StackError):
    """The JVM artifacts are not in the cache and could not be resolved with Maven."""
