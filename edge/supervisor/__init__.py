"""`gma-edge run`: the services as child processes, restarted with backoff, stopped in order."""

from edge.supervisor.supervisor import ChildState, ChildView, Supervisor

__all__ = ["ChildState", "ChildView", "Supervisor"]
