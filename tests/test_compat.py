"""The fallbacks of the private torch calls (skvaser/nn/_torch_compat.py) and the one module
through which private scikit-learn names come in (skvaser/_sklearn.py)."""

import ast
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import skvaser
from skvaser.models.neural import resolve_matmul_precision
from skvaser.nn import _torch_compat
from skvaser.nn._torch_compat import cpu_has_bfloat16_dot_products, softmax_in_place
from skvaser.nn.softmax import item_cross_entropy

PROBES = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
CPU = torch.device("cpu")


@pytest.mark.parametrize("answers", [(False, False), (True, False), (False, True)])
def test_bfloat16_probe_follows_the_private_calls(answers, monkeypatch):
    for name, answer in zip(PROBES, answers):
        monkeypatch.setattr(torch.cpu, name, lambda answer=answer: answer)
    assert cpu_has_bfloat16_dot_products() is any(answers)
    expected = "bfloat16" if any(answers) else "float32"
    assert resolve_matmul_precision("auto", CPU) == expected
    assert resolve_matmul_precision("auto", torch.device("meta")) == "float32"


def test_bfloat16_probe_without_the_private_calls_says_no(monkeypatch):
    for name in PROBES:
        monkeypatch.delattr(torch.cpu, name, raising=False)
    assert cpu_has_bfloat16_dot_products() is False
    assert resolve_matmul_precision("auto", CPU) == "float32"
    assert resolve_matmul_precision("bfloat16", CPU) == "bfloat16"
    # one probe left is still asked
    monkeypatch.setattr(torch.cpu, PROBES[1], lambda: True, raising=False)
    assert cpu_has_bfloat16_dot_products() is True


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_softmax_fallback_without_the_out_variant(dtype, monkeypatch):
    """The fallback writes into the block, rounds once, and matches the out= variant."""
    generator = torch.Generator().manual_seed(0)
    block = (4 * torch.randn(6, 9, generator=generator, dtype=torch.float64)).to(dtype)
    with_out = softmax_in_place(block.clone())
    target = block.clone()
    with monkeypatch.context() as patch:
        patch.setattr(torch.ops.aten, "_softmax", SimpleNamespace())  # no .out
        without = softmax_in_place(target)
    assert without.data_ptr() == target.data_ptr() and without.dtype == dtype
    assert torch.equal(without, with_out)
    expected = torch.softmax(block.double(), dim=1).to(dtype)
    torch.testing.assert_close(without, expected)


def test_cross_entropy_is_the_same_with_the_softmax_fallback(monkeypatch):
    generator = torch.Generator().manual_seed(1)
    query = torch.randn(40, 5, generator=generator, requires_grad=True)
    weights = torch.randn(30, 5, generator=generator, requires_grad=True)
    target = torch.randint(30, (40,), generator=generator)

    def loss_and_grads():
        query.grad = weights.grad = None
        loss = item_cross_entropy(query, weights, target, torch.bfloat16)
        loss.backward()
        return loss.detach(), query.grad.clone(), weights.grad.clone()

    expected = loss_and_grads()
    calls = []
    real = _torch_compat.softmax_in_place

    def counted(block):
        calls.append(block.shape)
        return real(block)

    monkeypatch.setattr(torch.ops.aten, "_softmax", SimpleNamespace())
    monkeypatch.setattr("skvaser.nn.softmax.softmax_in_place", counted)
    for got, want in zip(loss_and_grads(), expected):
        assert torch.equal(got, want)
    assert calls  # the blocked path (and so the fallback) ran


def _private_sklearn_imports(path):
    """``module.name`` of every private scikit-learn name that ``path`` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sklearn":
            private_module = any(part.startswith("_") for part in node.module.split("."))
            found += [
                f"{node.module}.{alias.name}"
                for alias in node.names
                if private_module or alias.name.startswith("_")
            ]
        elif isinstance(node, ast.Import):
            found += [
                alias.name
                for alias in node.names
                if alias.name.split(".")[0] == "sklearn"
                and any(part.startswith("_") for part in alias.name.split("."))
            ]
    return found


def test_only_one_module_imports_private_sklearn_names():
    package = Path(skvaser.__file__).parent
    shim = package / "_sklearn.py"
    assert "sklearn.utils._param_validation.Interval" in _private_sklearn_imports(shim)
    offenders = {
        str(path.relative_to(package)): names
        for path in sorted(package.rglob("*.py"))
        if path != shim and (names := _private_sklearn_imports(path))
    }
    assert offenders == {}
