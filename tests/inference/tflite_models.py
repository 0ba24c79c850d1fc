"""Tiny .tflite models, written with the flatbuffer schema that ai-edge-litert ships, for the
tests against the real LiteRT; they are the fakes' models of `fake_litert`."""

from __future__ import annotations

from typing import Any


def requantise() -> bytes:
    """x int8 (scale 0.5, zero point 3) -> DEQUANTIZE -> QUANTIZE -> y int8 (0.25, -2)."""
    from ai_edge_litert.schema_py_generated import BuiltinOperator, TensorType

    return _model(
        [_tensor("x", TensorType.INT8, [1, 4], quantization=(0.5, 3)),
         _tensor("mid", TensorType.FLOAT32, [1, 4]),
         _tensor("y", TensorType.INT8, [1, 4], quantization=(0.25, -2))],
        [(BuiltinOperator.DEQUANTIZE, [0], [1]), (BuiltinOperator.QUANTIZE, [1], [2])],
        inputs=[0], outputs=[2],
    )


def doubling() -> bytes:
    """y = x + x in float32, x of shape (batch, 3)."""
    from ai_edge_litert.schema_py_generated import BuiltinOperator, TensorType

    return _model(
        [_tensor("x", TensorType.FLOAT32, [1, 3], signature=[-1, 3]),
         _tensor("y", TensorType.FLOAT32, [1, 3], signature=[-1, 3])],
        [(BuiltinOperator.ADD, [0, 0], [1])],
        inputs=[0], outputs=[1],
    )


def _tensor(
    name: str, kind: int, shape: list[int], signature: list[int] | None = None,
    quantization: tuple[float, int] | None = None,
) -> Any:
    from ai_edge_litert import schema_py_generated as schema

    tensor = schema.TensorT()
    tensor.name, tensor.type, tensor.shape, tensor.buffer = name, kind, shape, 0
    tensor.shapeSignature = signature
    if quantization is not None:
        tensor.quantization = schema.QuantizationParametersT()
        tensor.quantization.scale = [quantization[0]]
        tensor.quantization.zeroPoint = [quantization[1]]
    return tensor


def _model(
    tensors: list[Any], ops: list[tuple[int, list[int], list[int]]],
    inputs: list[int], outputs: list[int],
) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    codes = []
    operators = []
    for code, op_inputs, op_outputs in ops:
        if code not in [c.builtinCode for c in codes]:
            opcode = schema.OperatorCodeT()
            opcode.builtinCode = code
            opcode.deprecatedBuiltinCode = min(code, 127)  # 127: look in builtinCode
            opcode.version = 1
            codes.append(opcode)
        operator = schema.OperatorT()
        operator.opcodeIndex = [c.builtinCode for c in codes].index(code)
        operator.inputs, operator.outputs = op_inputs, op_outputs
        operators.append(operator)
    subgraph = schema.SubGraphT()
    subgraph.tensors, subgraph.operators = tensors, operators
    subgraph.inputs, subgraph.outputs = inputs, outputs
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = codes
    model.subgraphs = [subgraph]
    model.buffers = [schema.BufferT()]  # buffer 0: the empty one of tensors without data
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
