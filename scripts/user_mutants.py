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
     "return req->map && req->obj && va->gem.obj == req->obj &&",
     "return req->map && va->gem.obj == req->obj &&"),
    ("a REMAP's next piece starts one byte late in the object",
     "rs->next.gem.offset = va->gem.offset + (end - start);",
     "rs->next.gem.offset = va->gem.offset + (end - start + 1);"),
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
     "\tdrm_gem_gpuva_assert_lock_held(obj);\n\tlist_del_init(&vm_bo->list.entry.gem);",
     "\tdma_resv_assert_held(obj->resv);\n\tlist_del_init(&vm_bo->list.entry.gem);"),
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
    for name, good, bad in MUTANTS:
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
    print(f"{killed} of {len(MUTANTS)} mutants caught")
    return 0 if killed == len(MUTANTS) else 1


if __name__ == "__main__":
    sys.exit(main())
