"""The precision of ONNX models read from their protobuf, checked on models that onnx wrote."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper
from onnx_models import affine, half, quantised

from edge.inference.backends._onnx_graph import model_precision


def test_a_float_model_is_fp32(tmp_path: Path) -> None:
    assert model_precision(affine(tmp_path / "m.onnx").read_bytes()) == "fp32"


def test_quantize_and_dequantize_nodes_make_it_int8(tmp_path: Path) -> None:
    assert model_precision(quantised(tmp_path / "m.onnx").read_bytes()) == "int8"


def test_half_weights_make_it_fp16(tmp_path: Path) -> None:
    assert model_precision(half(tmp_path / "m.onnx").read_bytes()) == "fp16"


def test_qoperator_kernels_make_it_int8() -> None:
    node = helper.make_node("MatMulInteger", ["a", "b"], ["y"])
    graph = helper.make_graph([node], "g", [], [])
    assert model_precision(helper.make_model(graph).SerializeToString()) == "int8"


def test_names_are_not_op_types() -> None:
    """A tensor or node named after a quantising op is not one."""
    node = helper.make_node("Identity", ["QuantizeLinear"], ["DequantizeLinear"],
                            name="QuantizeLinear", doc_string="DequantizeLinear")
    graph = helper.make_graph(
        [node], "QuantizeLinear",
        [helper.make_tensor_value_info("QuantizeLinear", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("DequantizeLinear", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, producer_name="QuantizeLinear")
    assert model_precision(model.SerializeToString()) == "fp32"


def test_weights_in_other_fields_are_skipped(tmp_path: Path) -> None:
    """Big raw weights, metadata and opsets around the graph do not disturb the reader."""
    model = onnx.load(str(affine(tmp_path / "m.onnx")))
    model.graph.initializer.append(
        helper.make_tensor("big", TensorProto.FLOAT, [1 << 16], bytes(4 << 16), raw=True))
    helper.set_model_props(model, {"license": "MIT", "note": "x" * 300})
    assert model_precision(model.SerializeToString()) == "fp32"


@pytest.mark.parametrize("data", [
    b"\x3a\x05abc",  # the graph field claims 5 bytes, 3 follow
    b"\x3a",  # a key with no length
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  # a varint of 11 bytes
    b"\x0b",  # wire type 3: a group, not protobuf 3
    b"\x08",  # a varint field with no value
])
def test_what_is_not_protobuf_is_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        model_precision(data)
