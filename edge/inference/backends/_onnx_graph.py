"""The precision an ONNX model was exported in, read from its protobuf without the onnx package.

onnxruntime does not tell which operators a model holds, and the onnx package is not on the
appliance. What is needed is small: the op types of the main graph's nodes and the element types
of its initializers. Field numbers are those of onnx.proto (onnx 1.19): ModelProto.graph = 7,
GraphProto.node = 1 and .initializer = 5, NodeProto.op_type = 4, TensorProto.data_type = 2.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from edge.inference.runtime import Precision

_MODEL_GRAPH, _GRAPH_NODE, _GRAPH_INITIALIZER, _NODE_OP_TYPE, _TENSOR_DATA_TYPE = 7, 1, 5, 4, 2
_FLOAT, _FLOAT16 = 1, 10  # TensorProto.DataType
# QDQ models quantise with QuantizeLinear/DequantizeLinear pairs, QOperator and dynamically
# quantised models with integer kernels.
QUANTISED_OPS = frozenset({
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
    "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger",
})


def model_precision(model: bytes) -> Precision:
    """int8 if the main graph quantises, fp16 if most float weights are half, else fp32.

    Raises ValueError if `model` is not a protobuf message.
    """
    op_types: set[str] = set()
    weight_types: Counter[int] = Counter()
    for graph in _delimited(memoryview(model), _MODEL_GRAPH):
        for node in _delimited(graph, _GRAPH_NODE):
            op_types.update(bytes(name).decode() for name in _delimited(node, _NODE_OP_TYPE))
        for tensor in _delimited(graph, _GRAPH_INITIALIZER):
            weight_types.update(_varints(tensor, _TENSOR_DATA_TYPE))
    if op_types & QUANTISED_OPS:
        return "int8"
    if weight_types[_FLOAT16] > weight_types[_FLOAT]:
        return "fp16"
    return "fp32"


def _delimited(message: memoryview, number: int) -> Iterator[memoryview]:
    """The length-delimited fields (messages, strings) numbered `number` of one message."""
    for field, value in _fields(message):
        if field == number and not isinstance(value, int):
            yield value


def _varints(message: memoryview, number: int) -> Iterator[int]:
    for field, value in _fields(message):
        if field == number and isinstance(value, int):
            yield value


def _fields(message: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, value) of each varint and length-delimited field of one message."""
    pos, end = 0, len(message)
    while pos < end:
        key, pos = _varint(message, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = _varint(message, pos)
            yield number, value
        elif wire_type == 2:
            length, pos = _varint(message, pos)
            if pos + length > end:
                raise ValueError(f"field {number} runs past the end of its message")
            yield number, message[pos:pos + length]
            pos += length
        elif wire_type in (1, 5):  # fixed 64 and 32 bit
            pos += 8 if wire_type == 1 else 4
        else:
            raise ValueError(f"wire type {wire_type} of field {number} is not protobuf 3")
    if pos != end:
        raise ValueError("the last field runs past the end of its message")


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while shift < 64:
        if pos >= len(data):
            raise ValueError("a varint runs past the end of its message")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise ValueError("a varint is longer than 10 bytes")
