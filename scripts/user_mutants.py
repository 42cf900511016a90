#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Proves that tools/testing/gpuvm can fail: each mutant below is our
drm_gpuvm.c with one plausible bug, built in a scratch tree of symlinks
with the mutated file in place, and must make gpuvm_unit or a 10^6-operation
differential campaign fail. A surviving mutant fails the check.

    user_mutants.py <applied tree> <reference tree> <scratch dir>
"""
import os
import shutil
import subprocess
import sys

MUTANTS = [
    ("keep ignores the object",
     "if (!req->map || !req->obj || va->gem.obj != req->obj)",
     "if (!req->map || !req->obj)"),
    ("a piece of a plain mapping starts one byte late in the object",
     "(repeats ? 0 : from - va->va.addr);",
     "(repeats ? 0 : from - va->va.addr + 1);"),
    ("the last byte of the space refused",
     "end <= gpuvm->mm_start + gpuvm->mm_range;",
     "end < gpuvm->mm_start + gpuvm->mm_range;"),
    ("a request touching the reserved node refused",
     "return addr < gpuvm_va_end(kva) && kva->va.addr < end;",
     "return addr <= gpuvm_va_end(kva) && kva->va.addr < end;"),
    ("unlink keeps the vm_bo reference",
     "\tva->vm_bo = NULL;\n\tdrm_gpuvm_bo_put(vm_bo);",
     "\tva->vm_bo = NULL;"),
    ("external objects never listed",
     "\tif (drm_gpuvm_is_extobj(gpuvm, vm_bo->obj))\n\t\tgpuvm_list_add(",
     "\tif (0)\n\t\tgpuvm_list_add("),
    ("zero fence slots still reserve one",
     "\tif (!num_fences)\n\t\treturn drm_exec_lock_obj(exec, obj);",
     "\tif (!num_fences)\n\t\treturn drm_exec_prepare_obj(exec, obj, 1);"),
    ("an empty interval finds a mapping",
     "\tif (start >= end)\n\t\treturn NULL;",
     "\tif (start > end)\n\t\treturn NULL;"),
    ("fences go to external objects with the private usage",
     "\t\t\tusage = extobj_usage;\n", "\t\t\tusage = private_usage;\n"),
    ("no fence added",
     "\t\tdma_resv_add_fence(obj->resv, fence, usage);\n",
     "\t\tif (!fence)\n\t\t\tdma_resv_add_fence(obj->resv, fence, usage);\n"),
    ("eviction asks for the VM's dma-resv too",
     "\tdma_resv_assert_held(obj->resv);\n\n\tvm_bo->evicted = evict;",
     "\tdma_resv_assert_held(obj->resv);\n\tdrm_gpuvm_resv_assert_held(gpuvm);"
     "\n\n\tvm_bo->evicted = evict;"),
    ("the last put asserts the dma-resv, not the GEM's gpuva lock",
     "\tdrm_gpuvm_gem_assert_lock_held(gpuvm, vm_bo->obj);\n"
     "\tlist_del_init(&vm_bo->list.entry.gem);",
     "\tdma_resv_assert_held(vm_bo->obj->resv);\n"
     "\tlist_del_init(&vm_bo->list.entry.gem);"),
    # The request lock helpers, drm_gpuva_ops_exec_lock() and the advice
    # planner (FOP_REQ_LOCK and FOP_MADVISE of the fuzzer).
    ("ops_exec_lock passes over REMAP steps",
     "\t\tif (!obj)\n\t\t\tcontinue;\n\t\tret = gpuvm_exec_add_obj(exec, obj, num_fences);",
     "\t\tif (!obj || op->op == DRM_GPUVA_OP_REMAP)\n\t\t\tcontinue;\n"
     "\t\tret = gpuvm_exec_add_obj(exec, obj, num_fences);"),
    ("ops_exec_lock reserves no fence slots",
     "\t\tret = gpuvm_exec_add_obj(exec, obj, num_fences);\n\t\tif (ret)\n"
     "\t\t\treturn ret;\n\t}\n\treturn 0;\n}\nEXPORT_SYMBOL_GPL(drm_gpuva_ops_exec_lock);",
     "\t\tret = gpuvm_exec_add_obj(exec, obj, 0);\n\t\tif (ret)\n"
     "\t\t\treturn ret;\n\t}\n\treturn 0;\n}\nEXPORT_SYMBOL_GPL(drm_gpuva_ops_exec_lock);"),
    ("the request lock helpers pass over UNMAP steps",
     "\tif (op->op == DRM_GPUVA_OP_MAP)\n\t\treturn 0;\n\tobj = gpuvm_op_obj(op);",
     "\tif (op->op != DRM_GPUVA_OP_REMAP)\n\t\treturn 0;\n\tobj = gpuvm_op_obj(op);"),
    ("the request lock helpers pass over kept mappings",
     "\tif (op->op == DRM_GPUVA_OP_MAP)\n\t\treturn 0;\n\tobj = gpuvm_op_obj(op);",
     "\tif (op->op == DRM_GPUVA_OP_MAP ||\n\t    (op->op == DRM_GPUVA_OP_UNMAP && op->unmap.keep))"
     "\n\t\treturn 0;\n\tobj = gpuvm_op_obj(op);"),
    ("the request lock helpers reserve a slot on what they cut",
     "\treturn obj ? drm_exec_lock_obj(sink->exec, obj) : 0;",
     "\treturn obj ? drm_exec_prepare_obj(sink->exec, obj, 1) : 0;"),
    ("the map request's object locked without its fence slots",
     "\t\tret = gpuvm_exec_add_obj(exec, req->obj, num_fences);",
     "\t\tret = drm_exec_lock_obj(exec, req->obj);"),
    ("the map lock helper locks before checking the interval",
     "\tif (!gpuvm_sm_req_check(gpuvm, req))\n\t\treturn -EINVAL;\n"
     "\tif (req->map && req->obj) {\n"
     "\t\tret = gpuvm_exec_add_obj(exec, req->obj, num_fences);\n"
     "\t\tif (ret)\n\t\t\treturn ret;\n\t}\n",
     "\tif (req->map && req->obj) {\n"
     "\t\tret = gpuvm_exec_add_obj(exec, req->obj, num_fences);\n"
     "\t\tif (ret)\n\t\t\treturn ret;\n\t}\n"
     "\tif (!gpuvm_sm_req_check(gpuvm, req))\n\t\treturn -EINVAL;\n"),
    ("madvise's MAP at the old mapping's first offset",
     "\t\t       min(gpuvm_va_end(va), end));\n",
     "\t\t       min(gpuvm_va_end(va), end));\n"
     "\tmap.map.gem.offset = va->gem.offset;\n"),
    ("madvise skips the split at the start of the interval",
     "\tif (va->gem.obj || gpuvm_va_inside(va, addr, end))\n\t\treturn 0;",
     "\tif (va->gem.obj || gpuvm_va_inside(va, addr, end) ||\n"
     "\t    (va->va.addr < addr && gpuvm_va_end(va) <= end))\n\t\treturn 0;"),
    ("madvise splits mappings with an object too",
     "\tif (va->gem.obj || gpuvm_va_inside(va, addr, end))\n\t\treturn 0;",
     "\tif (gpuvm_va_inside(va, addr, end))\n\t\treturn 0;"),
    ("madvise puts the MAP before its REMAP",
     "\tret = gpuvm_ops_append(gpuvm, ops, &rs.op);\n\tif (ret)\n\t\treturn ret;\n"
     "\treturn gpuvm_ops_append(gpuvm, ops, &map);",
     "\tret = gpuvm_ops_append(gpuvm, ops, &map);\n\tif (ret)\n\t\treturn ret;\n"
     "\treturn gpuvm_ops_append(gpuvm, ops, &rs.op);"),
    ("madvise leaks its plan when an allocation fails",
     "\t\tret = gpuvm_madvise_split(gpuvm, ops, va, addr, addr + range);\n"
     "\t\tif (ret) {\n\t\t\tdrm_gpuva_ops_free(gpuvm, ops);",
     "\t\tret = gpuvm_madvise_split(gpuvm, ops, va, addr, addr + range);\n"
     "\t\tif (ret) {"),
    ("ops_exec_lock reads a driver's step as a MAP",
     "\tcase DRM_GPUVA_OP_PREFETCH:\n\t\treturn op->prefetch.va->gem.obj;\n\tdefault:\n\t\treturn NULL;",
     "\tcase DRM_GPUVA_OP_PREFETCH:\n\t\treturn op->prefetch.va->gem.obj;\n\tdefault:\n\t\treturn op->map.gem.obj;"),
    ("the request lock helpers swallow -EALREADY",
     "\treturn obj ? drm_exec_lock_obj(sink->exec, obj) : 0;",
     "\tif (obj && drm_exec_lock_obj(sink->exec, obj) == -EALREADY)\n\t\treturn 0;\n"
     "\treturn drm_exec_is_contended(sink->exec) ? -EDEADLK : 0;"),
    # Repeated mappings (the cases of the fuzzer with repeats, ours and
    # the model alone).
    ("a piece of a repeated mapping advances its offset",
     "(repeats ? 0 : from - va->va.addr);",
     "(from - va->va.addr);"),
    ("a piece of a repeated mapping loses the flag",
     "\tpiece->flags = repeats ? DRM_GPUVA_REPEAT : 0;",
     "\tpiece->flags = 0;"),
    ("a piece of a repeated mapping loses its repeat range",
     "\tpiece->repeat_range = repeats ? va->repeat_range : 0;",
     "\tpiece->repeat_range = 0;"),
    ("the MAP step of a repeated request drops the flag",
     "\t\t\t.map.flags = req->flags,\n",
     ""),
    ("keep of two repeated mappings ignores the phase",
     "\treturn gpuvm_repeat_whole(apart, req->repeat_range);",
     "\treturn gpuvm_repeat_whole(0 * apart, req->repeat_range);"),
    ("keep of two repeated mappings ignores the offset",
     "\tif (!gpuvm_va_repeats(va) || va->gem.offset != req->offset ||",
     "\tif (!gpuvm_va_repeats(va) ||"),
    ("a plain request keeps a repeated mapping",
     "\t\treturn !gpuvm_va_repeats(va) &&\n\t\t       va->gem.offset - va->va.addr",
     "\t\treturn\n\t\t       va->gem.offset - va->va.addr"),
    ("the cut check disabled",
     "\treturn gpuvm_repeat_whole(at - va->va.addr, va->repeat_range);",
     "\treturn true;"),
    ("the end of a request checked against the first mapping only",
     "\t       gpuvm_repeat_cut_ok(last, req->end);",
     "\t       gpuvm_repeat_cut_ok(req->first, req->end);"),
    ("a repeated request need not be whole repeats",
     "\t       gpuvm_repeat_shape_ok(req->range, req->repeat_range) &&\n",
     "\t       req->repeat_range &&\n"),
    ("a foreign flag beside DRM_GPUVA_REPEAT accepted",
     "\tif (req->flags != DRM_GPUVA_REPEAT)\n\t\treturn !req->flags;",
     "\tif (!(req->flags & DRM_GPUVA_REPEAT))\n\t\treturn !req->flags;"),
    ("a foreign flag alone accepted",
     "\tif (req->flags != DRM_GPUVA_REPEAT)\n\t\treturn !req->flags;",
     "\tif (req->flags != DRM_GPUVA_REPEAT)\n\t\treturn !(req->flags & DRM_GPUVA_REPEAT);"),
    ("the GEM range may end past the object",
     "\t       gem_end <= req->obj->size;",
     "\t       req->offset < req->obj->size;"),
    ("offset + repeat range may overflow",
     "\t       !check_add_overflow(req->offset, req->repeat_range, &gem_end) &&",
     "\t       (gem_end = req->offset + req->repeat_range, true) &&"),
    ("the lock helpers let any repeated request through",
     "\tif (!gpuvm_sm_req_check(gpuvm, req))\n\t\treturn -EINVAL;\n\tif (req->map && req->obj) {",
     "\tif (!gpuvm_sm_req_check(gpuvm, req) && !(req->flags & DRM_GPUVA_REPEAT))\n"
     "\t\treturn -EINVAL;\n\tif (req->map && req->obj) {"),
    ("a refused plan allocates its list first",
     "\tif (!gpuvm_sm_req_check(gpuvm, req))\n\t\treturn ERR_PTR(-EINVAL);\n"
     "\tsink.ops = gpuvm_ops_new();\n\tif (!sink.ops)\n\t\treturn ERR_PTR(-ENOMEM);\n",
     "\tsink.ops = gpuvm_ops_new();\n\tif (!sink.ops)\n\t\treturn ERR_PTR(-ENOMEM);\n"
     "\tif (!gpuvm_sm_req_check(gpuvm, req)) {\n\t\tdrm_gpuva_ops_free(gpuvm, sink.ops);\n"
     "\t\treturn ERR_PTR(-EINVAL);\n\t}\n"),
]


def scratch_tree(src, scratch):
    tree = os.path.join(scratch, "tree")
    shutil.rmtree(tree, ignore_errors=True)
    drm = os.path.join(tree, "drivers/gpu/drm")
    os.makedirs(drm)
    for name in ("include", "tools"):
        os.symlink(os.path.join(src, name), os.path.join(tree, name))
    for name in ("tests", "drm_gpuvm_internal.h"):
        os.symlink(os.path.join(src, "drivers/gpu/drm", name),
                   os.path.join(drm, name))
    return tree


def main():
    src, ref, scratch = (os.path.abspath(a) for a in sys.argv[1:4])
    tree = scratch_tree(src, scratch)
    out = os.path.join(scratch, "out")
    with open(os.path.join(src, "drivers/gpu/drm/drm_gpuvm.c")) as f:
        library = f.read()
    killed = 0
    only = os.environ.get("MUTANT_FILTER")
    mutants = [m for m in MUTANTS
               if not only or any(w in m[0] for w in only.split("|"))]
    for name, good, bad in mutants:
        if library.count(good) != 1:
            print(f"FAIL mutant '{name}': its line is not in drm_gpuvm.c "
                  "once; update scripts/user_mutants.py")
            continue
        with open(os.path.join(tree, "drivers/gpu/drm/drm_gpuvm.c"), "w") as f:
            f.write(library.replace(good, bad))
        shutil.rmtree(out, ignore_errors=True)
        build = subprocess.run(
            ["make", "-s", "-C", os.path.join(src, "tools/testing/gpuvm"),
             f"TREE={tree}", f"REF={ref}", f"O={out}", "all"],
            capture_output=True, text=True)
        verdict = None
        if build.returncode:
            print(f"FAIL mutant '{name}' does not build: fix the mutant")
            continue
        else:
            for cmd in (["gpuvm_unit"], ["gpuvm_fuzz", "-n", "1000000"]):
                run = subprocess.run([os.path.join(out, cmd[0])] + cmd[1:],
                                     capture_output=True, text=True)
                if run.returncode:
                    why = [l for l in (run.stderr + run.stdout).splitlines()
                           if "difference after" in l or "FAIL" in l or
                           "assertion" in l or "ERROR" in l]
                    verdict = cmd[0] + (": " + why[0] if why else "")
                    break
        if verdict:
            killed += 1
            print(f"PASS mutant '{name}' caught by {verdict}")
        else:
            print(f"FAIL mutant '{name}' survived")
    print(f"{killed} of {len(mutants)} mutants caught")
    return 0 if killed == len(mutants) else 1


if __name__ == "__main__":
    sys.exit(main())
