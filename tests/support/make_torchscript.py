#!/usr/bin/python3
"""Writes the TorchScript files that tests/capture/torchscript_test.cpp and
tests/export/onnx_ort_test.cpp load.

Usage: make_torchscript.py OUTDIR [NAME...]

For each torchvision model of MODELS: OUTDIR/<name>_traced.pt (torch.jit.trace, eval mode) and
OUTDIR/<name>_scripted.pt (torch.jit.script), or only the forms SUITE_FORMS names. Given NAMEs (of
MODELS, EXTRA or SCRIPTED), writes both forms of those only; EXTRA models are written only when
named (scripts/check-torchvision-capture.sh names them). Weights are random (weights=None, nothing
is downloaded) but seeded; BatchNorm affine parameters are randomized and the running statistics are
moved by a few train-mode batches, so that neither is trivial. Also writes small scripted
modules: control_flow_scripted.pt (branches on a tensor's value and loops over the batch) and
batch_loop_scripted.pt (loops over the batch only), which capture must reject, and
mode_branch_scripted.pt (different layers in train and eval mode), which it must capture.

Idempotent: existing files are kept. Run by CTest as the `make_torchscript_models` fixture.
"""

import os
import sys
import time

import torch
import torchvision

# Spatial size of the example input; the C++ tests use the same (kExampleSize / the sizes listed
# with each model there).
SIZE = 32
# Models traced at another size. alexnet and vgg11_bn at 64: their adaptive average pooling goes
# from 1x1 to 6x6 and from 2x2 to 7x7 (an output larger than the input, not an even split);
# inception_v3 needs at least 75.
SIZES = {"alexnet": 64, "vgg11_bn": 64, "inception_v3": 75}
# name -> extra constructor arguments. googlenet returns (logits, None, None) when scripted;
# shufflenet's traced file turns sizes into tensors and back (prim::NumToTensor / aten::Int);
# mobilenet_v3_small has hardswish, hardsigmoid and squeeze-excitation multiplies;
# efficientnet_b0 scripted runs stochastic depth in training only; vit_tiny (a 2-layer
# VisionTransformer) scripted takes the fused attention fast path in eval only; swin_t indexes its
# relative position bias table (aten::index with a list of optional tensors).
MODELS = {
    "resnet18": {},
    "mobilenet_v2": {},
    "squeezenet1_1": {},
    "densenet121": {},
    "googlenet": {"aux_logits": False, "init_weights": False},
    "shufflenet_v2_x0_5": {},
    "mobilenet_v3_small": {},
    "efficientnet_b0": {},
    "vit_tiny": {},
    "swin_t": {},
    "alexnet": {},
    "vgg11_bn": {},
    "regnet_x_400mf": {},
    "mnasnet0_5": {},
    "inception_v3": {"aux_logits": False, "init_weights": False, "transform_input": True},
}
# Forms the suite uses of some models (both are written when the model is named): vgg11_bn's files
# are 500 MB each, alexnet's 230 MB.
SUITE_FORMS = {"vgg11_bn": ("traced",), "alexnet": ("traced",)}
# Written only when named: too slow for the suite, checked by scripts/check-torchvision-capture.sh.
EXTRA = {
    "convnext_tiny": {},
    "resnext50_32x4d": {},
}


def construct(name):
    if name == "vit_tiny":
        return torchvision.models.VisionTransformer(
            image_size=SIZE, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10)
    kwargs = MODELS[name] if name in MODELS else EXTRA[name]
    return getattr(torchvision.models, name)(weights=None, num_classes=10, **kwargs)


def build(name):
    size = SIZES.get(name, SIZE)
    torch.manual_seed(0)
    model = construct(name)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d) and m.affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
        model.train()
        for _ in range(3):
            model(torch.randn(4, 3, size, size))
    return model.eval()


class ControlFlow(torch.nn.Module):
    """Branches on a tensor's value and loops over the batch: no single trace describes it."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(3, 4, 1)

    def forward(self, x):
        if x.sum() > 0:
            y = self.a(x)
        else:
            y = self.b(x)
        for i in range(x.size(0)):
            y = y + x[i].mean()
        return y


class BatchLoop(torch.nn.Module):
    """Loops over the batch: traces at two batch sizes differ in length."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 1)

    def forward(self, x):
        y = self.conv(x)
        for i in range(x.size(0)):
            y = y + x[i].mean()
        return y


class ModeBranch(torch.nn.Module):
    """Runs different layers in train and eval mode: the train and eval traces differ."""

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(3, 4, 1)

    def forward(self, x):
        if self.training:
            return self.a(x)
        return self.b(x)


# Small scripted models: the first two capture must reject (RejectedModelTest), the last it must
# capture (TorchScriptModelTest).
SCRIPTED = {"control_flow": ControlFlow, "batch_loop": BatchLoop, "mode_branch": ModeBranch}


def save(module, path):
    tmp = path + ".tmp"
    module.save(tmp)
    os.replace(tmp, path)  # a half-written file never looks like a finished one


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: make_torchscript.py OUTDIR [NAME...]")
    outdir, names = sys.argv[1], sys.argv[2:]
    unknown = [n for n in names if n not in MODELS and n not in EXTRA and n not in SCRIPTED]
    if unknown:
        sys.exit("make_torchscript.py: unknown model(s) %s; known: %s"
                 % (", ".join(unknown), ", ".join(list(MODELS) + list(EXTRA) + list(SCRIPTED))))
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)

    def wanted(fname):
        path = os.path.join(outdir, fname)
        if os.path.exists(path):
            print("kept   ", path)
            return None
        return path

    for name in names or MODELS:
        if name in SCRIPTED:
            continue
        forms = ("traced", "scripted") if names else SUITE_FORMS.get(name, ("traced", "scripted"))
        traced = wanted(name + "_traced.pt") if "traced" in forms else None
        scripted = wanted(name + "_scripted.pt") if "scripted" in forms else None
        if not traced and not scripted:
            continue
        model = build(name)
        if traced:
            t0 = time.time()
            torch.manual_seed(1)
            size = SIZES.get(name, SIZE)
            save(torch.jit.trace(model, torch.randn(1, 3, size, size), check_trace=False), traced)
            print("wrote  ", traced, "(%.1f s)" % (time.time() - t0))
        if scripted:
            t0 = time.time()
            save(torch.jit.script(model), scripted)
            print("wrote  ", scripted, "(%.1f s)" % (time.time() - t0))

    for name, cls in SCRIPTED.items():
        if names and name not in names:
            continue
        path = wanted(name + "_scripted.pt")
        if path:
            torch.manual_seed(0)
            save(torch.jit.script(cls().eval()), path)
            print("wrote  ", path)


if __name__ == "__main__":
    main()
