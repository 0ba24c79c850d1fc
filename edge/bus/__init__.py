"""The message bus: a broker, typed publishers and subscribers, and RPC, over ZeroMQ."""

from edge.bus.context import Bus
from edge.bus.endpoints import Endpoints
from edge.bus.messages import Message
from edge.bus.pubsub import Delivery, Publisher, SeqTracker, Subscriber
from edge.bus.rpc import RpcClient, RpcServer

__all__ = [
    "Bus",
    "Delivery",
    "Endpoints",
    "Message",
    "Publisher",
    "RpcClient",
    "RpcServer",
    "SeqTracker",
    "Subscriber",
]
