// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * KUnit replays of the in-tree GPUVM callers.
 *
 * Each case replays one driver's GPUVM calls the way the driver's source
 * in this tree makes them: the same structure layout (what is embedded
 * where), the same initialisers (fields the driver leaves unset stay
 * unset), the same flags, locks and order, down to teardown. Only the
 * hardware is left out (page tables, firmware, TTM placement). Every step
 * names the driver function it replays; the table below maps each GPUVM
 * call site of the drivers to the case that replays it.
 *
 * The cases use only the 6.12 API, so they also run against the base
 * tree's own GPUVM (make kunit-base), where they must pass as well.
 *
 * Call sites replayed (driver function: GPUVM calls, in the case named):
 *
 * imagination, pvr_vm.c (drm_test_gpuvm_replay_pvr):
 *   pvr_vm_create_context: drm_gem_private_object_init(dummy_gem),
 *	drm_gpuvm_init(flags 0, r_obj = embedded dummy_gem, [0, 1 << 40))
 *   pvr_vm_bind_op_map_init: drm_gpuvm_range_valid, drm_gpuvm_bo_obtain
 *	under the object's dma-resv only
 *   pvr_vm_map, pvr_vm_unmap_obj_locked: drm_gpuvm_exec_lock (initialiser
 *	without .num_fences, INTERRUPTIBLE_WAIT | IGNORE_DUPLICATES, extra.fn
 *	= drm_exec_lock_obj of the object), drm_gpuvm_sm_map / sm_unmap,
 *	drm_gpuvm_exec_unlock
 *   pvr_vm_gpuva_map: drm_gpuva_map, drm_gpuva_link
 *   pvr_vm_gpuva_remap: drm_gpuva_op_remap_to_unmap_range,
 *	drm_gpuva_remap (pointers of consumed pieces are NULL),
 *	drm_gpuva_link of prev/next, drm_gpuva_unlink, kfree of the old va
 *   pvr_vm_gpuva_unmap: drm_gpuva_unmap, drm_gpuva_unlink, kfree
 *   pvr_vm_bind_op_fini: drm_gpuvm_bo_put (NULL for an unmap), no lock
 *   pvr_vm_unmap: drm_gpuva_find (exact), -ENOENT otherwise
 *   pvr_vm_unmap_all: drm_gpuva_find_first(mm_start, mm_range) loop
 *   pvr_vm_find_gem_object: drm_gpuva_find_first(addr, 1)
 *   pvr_vm_context_release: unmap all, drm_gem_private_object_fini
 *	(dummy_gem), drm_gpuvm_put, vm_free = kfree of the context
 *
 * panthor, panthor_mmu.c and panthor_gem.c (drm_test_gpuvm_replay_panthor):
 *   panthor_gem_create_object: drm_gem_gpuva_set_lock(gpuva_list_lock)
 *   panthor_vm_create: drm_gpuvm_resv_object_alloc,
 *	drm_gpuvm_init(DRM_GPUVM_RESV_PROTECTED), drm_gem_object_put(r_obj)
 *   panthor_vm_prepare_map_op_ctx: drm_gpuvm_bo_create (no lock),
 *	drm_gpuvm_bo_obtain_prealloc (VM resv + gpuva_list_lock),
 *	drm_gpuvm_bo_extobj_add (VM resv)
 *   panthor_vm_bind_job_prepare_resvs / _update_resvs:
 *	drm_gpuvm_prepare_vm(.., 1), drm_exec_prepare_obj(bo, 1),
 *	drm_gpuvm_resv_add_fence(BOOKKEEP, BOOKKEEP)
 *   panthor_vm_exec_op: drm_gpuvm_sm_map / drm_gpuvm_sm_unmap with priv =
 *	the VM; for an async job (panthor_vm_bind_run_job, which holds a VM
 *	reference) inside dma_fence_begin_signalling(), else plainly
 *   panthor_gpuva_sm_step_map: drm_gpuva_map, panthor_vma_link
 *	(drm_gpuva_link, drm_gpuvm_bo_put that must not free)
 *   panthor_gpuva_sm_step_remap: drm_gpuva_op_remap_to_unmap_range,
 *	drm_gpuva_remap(prev or NULL, next or NULL), links with
 *	drm_gpuvm_bo_get(old vm_bo), panthor_vma_unlink
 *   panthor_gpuva_sm_step_unmap: drm_gpuva_unmap, panthor_vma_unlink
 *	(drm_gpuvm_bo_get, drm_gpuva_unlink, va->vm_bo restored)
 *   panthor_vm_cleanup_op_ctx / panthor_vm_bo_put: drm_gpuvm_get, VM resv
 *	+ gpuva_list_lock, drm_gpuvm_bo_put (its result), drm_gpuvm_put
 *   panthor_vm_get_bo_for_va: drm_gpuva_find_first(va, 1)
 *   panthor_vm_prepare_mapped_bos_resvs (group submit):
 *	drm_gpuvm_prepare_vm, drm_gpuvm_prepare_objects without a retry of
 *	their own; panthor_job_update_resvs: drm_gpuvm_resv_add_fence
 *   panthor_vm_destroy: unmap of [mm_start, mm_start + mm_range), put
 *
 * xe, xe_vm.c, xe_exec.c and xe_bo.c (drm_test_gpuvm_replay_xe):
 *   xe_vm_create: drm_gpuvm_resv_object_alloc,
 *	drm_gpuvm_init(DRM_GPUVM_RESV_PROTECTED), drm_gem_object_put(r_obj);
 *	op_alloc = kzalloc of struct xe_vma_op, no op_free
 *   xe_vm_get / xe_vm_put (a VM-private BO's bo->vm, the ioctl's
 *	lookup), xe_vm_resv; vm->lock and vm->snap_mutex where xe takes them
 *   vm_bind_ioctl_ops_create: drm_gpuvm_sm_map_ops_create,
 *	drm_gpuvm_sm_unmap_ops_create, drm_gpuvm_prefetch_ops_create, and
 *	for UNMAP_ALL drm_gpuvm_bo_obtain + drm_gpuvm_bo_unmap_ops_create +
 *	drm_gpuvm_bo_put under the BO's resv only
 *   new_vma / xe_vma_create: drm_gpuvm_bo_obtain(vma->gpuva.vm),
 *	drm_gpuvm_bo_extobj_add, drm_gpuva_link before insertion,
 *	drm_gpuvm_bo_put
 *   xe_vma_op_commit / prep_vma_destroy: XE_VMA_DESTROYED set, then
 *	drm_gpuva_insert / drm_gpuva_remove directly, the old VA of a REMAP
 *	rewritten to the hole afterwards
 *   vm_bind_ioctl_ops_lock_and_prep: drm_exec_lock_obj of the VM and
 *	of external BOs only
 *   vm_bind_ioctl_ops_fini / xe_vma_destroy: drm_gpuva_unlink
 *   xe_vm_bind_ioctl: drm_gpuva_ops_free after the old VAs are freed
 *   xe_bo_trigger_rebind: drm_gem_for_each_gpuvm_bo,
 *	drm_gpuvm_bo_evict(vm_bo, true) under the BO's resv only
 *   xe_exec_ioctl: drm_gpuvm_exec_lock ({.extra.fn} initialiser, .vm and
 *	.flags set after, no .num_fences), drm_gpuvm_resv_add_fence,
 *	drm_exec_fini
 *   xe_exec_fn / xe_vm_validate_rebind / xe_gpuvm_validate:
 *	drm_gpuvm_validate until the evicted list is empty, the callback
 *	clearing vm_bo->evicted by hand, drm_gpuvm_bo_for_each_va
 *   xe_vm_bump_lru: drm_gpuvm_is_extobj under a spinlock
 *   xe_vm_add_compute_exec_queue: drm_gpuvm_exec_lock (.num_fences = 1),
 *	drm_gpuvm_resv_add_fence, drm_exec_fini
 *   xe_preempt_work_begin: drm_gpuvm_prepare_vm(.., 0),
 *	drm_gpuvm_prepare_objects(.., 0); resume_and_reinstall_preempt_fences:
 *	drm_gpuvm_resv_add_fence
 *   xe_vm_find_overlapping_vma: drm_gpuva_find_first
 *   xe_vm_close_and_put: drm_gpuvm_for_each_va_safe + drm_gpuva_remove
 *	under the VM's resv; private VMAs unlinked there, external ones after
 *	(xe_vma_destroy_unlocked)
 *   Not replayed: the fault-mode walk of xe_bo_trigger_rebind, the
 *   eviction check of xe_bo_move, vm_bind_ioctl_ops_unwind and the error
 *   path of new_vma, userptr and NULL (sparse) bindings,
 *   xe_vm_snapshot_capture (a plain drm_gpuvm_for_each_va), UNMAP_ALL
 *   of a BO never bound in the VM (its vm_bo is created and destroyed
 *   with only the BO's resv held, which lockdep reports in both
 *   implementations), LR-mode exec.
 *
 * nouveau, nouveau_uvmm.c, nouveau_exec.c and nouveau_bo.c
 * (drm_test_gpuvm_replay_nouveau):
 *   nouveau_uvmm_ioctl_vm_init: drm_gpuvm_resv_object_alloc,
 *	drm_gpuvm_init(flags 0, kernel-managed interval), put of r_obj
 *   nouveau_gem_new (NO_SHARE): drm_gpuvm_resv, drm_gpuvm_resv_obj
 *   nouveau_uvmm_validate_range (every op): drm_gpuvm_range_valid
 *   nouveau_uvma_region_create (OP_MAP_SPARSE, also refused over mapped
 *	space), nouveau_uvma_region_empty: drm_gpuvm_interval_empty
 *   nouveau_uvmm_bind_job_submit (client sched mutex held): the GEM
 *	looked up, drm_gpuvm_bo_obtain under the BO's resv,
 *	drm_gpuvm_bo_extobj_add with no lock, then under the uvmm mutex
 *	drm_gpuvm_sm_map_ops_create / drm_gpuvm_sm_unmap_ops_create, and on
 *	failure the unwind (nouveau_uvmm_sm_prepare_unwind:
 *	drm_gpuva_last_op, drm_gpuva_for_each_op_from_reverse, GEM put then
 *	drm_gpuva_remove of never-linked VAs, drm_gpuva_insert(va->vm, va)
 *	of removed ones) and drm_gpuva_ops_free
 *   nouveau_uvmm_sm_prepare: drm_gpuva_map, drm_gpuva_unmap (tree only)
 *   bind_lock_validate: drm_gpuva_for_each_op, the ops' objects locked
 *	with vme->num_fences (1) in vme->exec
 *   bind_link_gpuvas: drm_gpuva_link of new VAs, of REMAP pieces to the
 *	old VA's vm_bo, drm_gpuva_unlink
 *   nouveau_uvmm_bind_job_armed_submit: drm_gpuvm_exec_resv_add_fence
 *	(BOOKKEEP), drm_gpuvm_exec_unlock
 *   nouveau_uvmm_bind_job_cleanup: old VAs freed, drm_gpuva_ops_free,
 *	drm_gpuvm_bo_put under the BO's resv
 *   nouveau_uvmm_bind_job_run / nouveau_uvmm_sm: drm_gpuva_for_each_op,
 *	drm_gpuva_invalidated of each step's mapping (op_map,
 *	op_unmap_range), unmap.keep
 *   nouveau_bo_move: drm_gpuvm_bo_gem_evict; nouveau_uvmm_bo_unmap_all /
 *	map_all: drm_gem_for_each_gpuvm_bo, drm_gpuvm_bo_for_each_va,
 *	drm_gpuva_invalidate
 *   nouveau_exec_job_submit: drm_gpuvm_exec_lock (.num_fences = 1,
 *	IGNORE_DUPLICATES), drm_gpuvm_exec_validate (the move-in calls
 *	drm_gpuvm_bo_gem_evict(obj, false) inside the walk),
 *	drm_gpuvm_exec_resv_add_fence (WRITE), drm_gpuvm_exec_unlock
 *   nouveau_uvmm_fini: drm_gpuvm_for_each_va_safe (reserved node
 *	skipped), drm_gpuva_remove, drm_gpuva_unlink under the BO's resv,
 *	drm_gpuvm_put under the client mutex
 *   Not replayed: drm_gpuvm_exec_unlock() on the unwind path before the
 *   job's drm_exec was initialised (nouveau_uvmm.c:1440; that is
 *   drm_exec_fini() on an all-zero context, drm_exec's business, not a
 *   GPUVM call), the internal unwind of nouveau_uvmm_sm_prepare
 *   (drm_gpuva_first_op, drm_gpuva_prev_op) and its forward walk that
 *   releases page tables, a BO moved during bind_lock_validate,
 *   nouveau_gem_object_open's resv comparison, nouveau_debugfs_gpuva
 *   (drm_debugfs_gpuva_info() is covered by drm_test_gpuvm_debugfs_info),
 *   the error path of vm_init.
 *
 * Also not replayed in panthor: panthor_vm_put(NULL) (drm_gpuvm_put(NULL)
 * is a no-op in both implementations), show_vm_gpuvas, the failure path
 * of sm_step_map, the kernel-BO map and unmap paths.
 */

#include <kunit/test.h>

#include <linux/dma-fence.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_exec.h>
#include <drm/drm_gem.h>
#include <drm/drm_gpuvm.h>
#include <drm/drm_kunit_helpers.h>

#define SZ_PAGE 0x1000ull

/* ---- Fixture ------------------------------------------------------------- */

/*
 * A device with the features the four drivers set (DRIVER_GEM and
 * DRIVER_GEM_GPUVA), and counters of what each replay allocated.
 */
struct replay {
	struct kunit *test;
	struct drm_device *drm;
	unsigned int dev_refs;
	int bos_live;
	int vas_live;
	bool vm_freed;
};

/* The driver callbacks get no context pointer: one case runs at a time. */
static struct replay *rp;

/* A buffer object: a GEM object embedded in a driver structure. */
struct replay_bo {
	struct drm_gem_object base;
	/* panthor: the lock registered with drm_gem_gpuva_set_lock(). */
	struct mutex gpuva_list_lock;
	/*
	 * A VM-private BO's reference on the VM's root object (panthor's
	 * exclusive_vm_root_gem, nouveau's r_obj), dropped when the BO is
	 * freed: before its release as nouveau_bo_del_ttm() does, or after
	 * as panthor_gem_free_object() does.
	 */
	struct drm_gem_object *root_ref;
	bool put_root_first;
	/* xe: a VM-private user BO's reference on its VM (bo->vm). */
	struct drm_gpuvm *vm;
};

static void replay_bo_free(struct drm_gem_object *obj)
{
	struct replay_bo *bo = container_of(obj, struct replay_bo, base);

	if (bo->root_ref && bo->put_root_first)
		drm_gem_object_put(bo->root_ref);
	drm_gem_object_release(obj);
	mutex_destroy(&bo->gpuva_list_lock);
	if (bo->root_ref && !bo->put_root_first)
		drm_gem_object_put(bo->root_ref);
	if (bo->vm)
		drm_gpuvm_put(bo->vm);
	rp->bos_live--;
	kfree(bo);
}

static const struct drm_gem_object_funcs replay_bo_funcs = {
	.free = replay_bo_free,
};

/* A BO of @size bytes with its own dma-resv, or using @resv (VM-private). */
static struct replay_bo *replay_bo_new(struct replay *r, u64 size,
				       struct dma_resv *resv)
{
	struct replay_bo *bo = kzalloc(sizeof(*bo), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(r->test, bo);
	bo->base.funcs = &replay_bo_funcs;
	drm_gem_private_object_init(r->drm, &bo->base, size);
	mutex_init(&bo->gpuva_list_lock);
	if (resv)
		bo->base.resv = resv;
	r->bos_live++;
	return bo;
}

static int replay_init(struct kunit *test)
{
	struct replay *r;
	struct device *dev;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	r->test = test;
	test->priv = r;
	rp = r;

	dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	r->drm = __drm_kunit_helper_alloc_drm_device(test, dev,
						     sizeof(*r->drm), 0,
						     DRIVER_GEM |
						     DRIVER_GEM_GPUVA);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, r->drm);
	r->dev_refs = kref_read(&r->drm->ref);
	return 0;
}

/* What every replay must leave behind: nothing. */
static void replay_exit(struct kunit *test)
{
	struct replay *r = test->priv;

	KUNIT_EXPECT_EQ_MSG(test, r->bos_live, 0, "buffer objects leaked");
	KUNIT_EXPECT_EQ_MSG(test, r->vas_live, 0, "mappings leaked");
	KUNIT_EXPECT_EQ_MSG(test, kref_read(&r->drm->ref), r->dev_refs,
			    "device references left");
	rp = NULL;
}

/* The mappings of a VM, reserved node excluded, as (addr, range, obj). */
struct replay_map {
	u64 addr;
	u64 range;
	struct drm_gem_object *obj;
	u64 offset;
};

static void replay_space_is(struct kunit *test, struct drm_gpuvm *gpuvm,
			    const struct replay_map *exp, unsigned int n)
{
	struct drm_gpuva *va;
	unsigned int i = 0;

	drm_gpuvm_for_each_va(va, gpuvm) {
		if (va == &gpuvm->kernel_alloc_node)
			continue;
		if (i < n) {
			KUNIT_EXPECT_EQ_MSG(test, va->va.addr, exp[i].addr,
					    "mapping %u", i);
			KUNIT_EXPECT_EQ_MSG(test, va->va.range, exp[i].range,
					    "mapping %u", i);
			KUNIT_EXPECT_PTR_EQ_MSG(test, va->gem.obj, exp[i].obj,
						"mapping %u", i);
			KUNIT_EXPECT_EQ_MSG(test, va->gem.offset,
					    exp[i].offset, "mapping %u", i);
			if (va->gem.obj)
				KUNIT_EXPECT_PTR_EQ_MSG(test, va->vm_bo ?
							va->vm_bo->obj : NULL,
							va->gem.obj,
							"mapping %u link", i);
		}
		i++;
	}
	KUNIT_EXPECT_EQ(test, i, n);
}

/* ---- imagination -------------------------------------------------------- */

/* struct pvr_vm_context: the root object is embedded, last. */
struct pvr_like_vm_context {
	struct drm_gpuvm gpuvm_mgr;
	/* Serialises binds, as vm_ctx->lock does. */
	struct mutex lock;
	struct drm_gem_object dummy_gem;
};

/* struct pvr_vm_gpuva: base first, kzalloc'd. */
struct pvr_like_gpuva {
	struct drm_gpuva base;
};

/* struct pvr_vm_bind_op, zero-initialised on the stack. */
struct pvr_like_bind_op {
	bool map;
	struct drm_gem_object *obj;
	struct drm_gpuvm_bo *gpuvm_bo;
	struct pvr_like_gpuva *new_va;
	struct pvr_like_gpuva *prev_va;
	struct pvr_like_gpuva *next_va;
	struct pvr_like_vm_context *vm_ctx;
	u64 offset;
	u64 device_addr;
	u64 size;
};

static void pvr_like_gpuvm_free(struct drm_gpuvm *gpuvm)
{
	struct pvr_like_vm_context *vm_ctx =
		container_of(gpuvm, struct pvr_like_vm_context, gpuvm_mgr);

	/* pvr_gpuvm_free(): the device must still be held here. */
	KUNIT_EXPECT_EQ(rp->test, kref_read(&rp->drm->ref), rp->dev_refs + 1);
	rp->vm_freed = true;
	kfree(vm_ctx);
}

static struct pvr_like_gpuva *pvr_like_va_alloc(void)
{
	struct pvr_like_gpuva *va = kzalloc(sizeof(*va), GFP_KERNEL);

	if (va)
		rp->vas_live++;
	return va;
}

static void pvr_like_va_free(struct pvr_like_gpuva *va)
{
	if (va)
		rp->vas_live--;
	kfree(va);
}

/* pvr_vm_gpuva_map() */
static int pvr_like_gpuva_map(struct drm_gpuva_op *op, void *op_ctx)
{
	struct pvr_like_bind_op *ctx = op_ctx;

	drm_gpuva_map(&ctx->vm_ctx->gpuvm_mgr, &ctx->new_va->base, &op->map);
	drm_gpuva_link(&ctx->new_va->base, ctx->gpuvm_bo);
	ctx->new_va = NULL;
	return 0;
}

/* pvr_vm_gpuva_unmap() */
static int pvr_like_gpuva_unmap(struct drm_gpuva_op *op, void *op_ctx)
{
	drm_gpuva_unmap(&op->unmap);
	drm_gpuva_unlink(op->unmap.va);
	pvr_like_va_free(container_of(op->unmap.va, struct pvr_like_gpuva,
				      base));
	return 0;
}

/* pvr_vm_gpuva_remap() */
static int pvr_like_gpuva_remap(struct drm_gpuva_op *op, void *op_ctx)
{
	struct drm_gpuvm_bo *vm_bo = op->remap.unmap->va->vm_bo;
	struct pvr_like_bind_op *ctx = op_ctx;
	u64 va_start = 0, va_range = 0;

	drm_gpuva_op_remap_to_unmap_range(&op->remap, &va_start, &va_range);
	KUNIT_EXPECT_GT(rp->test, va_range, 0);

	/* base is the first member: a consumed piece passes NULL. */
	drm_gpuva_remap(ctx->prev_va ? &ctx->prev_va->base : NULL,
			ctx->next_va ? &ctx->next_va->base : NULL, &op->remap);

	if (op->remap.prev) {
		drm_gpuva_link(&ctx->prev_va->base, vm_bo);
		ctx->prev_va = NULL;
	}
	if (op->remap.next) {
		drm_gpuva_link(&ctx->next_va->base, vm_bo);
		ctx->next_va = NULL;
	}

	drm_gpuva_unlink(op->remap.unmap->va);
	pvr_like_va_free(container_of(op->remap.unmap->va,
				      struct pvr_like_gpuva, base));
	return 0;
}

static const struct drm_gpuvm_ops pvr_like_gpuva_ops = {
	.vm_free = pvr_like_gpuvm_free,
	.sm_step_map = pvr_like_gpuva_map,
	.sm_step_remap = pvr_like_gpuva_remap,
	.sm_step_unmap = pvr_like_gpuva_unmap,
};

/* pvr_vm_create_context() */
static struct pvr_like_vm_context *pvr_like_create_context(struct replay *r)
{
	struct pvr_like_vm_context *vm_ctx;

	vm_ctx = kzalloc(sizeof(*vm_ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(r->test, vm_ctx);
	drm_gem_private_object_init(r->drm, &vm_ctx->dummy_gem, 0);
	drm_gpuvm_init(&vm_ctx->gpuvm_mgr, "PowerVR-user-VM", 0, r->drm,
		       &vm_ctx->dummy_gem, 0, 1ULL << 40, 0, 0,
		       &pvr_like_gpuva_ops);
	mutex_init(&vm_ctx->lock);
	return vm_ctx;
}

/* pvr_vm_lock_extra() */
static int pvr_like_lock_extra(struct drm_gpuvm_exec *vm_exec)
{
	struct pvr_like_bind_op *bind_op = vm_exec->extra.priv;

	return drm_exec_lock_obj(&vm_exec->exec, bind_op->obj);
}

/* pvr_vm_bind_op_fini() */
static void pvr_like_bind_op_fini(struct pvr_like_bind_op *bind_op)
{
	drm_gpuvm_bo_put(bind_op->gpuvm_bo);
	pvr_like_va_free(bind_op->new_va);
	pvr_like_va_free(bind_op->prev_va);
	pvr_like_va_free(bind_op->next_va);
	if (bind_op->obj)
		drm_gem_object_put(bind_op->obj);
}

/* pvr_device_addr_and_size_are_valid(), as far as GPUVM takes part. */
static bool pvr_like_addr_and_size_valid(struct pvr_like_vm_context *vm_ctx,
					 u64 device_addr, u64 size)
{
	return drm_gpuvm_range_valid(&vm_ctx->gpuvm_mgr, device_addr, size) &&
	       size != 0;
}

/* pvr_vm_bind_op_exec() */
static int pvr_like_bind_op_exec(struct pvr_like_bind_op *bind_op)
{
	struct drm_gpuvm *gpuvm = &bind_op->vm_ctx->gpuvm_mgr;

	if (bind_op->map)
		return drm_gpuvm_sm_map(gpuvm, bind_op, bind_op->device_addr,
					bind_op->size, bind_op->obj,
					bind_op->offset);
	return drm_gpuvm_sm_unmap(gpuvm, bind_op, bind_op->device_addr,
				  bind_op->size);
}

/*
 * What pvr_vm_map() and pvr_vm_unmap_obj_locked() both do once the bind
 * op is prepared: the same drm_gpuvm_exec initialiser (no .num_fences),
 * lock, execute, unlock. Each caller then runs pvr_vm_bind_op_fini().
 */
static int pvr_like_bind_op_lock_exec(struct pvr_like_bind_op *bind_op)
{
	struct drm_gpuvm_exec vm_exec = {
		.vm = &bind_op->vm_ctx->gpuvm_mgr,
		.flags = DRM_EXEC_INTERRUPTIBLE_WAIT |
			 DRM_EXEC_IGNORE_DUPLICATES,
		.extra = {
			.fn = pvr_like_lock_extra,
			.priv = bind_op,
		},
	};
	int err;

	err = drm_gpuvm_exec_lock(&vm_exec);
	if (err)
		return err;
	err = pvr_like_bind_op_exec(bind_op);
	drm_gpuvm_exec_unlock(&vm_exec);
	return err;
}

/* pvr_vm_bind_op_map_init() + pvr_vm_map() */
static int pvr_like_map(struct pvr_like_vm_context *vm_ctx,
			struct drm_gem_object *obj, u64 offset,
			u64 device_addr, u64 size)
{
	struct pvr_like_bind_op bind_op = {0};
	int err;

	if (!pvr_like_addr_and_size_valid(vm_ctx, device_addr, size))
		return -EINVAL;

	bind_op.map = true;
	dma_resv_lock(obj->resv, NULL);
	bind_op.gpuvm_bo = drm_gpuvm_bo_obtain(&vm_ctx->gpuvm_mgr, obj);
	dma_resv_unlock(obj->resv);
	if (IS_ERR(bind_op.gpuvm_bo))
		return PTR_ERR(bind_op.gpuvm_bo);

	bind_op.new_va = pvr_like_va_alloc();
	bind_op.prev_va = pvr_like_va_alloc();
	bind_op.next_va = pvr_like_va_alloc();
	if (!bind_op.new_va || !bind_op.prev_va || !bind_op.next_va) {
		pvr_like_bind_op_fini(&bind_op);
		return -ENOMEM;
	}
	drm_gem_object_get(obj);
	bind_op.obj = obj;
	bind_op.vm_ctx = vm_ctx;
	bind_op.device_addr = device_addr;
	bind_op.size = size;
	bind_op.offset = offset;

	mutex_lock(&vm_ctx->lock);
	err = pvr_like_bind_op_lock_exec(&bind_op);
	mutex_unlock(&vm_ctx->lock);
	pvr_like_bind_op_fini(&bind_op);
	return err;
}

/* pvr_vm_bind_op_unmap_init() + pvr_vm_unmap_obj_locked() */
static int pvr_like_unmap_obj_locked(struct pvr_like_vm_context *vm_ctx,
				     struct drm_gem_object *obj,
				     u64 device_addr, u64 size)
{
	struct pvr_like_bind_op bind_op = {0};
	int err;

	if (!pvr_like_addr_and_size_valid(vm_ctx, device_addr, size))
		return -EINVAL;

	bind_op.prev_va = pvr_like_va_alloc();
	bind_op.next_va = pvr_like_va_alloc();
	if (!bind_op.prev_va || !bind_op.next_va) {
		pvr_like_bind_op_fini(&bind_op);
		return -ENOMEM;
	}
	drm_gem_object_get(obj);
	bind_op.obj = obj;
	bind_op.vm_ctx = vm_ctx;
	bind_op.device_addr = device_addr;
	bind_op.size = size;

	err = pvr_like_bind_op_lock_exec(&bind_op);
	/* gpuvm_bo is NULL for an unmap: drm_gpuvm_bo_put(NULL). */
	pvr_like_bind_op_fini(&bind_op);
	return err;
}

/* pvr_vm_unmap() */
static int pvr_like_unmap(struct pvr_like_vm_context *vm_ctx,
			  u64 device_addr, u64 size)
{
	struct drm_gpuva *va;
	int err;

	mutex_lock(&vm_ctx->lock);
	va = drm_gpuva_find(&vm_ctx->gpuvm_mgr, device_addr, size);
	if (va)
		err = pvr_like_unmap_obj_locked(vm_ctx, va->gem.obj,
						va->va.addr, va->va.range);
	else
		err = -ENOENT;
	mutex_unlock(&vm_ctx->lock);
	return err;
}

/* pvr_vm_unmap_all() */
static void pvr_like_unmap_all(struct pvr_like_vm_context *vm_ctx)
{
	mutex_lock(&vm_ctx->lock);
	for (;;) {
		struct drm_gpuva *va;

		va = drm_gpuva_find_first(&vm_ctx->gpuvm_mgr,
					  vm_ctx->gpuvm_mgr.mm_start,
					  vm_ctx->gpuvm_mgr.mm_range);
		if (!va)
			break;
		KUNIT_EXPECT_EQ(rp->test,
				pvr_like_unmap_obj_locked(vm_ctx, va->gem.obj,
							  va->va.addr,
							  va->va.range), 0);
	}
	mutex_unlock(&vm_ctx->lock);
}

#define PVR_HEAP 0x8000000000ULL	/* ROGUE_GENERAL_HEAP_BASE */

/*
 * The whole life of an imagination VM context: create, map two objects,
 * map over part of a mapping of the same object (a REMAP with both
 * pieces), look up, unmap exactly, refuse an inexact unmap, then the
 * release: unmap everything, finalise the embedded root object, drop the
 * VM (vm_free frees the context, root object included).
 *
 * Addresses are in the general heap, where user contexts may map
 * (pvr_find_heap_containing()), relative to its base:
 *
 *	A: 0x10000..0x18000  B: 0x20000..0x22000
 *	map A at offset 8 pages at 0x12000..0x14000: A is split around it
 */

static void drm_test_gpuvm_replay_pvr(struct kunit *test)
{
	struct replay *r = test->priv;
	struct pvr_like_vm_context *vm_ctx = pvr_like_create_context(r);
	struct drm_gpuvm *gpuvm = &vm_ctx->gpuvm_mgr;
	struct replay_bo *a = replay_bo_new(r, 16 * SZ_PAGE, NULL);
	struct replay_bo *b = replay_bo_new(r, 4 * SZ_PAGE, NULL);
	struct drm_gem_object *ao = &a->base, *bo = &b->base;
	struct drm_gpuva *va;

	KUNIT_EXPECT_EQ(test, kref_read(&vm_ctx->dummy_gem.refcount), 2);
	KUNIT_EXPECT_EQ(test, kref_read(&r->drm->ref), r->dev_refs + 1);

	KUNIT_ASSERT_EQ(test, pvr_like_map(vm_ctx, ao, 0, PVR_HEAP + 0x10000,
					   8 * SZ_PAGE), 0);
	KUNIT_ASSERT_EQ(test, pvr_like_map(vm_ctx, bo, 0, PVR_HEAP + 0x20000,
					   2 * SZ_PAGE), 0);
	{
		const struct replay_map exp[] = {
			{ PVR_HEAP + 0x10000, 8 * SZ_PAGE, ao, 0 },
			{ PVR_HEAP + 0x20000, 2 * SZ_PAGE, bo, 0 },
		};

		replay_space_is(test, gpuvm, exp, ARRAY_SIZE(exp));
	}
	/* No vm_bo reference other than the mappings' survived the binds. */
	KUNIT_EXPECT_EQ(test, kref_read(&gpuvm->kref), 1 + 2 + 2);

	/* Remapping part of A with A at another offset splits it. */
	KUNIT_ASSERT_EQ(test, pvr_like_map(vm_ctx, ao, 8 * SZ_PAGE, PVR_HEAP + 0x12000,
					   2 * SZ_PAGE), 0);
	{
		const struct replay_map exp[] = {
			{ PVR_HEAP + 0x10000, 2 * SZ_PAGE, ao, 0 },
			{ PVR_HEAP + 0x12000, 2 * SZ_PAGE, ao, 8 * SZ_PAGE },
			{ PVR_HEAP + 0x14000, 4 * SZ_PAGE, ao, 4 * SZ_PAGE },
			{ PVR_HEAP + 0x20000, 2 * SZ_PAGE, bo, 0 },
		};

		replay_space_is(test, gpuvm, exp, ARRAY_SIZE(exp));
	}

	/* pvr_vm_find_gem_object(): the mapping containing an address. */
	mutex_lock(&vm_ctx->lock);
	va = drm_gpuva_find_first(gpuvm, PVR_HEAP + 0x15000, 1);
	mutex_unlock(&vm_ctx->lock);
	KUNIT_ASSERT_NOT_NULL(test, va);
	KUNIT_EXPECT_EQ(test, va->va.addr, PVR_HEAP + 0x14000);
	KUNIT_EXPECT_EQ(test, va->gem.offset, 4 * SZ_PAGE);

	/* pvr_vm_unmap(): exact mappings only. */
	KUNIT_EXPECT_EQ(test, pvr_like_unmap(vm_ctx, PVR_HEAP + 0x12000, SZ_PAGE),
			-ENOENT);
	KUNIT_EXPECT_EQ(test, pvr_like_unmap(vm_ctx, PVR_HEAP + 0x12000, 2 * SZ_PAGE), 0);
	KUNIT_EXPECT_NULL(test, drm_gpuva_find_first(gpuvm, PVR_HEAP + 0x12000,
						     2 * SZ_PAGE));
	/*
	 * pvr_device_addr_and_size_are_valid() asks drm_gpuvm_range_valid()
	 * before its own size test, so GPUVM sees size 0; the driver refuses
	 * the bind whatever GPUVM answers.
	 */
	KUNIT_EXPECT_EQ(test, pvr_like_map(vm_ctx, bo, 0, PVR_HEAP + 0x30000,
					   0), -EINVAL);

	/* pvr_vm_context_release() */
	pvr_like_unmap_all(vm_ctx);
	KUNIT_EXPECT_TRUE(test, list_empty(&ao->gpuva.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&bo->gpuva.list));
	KUNIT_EXPECT_EQ(test, kref_read(&gpuvm->kref), 1);
	drm_gem_private_object_fini(&vm_ctx->dummy_gem);
	mutex_destroy(&vm_ctx->lock);
	drm_gpuvm_put(gpuvm);
	KUNIT_EXPECT_TRUE(test, r->vm_freed);

	drm_gem_object_put(ao);
	drm_gem_object_put(bo);
}

/* ---- panthor ------------------------------------------------------------ */

/* struct panthor_vm: base first. */
struct panthor_like_vm {
	struct drm_gpuvm base;
	/* Serialises VM updates, as panthor's op_lock does. */
	struct mutex op_lock;
	struct panthor_like_op_ctx *op_ctx;
};

/* struct panthor_vma: base first, then the driver's own list node. */
struct panthor_like_vma {
	struct drm_gpuva base;
	struct list_head node;
};

/* struct panthor_vm_op_ctx, the parts GPUVM sees. */
struct panthor_like_op_ctx {
	struct panthor_like_vma *preallocated_vmas[3];
	struct list_head returned_vmas;
	struct {
		struct drm_gpuvm_bo *vm_bo;
		u64 bo_offset;
	} map;
};

static void panthor_like_vm_free(struct drm_gpuvm *gpuvm)
{
	struct panthor_like_vm *vm =
		container_of(gpuvm, struct panthor_like_vm, base);

	KUNIT_EXPECT_EQ(rp->test, kref_read(&rp->drm->ref), rp->dev_refs + 1);
	mutex_destroy(&vm->op_lock);
	rp->vm_freed = true;
	kfree(vm);
}

/* panthor_vm_op_ctx_get_vma() */
static struct panthor_like_vma *
panthor_like_get_vma(struct panthor_like_op_ctx *op_ctx)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(op_ctx->preallocated_vmas); i++) {
		struct panthor_like_vma *vma = op_ctx->preallocated_vmas[i];

		if (vma) {
			op_ctx->preallocated_vmas[i] = NULL;
			return vma;
		}
	}
	return NULL;
}

/* panthor_vma_link() */
static void panthor_like_vma_link(struct panthor_like_vm *vm,
				  struct panthor_like_vma *vma,
				  struct drm_gpuvm_bo *vm_bo)
{
	struct replay_bo *bo = container_of(vm_bo->obj, struct replay_bo, base);

	mutex_lock(&bo->gpuva_list_lock);
	drm_gpuva_link(&vma->base, vm_bo);
	KUNIT_EXPECT_FALSE(rp->test, drm_gpuvm_bo_put(vm_bo));
	mutex_unlock(&bo->gpuva_list_lock);
}

/* panthor_vma_unlink(): the vm_bo release is deferred to the cleanup. */
static void panthor_like_vma_unlink(struct panthor_like_vm *vm,
				    struct panthor_like_vma *vma)
{
	struct replay_bo *bo = container_of(vma->base.gem.obj,
					    struct replay_bo, base);
	struct drm_gpuvm_bo *vm_bo = drm_gpuvm_bo_get(vma->base.vm_bo);

	mutex_lock(&bo->gpuva_list_lock);
	drm_gpuva_unlink(&vma->base);
	mutex_unlock(&bo->gpuva_list_lock);

	vma->base.vm_bo = vm_bo;
	list_add_tail(&vma->node, &vm->op_ctx->returned_vmas);
}

/* panthor_gpuva_sm_step_map() */
static int panthor_like_step_map(struct drm_gpuva_op *op, void *priv)
{
	struct panthor_like_vm *vm = priv;
	struct panthor_like_op_ctx *op_ctx = vm->op_ctx;
	struct panthor_like_vma *vma = panthor_like_get_vma(op_ctx);

	if (!vma)
		return -EINVAL;
	drm_gpuva_map(&vm->base, &vma->base, &op->map);
	panthor_like_vma_link(vm, vma, op_ctx->map.vm_bo);
	op_ctx->map.vm_bo = NULL;
	return 0;
}

/* panthor_gpuva_sm_step_remap() */
static int panthor_like_step_remap(struct drm_gpuva_op *op, void *priv)
{
	struct panthor_like_vma *unmap_vma =
		container_of(op->remap.unmap->va, struct panthor_like_vma, base);
	struct panthor_like_vm *vm = priv;
	struct panthor_like_op_ctx *op_ctx = vm->op_ctx;
	struct panthor_like_vma *prev_vma = NULL, *next_vma = NULL;
	u64 unmap_start, unmap_range;

	drm_gpuva_op_remap_to_unmap_range(&op->remap, &unmap_start,
					  &unmap_range);
	if (op->remap.prev)
		prev_vma = panthor_like_get_vma(op_ctx);
	if (op->remap.next)
		next_vma = panthor_like_get_vma(op_ctx);

	drm_gpuva_remap(prev_vma ? &prev_vma->base : NULL,
			next_vma ? &next_vma->base : NULL, &op->remap);

	if (prev_vma)
		panthor_like_vma_link(vm, prev_vma,
				      drm_gpuvm_bo_get(op->remap.unmap->va->vm_bo));
	if (next_vma)
		panthor_like_vma_link(vm, next_vma,
				      drm_gpuvm_bo_get(op->remap.unmap->va->vm_bo));
	panthor_like_vma_unlink(vm, unmap_vma);
	return 0;
}

/* panthor_gpuva_sm_step_unmap() */
static int panthor_like_step_unmap(struct drm_gpuva_op *op, void *priv)
{
	struct panthor_like_vma *unmap_vma =
		container_of(op->unmap.va, struct panthor_like_vma, base);
	struct panthor_like_vm *vm = priv;

	drm_gpuva_unmap(&op->unmap);
	panthor_like_vma_unlink(vm, unmap_vma);
	return 0;
}

static const struct drm_gpuvm_ops panthor_like_gpuvm_ops = {
	.vm_free = panthor_like_vm_free,
	.sm_step_map = panthor_like_step_map,
	.sm_step_remap = panthor_like_step_remap,
	.sm_step_unmap = panthor_like_step_unmap,
};

/* panthor_vm_create() */
static struct panthor_like_vm *panthor_like_vm_create(struct replay *r)
{
	struct panthor_like_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	struct drm_gem_object *dummy_gem;

	KUNIT_ASSERT_NOT_NULL(r->test, vm);
	dummy_gem = drm_gpuvm_resv_object_alloc(r->drm);
	KUNIT_ASSERT_NOT_NULL(r->test, dummy_gem);
	mutex_init(&vm->op_lock);
	drm_gpuvm_init(&vm->base, "panthor-GPU-VM", DRM_GPUVM_RESV_PROTECTED,
		       r->drm, dummy_gem, 0, 1ULL << 48, 0, 0,
		       &panthor_like_gpuvm_ops);
	drm_gem_object_put(dummy_gem);
	return vm;
}

/* panthor_vm_bo_put() */
static bool panthor_like_vm_bo_put(struct drm_gpuvm_bo *vm_bo)
{
	struct replay_bo *bo = container_of(vm_bo->obj, struct replay_bo, base);
	struct drm_gpuvm *vm = vm_bo->vm;
	bool unpin;

	/* The BO and the VM must outlive the vm_bo's destruction. */
	drm_gem_object_get(&bo->base);
	drm_gpuvm_get(vm);
	dma_resv_lock(drm_gpuvm_resv(vm), NULL);
	mutex_lock(&bo->gpuva_list_lock);
	unpin = drm_gpuvm_bo_put(vm_bo);
	mutex_unlock(&bo->gpuva_list_lock);
	dma_resv_unlock(drm_gpuvm_resv(vm));
	drm_gpuvm_put(vm);
	drm_gem_object_put(&bo->base);
	return unpin;
}

/* panthor_vm_cleanup_op_ctx(): returns how many vm_bos were freed. */
static int panthor_like_cleanup_op_ctx(struct panthor_like_op_ctx *op_ctx)
{
	struct panthor_like_vma *vma, *tmp;
	int freed = 0;
	unsigned int i;

	if (op_ctx->map.vm_bo)
		freed += panthor_like_vm_bo_put(op_ctx->map.vm_bo);
	for (i = 0; i < ARRAY_SIZE(op_ctx->preallocated_vmas); i++) {
		if (op_ctx->preallocated_vmas[i])
			rp->vas_live--;
		kfree(op_ctx->preallocated_vmas[i]);
	}
	list_for_each_entry_safe(vma, tmp, &op_ctx->returned_vmas, node) {
		list_del(&vma->node);
		freed += panthor_like_vm_bo_put(vma->base.vm_bo);
		rp->vas_live--;
		kfree(vma);
	}
	return freed;
}

static void panthor_like_prealloc_vmas(struct panthor_like_op_ctx *op_ctx,
				       unsigned int n)
{
	unsigned int i;

	INIT_LIST_HEAD(&op_ctx->returned_vmas);
	for (i = 0; i < n; i++) {
		op_ctx->preallocated_vmas[i] =
			kzalloc(sizeof(*op_ctx->preallocated_vmas[i]), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(rp->test, op_ctx->preallocated_vmas[i]);
		rp->vas_live++;
	}
}

/* panthor_vm_prepare_map_op_ctx() */
static void panthor_like_prepare_map(struct panthor_like_vm *vm,
				     struct panthor_like_op_ctx *op_ctx,
				     struct replay_bo *bo, u64 offset)
{
	struct drm_gpuvm_bo *preallocated_vm_bo;

	memset(op_ctx, 0, sizeof(*op_ctx));
	panthor_like_prealloc_vmas(op_ctx, 3);

	preallocated_vm_bo = drm_gpuvm_bo_create(&vm->base, &bo->base);
	KUNIT_ASSERT_NOT_NULL(rp->test, preallocated_vm_bo);

	dma_resv_lock(drm_gpuvm_resv(&vm->base), NULL);
	mutex_lock(&bo->gpuva_list_lock);
	op_ctx->map.vm_bo = drm_gpuvm_bo_obtain_prealloc(preallocated_vm_bo);
	mutex_unlock(&bo->gpuva_list_lock);
	dma_resv_unlock(drm_gpuvm_resv(&vm->base));

	op_ctx->map.bo_offset = offset;

	dma_resv_lock(drm_gpuvm_resv(&vm->base), NULL);
	drm_gpuvm_bo_extobj_add(op_ctx->map.vm_bo);
	dma_resv_unlock(drm_gpuvm_resv(&vm->base));
}

/*
 * panthor_vm_exec_op(). An asynchronous VM_BIND job runs it from
 * panthor_vm_bind_run_job(), inside the fence-signalling critical section
 * (lockdep then checks that GPUVM takes no dma-resv there); the
 * synchronous paths (panthor_vm_bind_exec_sync_op(),
 * panthor_vm_map_bo_range(), panthor_vm_unmap_range()) run it plainly.
 */
static int panthor_like_exec_op(struct panthor_like_vm *vm,
				struct panthor_like_op_ctx *op_ctx, bool map,
				u64 addr, u64 range, bool async)
{
	bool cookie = false;
	int ret;

	if (async)
		cookie = dma_fence_begin_signalling();

	mutex_lock(&vm->op_lock);
	vm->op_ctx = op_ctx;
	if (map)
		ret = drm_gpuvm_sm_map(&vm->base, vm, addr, range,
				       op_ctx->map.vm_bo->obj,
				       op_ctx->map.bo_offset);
	else
		ret = drm_gpuvm_sm_unmap(&vm->base, vm, addr, range);
	vm->op_ctx = NULL;
	mutex_unlock(&vm->op_lock);
	if (async)
		dma_fence_end_signalling(cookie);
	return ret;
}

/*
 * panthor_vm_bind_job_prepare_resvs() and panthor_vm_bind_job_update_resvs():
 * the VM's resv and the job's BO, one slot each, in the ioctl's drm_exec.
 */
static void panthor_like_bind_fence(struct panthor_like_vm *vm,
				    struct replay_bo *bo)
{
	struct dma_fence *fence = dma_fence_get_stub();
	struct drm_exec exec;
	int ret = 0;

	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT |
		      DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(&exec) {
		ret = drm_gpuvm_prepare_vm(&vm->base, &exec, 1);
		drm_exec_retry_on_contention(&exec);
		if (ret)
			break;
		ret = drm_exec_prepare_obj(&exec, &bo->base, 1);
		drm_exec_retry_on_contention(&exec);
		if (ret)
			break;
	}
	KUNIT_EXPECT_EQ(rp->test, ret, 0);
	drm_gpuvm_resv_add_fence(&vm->base, &exec, fence,
				 DMA_RESV_USAGE_BOOKKEEP,
				 DMA_RESV_USAGE_BOOKKEEP);
	drm_exec_fini(&exec);
	dma_fence_put(fence);
}

/* panthor_vm_prepare_mapped_bos_resvs() */
static int panthor_like_prepare_mapped_bos_resvs(struct drm_exec *exec,
						 struct panthor_like_vm *vm,
						 u32 slot_count)
{
	int ret;

	ret = drm_gpuvm_prepare_vm(&vm->base, exec, slot_count);
	if (ret)
		return ret;
	return drm_gpuvm_prepare_objects(&vm->base, exec, slot_count);
}

/*
 * A group submit (panthor_ioctl_group_submit()): the loop of
 * panthor_vm_prepare_mapped_bos_resvs(), which has no retry of its own
 * (drm_exec_until_all_locked() restarts when an object is contended), and
 * the fence of panthor_job_update_resvs().
 */
static void panthor_like_group_submit(struct panthor_like_vm *vm,
				      unsigned int expect_locked)
{
	struct dma_fence *fence = dma_fence_get_stub();
	struct drm_gem_object *obj;
	struct drm_exec exec;
	unsigned int n = 0;
	int ret = 0;

	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT |
		      DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(&exec)
		ret = panthor_like_prepare_mapped_bos_resvs(&exec, vm, 1);
	KUNIT_EXPECT_EQ(rp->test, ret, 0);
	drm_exec_for_each_locked_object(&exec, obj)
		n++;
	KUNIT_EXPECT_EQ(rp->test, n, expect_locked);
	drm_gpuvm_resv_add_fence(&vm->base, &exec, fence,
				 DMA_RESV_USAGE_BOOKKEEP,
				 DMA_RESV_USAGE_BOOKKEEP);
	drm_exec_fini(&exec);
	dma_fence_put(fence);
}

/*
 * A panthor VM: an external BO E and a VM-private BO P (sharing the VM's
 * resv, holding a reference on its root object). Map E, map P, map E
 * again at the same address (an identical remap: UNMAP then MAP, the old
 * vm_bo reference released in the cleanup), unmap a middle part of P (a
 * REMAP with both pieces), group-submit, then panthor_vm_destroy(): unmap
 * everything and drop the VM.
 *
 *	E: 0x100000..0x104000   P: 0x200000..0x208000
 */
static void drm_test_gpuvm_replay_panthor(struct kunit *test)
{
	struct replay *r = test->priv;
	struct panthor_like_vm *vm = panthor_like_vm_create(r);
	struct drm_gem_object *root = drm_gpuvm_resv_obj(&vm->base);
	struct panthor_like_op_ctx op_ctx;
	struct replay_bo *e, *p;
	struct drm_gpuva *va;

	/* panthor_gem_create_object(); an exclusive BO shares the VM resv. */
	e = replay_bo_new(r, 4 * SZ_PAGE, NULL);
	drm_gem_gpuva_set_lock(&e->base, &e->gpuva_list_lock);
	p = replay_bo_new(r, 8 * SZ_PAGE, root->resv);
	drm_gem_object_get(root);
	p->root_ref = root;
	drm_gem_gpuva_set_lock(&p->base, &p->gpuva_list_lock);
	KUNIT_EXPECT_TRUE(test, drm_gpuvm_is_extobj(&vm->base, &e->base));
	KUNIT_EXPECT_FALSE(test, drm_gpuvm_is_extobj(&vm->base, &p->base));

	/*
	 * An asynchronous VM_BIND job: panthor_vm_bind_job_create() takes a
	 * VM reference, panthor_vm_bind_job_release() drops it.
	 */
	drm_gpuvm_get(&vm->base);
	panthor_like_prepare_map(vm, &op_ctx, e, 0);
	panthor_like_bind_fence(vm, e);
	KUNIT_ASSERT_EQ(test, panthor_like_exec_op(vm, &op_ctx, true, 0x100000,
						   4 * SZ_PAGE, true), 0);
	KUNIT_EXPECT_EQ(test, panthor_like_cleanup_op_ctx(&op_ctx), 0);
	drm_gpuvm_put(&vm->base);

	/* Synchronous binds (DRM_PANTHOR_VM_BIND_OP... without a queue). */
	panthor_like_prepare_map(vm, &op_ctx, p, 0);
	KUNIT_ASSERT_EQ(test, panthor_like_exec_op(vm, &op_ctx, true, 0x200000,
						   8 * SZ_PAGE, false), 0);
	KUNIT_EXPECT_EQ(test, panthor_like_cleanup_op_ctx(&op_ctx), 0);

	/* The same mapping again: the prealloc'd vm_bo is not needed. */
	panthor_like_prepare_map(vm, &op_ctx, e, 0);
	KUNIT_ASSERT_EQ(test, panthor_like_exec_op(vm, &op_ctx, true, 0x100000,
						   4 * SZ_PAGE, false), 0);
	KUNIT_EXPECT_EQ(test, panthor_like_cleanup_op_ctx(&op_ctx), 0);

	/* panthor_vm_prepare_unmap_op_ctx(): two spare VMAs. */
	memset(&op_ctx, 0, sizeof(op_ctx));
	panthor_like_prealloc_vmas(&op_ctx, 2);
	KUNIT_ASSERT_EQ(test, panthor_like_exec_op(vm, &op_ctx, false,
						   0x202000, 2 * SZ_PAGE,
						   false), 0);
	KUNIT_EXPECT_EQ(test, panthor_like_cleanup_op_ctx(&op_ctx), 0);
	{
		const struct replay_map exp[] = {
			{ 0x100000, 4 * SZ_PAGE, &e->base, 0 },
			{ 0x200000, 2 * SZ_PAGE, &p->base, 0 },
			{ 0x204000, 4 * SZ_PAGE, &p->base, 4 * SZ_PAGE },
		};

		replay_space_is(test, &vm->base, exp, ARRAY_SIZE(exp));
	}

	/* panthor_vm_get_bo_for_va() */
	mutex_lock(&vm->op_lock);
	va = drm_gpuva_find_first(&vm->base, 0x205000, 1);
	mutex_unlock(&vm->op_lock);
	KUNIT_ASSERT_NOT_NULL(test, va);
	KUNIT_EXPECT_PTR_EQ(test, va->gem.obj, &p->base);

	/* Group submit: the VM's resv and E, the only external object. */
	panthor_like_group_submit(vm, 2);

	/* panthor_vm_destroy(): unmap the whole space, then put the VM. */
	memset(&op_ctx, 0, sizeof(op_ctx));
	panthor_like_prealloc_vmas(&op_ctx, 2);
	KUNIT_ASSERT_EQ(test, panthor_like_exec_op(vm, &op_ctx, false,
						   vm->base.mm_start,
						   vm->base.mm_range, false), 0);
	/* Both vm_bos die with their last mapping, in the cleanup. */
	KUNIT_EXPECT_EQ(test, panthor_like_cleanup_op_ctx(&op_ctx), 2);
	KUNIT_EXPECT_TRUE(test, list_empty(&vm->base.extobj.list));
	KUNIT_EXPECT_EQ(test, kref_read(&vm->base.kref), 1);
	drm_gpuvm_put(&vm->base);
	KUNIT_EXPECT_TRUE(test, r->vm_freed);

	/* The BOs outlive the VM; P drops the root object when freed. */
	drm_gem_object_put(&e->base);
	drm_gem_object_put(&p->base);
}

/* ---- xe ----------------------------------------------------------------- */

/* The flag bits xe keeps in drm_gpuva.flags (xe_vm_types.h). */
#define XE_LIKE_VMA_DESTROYED (DRM_GPUVA_USERBITS << 1)
#define XE_LIKE_VMA_DUMPABLE (DRM_GPUVA_USERBITS << 8)

/* struct xe_vm: gpuvm first. */
struct xe_like_vm {
	struct drm_gpuvm gpuvm;
	/* vm->lock: binds and teardown write, exec reads. */
	struct rw_semaphore lock;
	/* vm->snap_mutex: serialises the tree with snapshot capture. */
	struct mutex snap_mutex;
	/* Stands for TTM's LRU lock in xe_vm_bump_lru(). */
	spinlock_t lru_lock;
	struct list_head rebind_list;
	int validated;
};

/* struct xe_vma: gpuva first. */
struct xe_like_vma {
	struct drm_gpuva gpuva;
	struct list_head rebind;
};

/* struct xe_vma_op: the GPUVM op at offset 0, then xe's own fields. */
struct xe_like_vma_op {
	struct drm_gpuva_op base;
	struct xe_like_vma *map_vma;
	struct xe_like_vma *prev_vma;
	struct xe_like_vma *next_vma;
	u64 remap_start;
	u64 remap_range;
};

static struct xe_like_vm *gpuvm_to_xe_like(struct drm_gpuvm *gpuvm)
{
	return container_of(gpuvm, struct xe_like_vm, gpuvm);
}

/* xe_vm_op_alloc(): kzalloc, no op_free (the library kfree()s base). */
static struct drm_gpuva_op *xe_like_op_alloc(void)
{
	struct xe_like_vma_op *op = kzalloc(sizeof(*op), GFP_KERNEL);

	return op ? &op->base : NULL;
}

/*
 * xe_vm_free() queues the destruction to a worker that frees the VM; the
 * replay frees it at once, which only makes a late access easier to see.
 */
static void xe_like_vm_free(struct drm_gpuvm *gpuvm)
{
	struct xe_like_vm *vm = gpuvm_to_xe_like(gpuvm);

	/* The device is still held (by this VM, maybe by another too). */
	KUNIT_EXPECT_GE(rp->test, kref_read(&rp->drm->ref), rp->dev_refs + 1);
	mutex_destroy(&vm->snap_mutex);
	rp->vm_freed = true;
	kfree(vm);
}

/* xe_gpuvm_validate(): clears the evicted state by hand. */
static int xe_like_gpuvm_validate(struct drm_gpuvm_bo *vm_bo,
				  struct drm_exec *exec)
{
	struct xe_like_vm *vm = gpuvm_to_xe_like(vm_bo->vm);
	struct drm_gpuva *gpuva;

	lockdep_assert_held(&vm->lock);
	drm_gpuvm_bo_for_each_va(gpuva, vm_bo)
		list_move_tail(&container_of(gpuva, struct xe_like_vma,
					     gpuva)->rebind,
			       &vm->rebind_list);
	vm->validated++;
	vm_bo->evicted = false;
	return 0;
}

static const struct drm_gpuvm_ops xe_like_gpuvm_ops = {
	.vm_free = xe_like_vm_free,
	.op_alloc = xe_like_op_alloc,
	.vm_bo_validate = xe_like_gpuvm_validate,
};

/* xe_vm_create() */
static struct xe_like_vm *xe_like_vm_create(struct replay *r)
{
	struct xe_like_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL);
	struct drm_gem_object *vm_resv_obj;

	KUNIT_ASSERT_NOT_NULL(r->test, vm);
	init_rwsem(&vm->lock);
	mutex_init(&vm->snap_mutex);
	spin_lock_init(&vm->lru_lock);
	INIT_LIST_HEAD(&vm->rebind_list);
	vm_resv_obj = drm_gpuvm_resv_object_alloc(r->drm);
	KUNIT_ASSERT_NOT_NULL(r->test, vm_resv_obj);
	drm_gpuvm_init(&vm->gpuvm, "Xe VM", DRM_GPUVM_RESV_PROTECTED, r->drm,
		       vm_resv_obj, 0, 1ull << 48, 0, 0, &xe_like_gpuvm_ops);
	drm_gem_object_put(vm_resv_obj);
	return vm;
}

/* xe decides "VM-private" by bo->vm, never by asking GPUVM. */
static bool xe_like_bo_private(struct drm_gem_object *obj)
{
	return obj && container_of(obj, struct replay_bo, base)->vm;
}

/*
 * Locks a VMA's objects the way new_vma() and xe_vma_destroy_unlocked()
 * do: the VM's resv unless the BO is VM-private (it is the same resv
 * then), and the BO.
 */
static void xe_like_lock(struct drm_exec *exec, struct xe_like_vm *vm,
			 struct drm_gem_object *obj, u32 flags)
{
	int err = 0;

	drm_exec_init(exec, flags, 0);
	drm_exec_until_all_locked(exec) {
		/* Each pass starts afresh (lockdep injects -EDEADLK). */
		err = 0;
		if (!xe_like_bo_private(obj))
			err = drm_exec_lock_obj(exec,
						drm_gpuvm_resv_obj(&vm->gpuvm));
		drm_exec_retry_on_contention(exec);
		if (!err && obj)
			err = drm_exec_lock_obj(exec, obj);
		drm_exec_retry_on_contention(exec);
	}
	KUNIT_EXPECT_EQ(rp->test, err, 0);
}

/* xe_vma_create() for a BO-backed VMA, under the VM's and the BO's resv. */
static struct xe_like_vma *xe_like_vma_create(struct xe_like_vm *vm,
					      struct drm_gem_object *obj,
					      u64 start, u64 range, u64 offset)
{
	struct xe_like_vma *vma = kzalloc(sizeof(*vma), GFP_KERNEL);
	struct drm_gpuvm_bo *vm_bo;

	KUNIT_ASSERT_NOT_NULL(rp->test, vma);
	rp->vas_live++;
	vma->gpuva.gem.obj = obj;
	INIT_LIST_HEAD(&vma->rebind);
	INIT_LIST_HEAD(&vma->gpuva.gem.entry);
	vma->gpuva.vm = &vm->gpuvm;
	vma->gpuva.va.addr = start;
	vma->gpuva.va.range = range;
	vma->gpuva.flags |= XE_LIKE_VMA_DUMPABLE;

	vm_bo = drm_gpuvm_bo_obtain(vma->gpuva.vm, obj);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(rp->test, vm_bo);
	drm_gpuvm_bo_extobj_add(vm_bo);
	drm_gem_object_get(obj);
	vma->gpuva.gem.offset = offset;
	drm_gpuva_link(&vma->gpuva, vm_bo);
	drm_gpuvm_bo_put(vm_bo);
	return vma;
}

/* new_vma(): the VMA's objects locked around xe_vma_create(). */
static struct xe_like_vma *xe_like_new_vma(struct xe_like_vm *vm,
					   struct drm_gpuva_op_map *m)
{
	struct xe_like_vma *vma;
	struct drm_exec exec;

	xe_like_lock(&exec, vm, m->gem.obj, DRM_EXEC_INTERRUPTIBLE_WAIT);
	vma = xe_like_vma_create(vm, m->gem.obj, m->va.addr, m->va.range,
				 m->gem.offset);
	drm_exec_fini(&exec);
	return vma;
}

/* xe_vm_insert_vma() / xe_vm_remove_vma(): under vm->snap_mutex. */
static void xe_like_insert_vma(struct xe_like_vm *vm, struct xe_like_vma *vma)
{
	mutex_lock(&vm->snap_mutex);
	KUNIT_EXPECT_EQ(rp->test, drm_gpuva_insert(&vm->gpuvm, &vma->gpuva), 0);
	mutex_unlock(&vm->snap_mutex);
}

static void xe_like_remove_vma(struct xe_like_vm *vm, struct drm_gpuva *gpuva)
{
	mutex_lock(&vm->snap_mutex);
	drm_gpuva_remove(gpuva);
	mutex_unlock(&vm->snap_mutex);
}

/* prep_vma_destroy(): flagged, then out of the tree. */
static void xe_like_prep_vma_destroy(struct xe_like_vm *vm,
				     struct drm_gpuva *gpuva)
{
	gpuva->flags |= XE_LIKE_VMA_DESTROYED;
	xe_like_remove_vma(vm, gpuva);
}

/*
 * xe_vma_destroy() (unlink, under the locks the caller took) and, since
 * there is no fence to wait for, xe_vma_destroy_late() (free).
 */
static void xe_like_vma_destroy(struct xe_like_vma *vma)
{
	struct drm_gem_object *obj = vma->gpuva.gem.obj;

	drm_gpuva_unlink(&vma->gpuva);
	drm_gem_object_put(obj);
	rp->vas_live--;
	kfree(vma);
}

/*
 * vm_bind_ioctl_ops_parse() + xe_vma_op_commit(): new VMAs for the MAP
 * and the REMAP pieces, then the tree updated with drm_gpuva_insert() and
 * drm_gpuva_remove() directly (xe never calls drm_gpuva_map/remap). The
 * hole a REMAP leaves is computed from the old VMA and the pieces, as
 * vm_bind_ioctl_ops_parse() does.
 */
static void xe_like_ops_commit(struct xe_like_vm *vm, struct drm_gpuva_ops *ops)
{
	struct drm_gpuva_op *__op;

	drm_gpuva_for_each_op(__op, ops) {
		struct xe_like_vma_op *op =
			container_of(__op, struct xe_like_vma_op, base);
		struct drm_gpuva *old;

		switch (__op->op) {
		case DRM_GPUVA_OP_MAP:
			op->map_vma = xe_like_new_vma(vm, &__op->map);
			xe_like_insert_vma(vm, op->map_vma);
			break;
		case DRM_GPUVA_OP_REMAP:
			old = __op->remap.unmap->va;
			op->remap_start = old->va.addr;
			op->remap_range = old->va.range;
			if (__op->remap.prev) {
				op->prev_vma = xe_like_new_vma(vm,
							       __op->remap.prev);
				op->remap_start += op->prev_vma->gpuva.va.range;
				op->remap_range -= op->prev_vma->gpuva.va.range;
			}
			if (__op->remap.next) {
				op->next_vma = xe_like_new_vma(vm,
							       __op->remap.next);
				op->remap_range -= op->next_vma->gpuva.va.range;
			}
			xe_like_prep_vma_destroy(vm, old);
			if (op->prev_vma)
				xe_like_insert_vma(vm, op->prev_vma);
			if (op->next_vma)
				xe_like_insert_vma(vm, op->next_vma);
			/* Partial unbind: the old VA now describes the hole. */
			old->va.addr = op->remap_start;
			old->va.range = op->remap_range;
			break;
		case DRM_GPUVA_OP_UNMAP:
			xe_like_prep_vma_destroy(vm, __op->unmap.va);
			break;
		default:
			break;
		}
	}
}

/* vma_lock_and_validate(): external BOs only, no fence slots. */
static int xe_like_lock_vma_bo(struct drm_exec *exec, struct drm_gpuva *gpuva)
{
	struct drm_gem_object *obj = gpuva ? gpuva->gem.obj : NULL;

	if (!obj || xe_like_bo_private(obj))
		return 0;
	return drm_exec_lock_obj(exec, obj);
}

/* vm_bind_ioctl_ops_lock_and_prep() */
static int xe_like_ops_lock(struct drm_exec *exec, struct xe_like_vm *vm,
			    struct drm_gpuva_ops *ops)
{
	struct drm_gpuva_op *__op;
	int err;

	err = drm_exec_lock_obj(exec, drm_gpuvm_resv_obj(&vm->gpuvm));
	drm_gpuva_for_each_op(__op, ops) {
		struct xe_like_vma_op *op =
			container_of(__op, struct xe_like_vma_op, base);

		if (err)
			break;
		switch (__op->op) {
		case DRM_GPUVA_OP_MAP:
			err = xe_like_lock_vma_bo(exec, &op->map_vma->gpuva);
			break;
		case DRM_GPUVA_OP_REMAP:
			err = xe_like_lock_vma_bo(exec, __op->remap.unmap->va);
			if (!err && op->prev_vma)
				err = xe_like_lock_vma_bo(exec,
							  &op->prev_vma->gpuva);
			if (!err && op->next_vma)
				err = xe_like_lock_vma_bo(exec,
							  &op->next_vma->gpuva);
			break;
		case DRM_GPUVA_OP_UNMAP:
			err = xe_like_lock_vma_bo(exec, __op->unmap.va);
			break;
		default:
			break;
		}
	}
	return err;
}

/*
 * vm_bind_ioctl_ops_execute() + vm_bind_ioctl_ops_fini(): the objects
 * locked in one drm_exec, then the replaced VMAs destroyed.
 */
static void xe_like_ops_execute(struct xe_like_vm *vm, struct drm_gpuva_ops *ops)
{
	struct drm_gpuva_op *__op;
	struct drm_exec exec;
	int err = 0;

	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT |
		      DRM_EXEC_IGNORE_DUPLICATES, 0);
	drm_exec_until_all_locked(&exec) {
		err = xe_like_ops_lock(&exec, vm, ops);
		drm_exec_retry_on_contention(&exec);
		if (err)
			break;
	}
	KUNIT_EXPECT_EQ(rp->test, err, 0);

	drm_gpuva_for_each_op(__op, ops) {
		if (__op->op == DRM_GPUVA_OP_REMAP)
			xe_like_vma_destroy(container_of(__op->remap.unmap->va,
							 struct xe_like_vma,
							 gpuva));
		else if (__op->op == DRM_GPUVA_OP_UNMAP)
			xe_like_vma_destroy(container_of(__op->unmap.va,
							 struct xe_like_vma,
							 gpuva));
	}
	drm_exec_fini(&exec);
}

/*
 * One VM_BIND ioctl of a map or an unmap: the VM looked up (a reference),
 * vm->lock for write, create, commit, execute, free.
 */
static void xe_like_bind(struct xe_like_vm *vm, struct drm_gem_object *obj,
			 u64 addr, u64 range, u64 offset)
{
	struct drm_gpuva_ops *ops;

	drm_gpuvm_get(&vm->gpuvm);	/* xe_vm_lookup() */
	down_write(&vm->lock);
	if (obj)
		ops = drm_gpuvm_sm_map_ops_create(&vm->gpuvm, addr, range,
						  obj, offset);
	else
		ops = drm_gpuvm_sm_unmap_ops_create(&vm->gpuvm, addr, range);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(rp->test, ops);
	xe_like_ops_commit(vm, ops);
	xe_like_ops_execute(vm, ops);
	/* The replaced VMAs are freed already: ops_free must not look. */
	drm_gpuva_ops_free(&vm->gpuvm, ops);
	up_write(&vm->lock);
	drm_gpuvm_put(&vm->gpuvm);
}

/* xe_bo_trigger_rebind() from a TTM move: the BO's resv only. */
static void xe_like_bo_evicted(struct drm_gem_object *obj)
{
	struct drm_gpuvm_bo *vm_bo;

	dma_resv_lock(obj->resv, NULL);
	drm_gem_for_each_gpuvm_bo(vm_bo, obj)
		drm_gpuvm_bo_evict(vm_bo, true);
	dma_resv_unlock(obj->resv);
}

/*
 * xe_vm_validate_rebind(): validate until the evicted list is empty, then
 * reserve the job's fence slots on every locked object.
 */
static int xe_like_validate_rebind(struct xe_like_vm *vm,
				   struct drm_exec *exec,
				   unsigned int num_fences)
{
	struct drm_gem_object *obj;
	int ret, rounds = 0;

	do {
		ret = drm_gpuvm_validate(&vm->gpuvm, exec);
		if (ret)
			return ret;
		/* xe_vm_rebind(): the VMAs go back into the page tables. */
		while (!list_empty(&vm->rebind_list))
			list_del_init(vm->rebind_list.next);
		if (++rounds > 4) {
			KUNIT_FAIL(rp->test, "evicted list never empties");
			return -EINVAL;
		}
	} while (!list_empty(&vm->gpuvm.evict.list));

	drm_exec_for_each_locked_object(exec, obj) {
		ret = dma_resv_reserve_fences(obj->resv, num_fences);
		if (ret)
			return ret;
	}
	return 0;
}

/* xe_exec_fn() */
static int xe_like_exec_fn(struct drm_gpuvm_exec *vm_exec)
{
	return xe_like_validate_rebind(gpuvm_to_xe_like(vm_exec->vm),
				       &vm_exec->exec, 1);
}

/*
 * xe_exec_ioctl() on a VM that is not in long-running mode: lock,
 * validate, fence, bump the LRU, drm_exec_fini().
 */
static void xe_like_exec(struct xe_like_vm *vm, unsigned int expect_extobjs)
{
	struct drm_gpuvm_exec vm_exec = {.extra.fn = xe_like_exec_fn};
	struct dma_fence *fence = dma_fence_get_stub();
	struct drm_exec *exec = &vm_exec.exec;
	struct drm_gem_object *obj;
	unsigned int n = 0;

	down_read(&vm->lock);
	vm_exec.vm = &vm->gpuvm;
	vm_exec.flags = DRM_EXEC_INTERRUPTIBLE_WAIT;
	KUNIT_ASSERT_EQ(rp->test, drm_gpuvm_exec_lock(&vm_exec), 0);
	drm_gpuvm_resv_add_fence(&vm->gpuvm, exec, fence,
				 DMA_RESV_USAGE_BOOKKEEP,
				 DMA_RESV_USAGE_BOOKKEEP);
	/* xe_vm_bump_lru(): under the LRU spinlock, a pointer test. */
	spin_lock(&vm->lru_lock);
	drm_exec_for_each_locked_object(exec, obj) {
		if (!drm_gpuvm_is_extobj(&vm->gpuvm, obj))
			continue;
		n++;
	}
	spin_unlock(&vm->lru_lock);
	KUNIT_EXPECT_EQ(rp->test, n, expect_extobjs);
	drm_exec_fini(exec);
	up_read(&vm->lock);
	dma_fence_put(fence);
}

/*
 * xe_vm_add_compute_exec_queue() on a long-running VM: an initialiser
 * with one fence slot and no extra callback, closed with drm_exec_fini().
 */
static void xe_like_add_compute_exec_queue(struct xe_like_vm *vm)
{
	struct drm_gpuvm_exec vm_exec = {
		.vm = &vm->gpuvm,
		.flags = DRM_EXEC_INTERRUPTIBLE_WAIT,
		.num_fences = 1,
	};
	struct dma_fence *pfence = dma_fence_get_stub();
	struct drm_exec *exec = &vm_exec.exec;

	down_write(&vm->lock);
	KUNIT_ASSERT_EQ(rp->test, drm_gpuvm_exec_lock(&vm_exec), 0);
	drm_gpuvm_resv_add_fence(&vm->gpuvm, exec, pfence,
				 DMA_RESV_USAGE_BOOKKEEP,
				 DMA_RESV_USAGE_BOOKKEEP);
	drm_exec_fini(exec);
	up_write(&vm->lock);
	dma_fence_put(pfence);
}

/* xe_preempt_work_begin() */
static int xe_like_preempt_work_begin(struct drm_exec *exec,
				      struct xe_like_vm *vm)
{
	int err;

	err = drm_gpuvm_prepare_vm(&vm->gpuvm, exec, 0);
	if (err)
		return err;
	err = drm_gpuvm_prepare_objects(&vm->gpuvm, exec, 0);
	if (err)
		return err;
	return xe_like_validate_rebind(vm, exec, 1);
}

/* preempt_rebind_work_func() of a long-running VM: zero fence slots. */
static void xe_like_preempt_rebind(struct xe_like_vm *vm)
{
	struct dma_fence *fence = dma_fence_get_stub();
	struct drm_exec exec;
	int err = 0;

	down_write(&vm->lock);
	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT, 0);
	drm_exec_until_all_locked(&exec) {
		err = xe_like_preempt_work_begin(&exec, vm);
		drm_exec_retry_on_contention(&exec);
		if (err)
			break;
	}
	KUNIT_EXPECT_EQ(rp->test, err, 0);
	/* resume_and_reinstall_preempt_fences() */
	drm_gpuvm_resv_add_fence(&vm->gpuvm, &exec, fence,
				 DMA_RESV_USAGE_BOOKKEEP,
				 DMA_RESV_USAGE_BOOKKEEP);
	drm_exec_fini(&exec);
	up_write(&vm->lock);
	dma_fence_put(fence);
}

/*
 * vm_bind_ioctl_ops_create() for DRM_XE_VM_BIND_OP_UNMAP_ALL: the BO's
 * lock, obtain, plan, put; then commit and execute as for any bind.
 */
static void xe_like_unmap_all(struct xe_like_vm *vm, struct drm_gem_object *obj,
			      unsigned int expect_ops)
{
	struct drm_gpuva_ops *ops;
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gpuva_op *op;
	unsigned int n = 0;

	drm_gpuvm_get(&vm->gpuvm);	/* xe_vm_lookup() */
	down_write(&vm->lock);
	dma_resv_lock(obj->resv, NULL);
	vm_bo = drm_gpuvm_bo_obtain(&vm->gpuvm, obj);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(rp->test, vm_bo);
	ops = drm_gpuvm_bo_unmap_ops_create(vm_bo);
	drm_gpuvm_bo_put(vm_bo);
	dma_resv_unlock(obj->resv);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(rp->test, ops);

	drm_gpuva_for_each_op(op, ops) {
		KUNIT_EXPECT_EQ(rp->test, op->op, DRM_GPUVA_OP_UNMAP);
		KUNIT_EXPECT_PTR_EQ(rp->test, op->unmap.va->gem.obj, obj);
		n++;
	}
	KUNIT_EXPECT_EQ(rp->test, n, expect_ops);
	xe_like_ops_commit(vm, ops);
	xe_like_ops_execute(vm, ops);
	drm_gpuva_ops_free(&vm->gpuvm, ops);
	up_write(&vm->lock);
	drm_gpuvm_put(&vm->gpuvm);
}

/*
 * xe_vm_close_and_put(): under vm->lock and the VM's resv every VA
 * leaves the tree; VMAs of VM-private BOs are destroyed there, those of
 * external BOs afterwards with xe_vma_destroy_unlocked().
 */
static void xe_like_close_and_put(struct xe_like_vm *vm)
{
	struct drm_gpuva *gpuva, *next;
	struct xe_like_vma *vma, *tmp;
	LIST_HEAD(contested);
	struct drm_exec exec;

	down_write(&vm->lock);
	dma_resv_lock(drm_gpuvm_resv(&vm->gpuvm), NULL);
	drm_gpuvm_for_each_va_safe(gpuva, next, &vm->gpuvm) {
		vma = container_of(gpuva, struct xe_like_vma, gpuva);
		xe_like_remove_vma(vm, gpuva);
		if (xe_like_bo_private(gpuva->gem.obj)) {
			gpuva->flags |= XE_LIKE_VMA_DESTROYED;
			xe_like_vma_destroy(vma);
			continue;
		}
		list_move_tail(&vma->rebind, &contested);
	}
	dma_resv_unlock(drm_gpuvm_resv(&vm->gpuvm));

	list_for_each_entry_safe(vma, tmp, &contested, rebind) {
		list_del_init(&vma->rebind);
		vma->gpuva.flags |= XE_LIKE_VMA_DESTROYED;
		xe_like_lock(&exec, vm, vma->gpuva.gem.obj, 0);
		xe_like_vma_destroy(vma);
		drm_exec_fini(&exec);
	}
	up_write(&vm->lock);
	drm_gpuvm_put(&vm->gpuvm);
}

/*
 * Two xe VMs sharing an external BO E: V (not long-running) with a
 * VM-private BO P, which holds a VM reference as xe's bo->vm does, and a
 * long-running VM L with a compute queue.
 *
 *	V bind 1: map E   0x10000..0x14000
 *	V bind 2: map P   0x20000..0x24000
 *	V bind 3: map P+8 pages at 0x11000..0x13000, over E: REMAP E, MAP
 *	V prefetch 0x10000..0x24000: four PREFETCH steps
 *	L: map E at 0x40000, add a compute queue
 *	E evicted by TTM (both VMs); an exec of V validates it once; L's
 *	preempt rebind worker validates it once, with zero fence slots
 *	V unmap 0x20000..0x24000; UNMAP_ALL of E in V and L; close and put
 */
static void drm_test_gpuvm_replay_xe(struct kunit *test)
{
	struct replay *r = test->priv;
	struct xe_like_vm *vm = xe_like_vm_create(r);
	struct xe_like_vm *lr = xe_like_vm_create(r);
	struct drm_gem_object *root = drm_gpuvm_resv_obj(&vm->gpuvm);
	struct replay_bo *e = replay_bo_new(r, 4 * SZ_PAGE, NULL);
	struct replay_bo *p = replay_bo_new(r, 16 * SZ_PAGE, root->resv);
	struct drm_gpuva_ops *ops;
	struct drm_gpuva_op *op;
	struct drm_gpuva *va;
	unsigned int n = 0;

	/* xe_bo_create_user() with a VM: bo->vm holds a VM reference. */
	p->vm = drm_gpuvm_get(&vm->gpuvm);

	xe_like_bind(vm, &e->base, 0x10000, 4 * SZ_PAGE, 0);
	xe_like_bind(vm, &p->base, 0x20000, 4 * SZ_PAGE, 0);
	xe_like_bind(vm, &p->base, 0x11000, 2 * SZ_PAGE, 8 * SZ_PAGE);
	{
		const struct replay_map exp[] = {
			{ 0x10000, SZ_PAGE, &e->base, 0 },
			{ 0x11000, 2 * SZ_PAGE, &p->base, 8 * SZ_PAGE },
			{ 0x13000, SZ_PAGE, &e->base, 3 * SZ_PAGE },
			{ 0x20000, 4 * SZ_PAGE, &p->base, 0 },
		};

		replay_space_is(test, &vm->gpuvm, exp, ARRAY_SIZE(exp));
	}
	/* The driver's flag bits are untouched. */
	drm_gpuvm_for_each_va(va, &vm->gpuvm)
		KUNIT_EXPECT_EQ(test, va->flags, XE_LIKE_VMA_DUMPABLE);

	/* vm_bind_ioctl_ops_create() for a prefetch. */
	down_write(&vm->lock);
	ops = drm_gpuvm_prefetch_ops_create(&vm->gpuvm, 0x10000, 0x14000);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ops);
	drm_gpuva_for_each_op(op, ops) {
		KUNIT_EXPECT_EQ(test, op->op, DRM_GPUVA_OP_PREFETCH);
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 4);
	drm_gpuva_ops_free(&vm->gpuvm, ops);

	/* xe_vm_find_overlapping_vma() */
	va = drm_gpuva_find_first(&vm->gpuvm, 0x12000, 0x10000);
	up_write(&vm->lock);
	KUNIT_ASSERT_NOT_NULL(test, va);
	KUNIT_EXPECT_EQ(test, va->va.addr, 0x11000);

	xe_like_bind(lr, &e->base, 0x40000, 4 * SZ_PAGE, 0);
	xe_like_add_compute_exec_queue(lr);

	/* E is evicted in both VMs; each validates it once. */
	xe_like_bo_evicted(&e->base);
	xe_like_exec(vm, 1);
	KUNIT_EXPECT_EQ(test, vm->validated, 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&vm->gpuvm.evict.list));
	xe_like_preempt_rebind(lr);
	KUNIT_EXPECT_EQ(test, lr->validated, 1);
	KUNIT_EXPECT_TRUE(test, list_empty(&lr->gpuvm.evict.list));

	xe_like_bind(vm, NULL, 0x20000, 4 * SZ_PAGE, 0);
	xe_like_unmap_all(vm, &e->base, 2);
	xe_like_unmap_all(lr, &e->base, 1);
	{
		const struct replay_map exp[] = {
			{ 0x11000, 2 * SZ_PAGE, &p->base, 8 * SZ_PAGE },
		};

		replay_space_is(test, &vm->gpuvm, exp, ARRAY_SIZE(exp));
	}
	KUNIT_EXPECT_TRUE(test, list_empty(&vm->gpuvm.extobj.list));
	KUNIT_EXPECT_TRUE(test, list_empty(&e->base.gpuva.list));

	xe_like_close_and_put(lr);
	KUNIT_EXPECT_TRUE(test, r->vm_freed);
	r->vm_freed = false;
	xe_like_close_and_put(vm);
	KUNIT_EXPECT_FALSE(test, r->vm_freed);
	KUNIT_EXPECT_TRUE(test, list_empty(&p->base.gpuva.list));
	drm_gem_object_put(&e->base);
	/* xe_ttm_bo_destroy(): P's bo->vm reference is the VM's last. */
	drm_gem_object_put(&p->base);
	KUNIT_EXPECT_TRUE(test, r->vm_freed);
}

/* ---- nouveau ------------------------------------------------------------ */

/* struct nouveau_uvmm: base first. */
/* struct nouveau_cli: its mutex and its scheduler's. */
struct nouveau_like_cli {
	/* cli->mutex: VM creation and the final put. */
	struct mutex mutex;
	/* cli->sched->mutex: held across a job's submission. */
	struct mutex sched_mutex;
};

struct nouveau_like_uvmm {
	struct drm_gpuvm base;
	struct nouveau_like_cli *cli;
	/* Serialises changes of the space, as uvmm->mutex does. */
	struct mutex mutex;
	int validated;
};

/* struct nouveau_uvma: va first. */
struct nouveau_like_uvma {
	struct drm_gpuva va;
};

/* The new mappings of one bind op (struct nouveau_uvma_prealloc). */
struct nouveau_like_prealloc {
	struct nouveau_like_uvma *map;
	struct nouveau_like_uvma *prev;
	struct nouveau_like_uvma *next;
};

/* The VM_BIND op kinds of nouveau_uvmm.c (OP_MAP, OP_UNMAP, ...). */
enum nouveau_like_op {
	NV_OP_MAP,
	NV_OP_UNMAP,
	NV_OP_MAP_SPARSE,
	NV_OP_UNMAP_SPARSE,
};

/* struct bind_job_op, the parts GPUVM sees. */
struct nouveau_like_bind_op {
	enum nouveau_like_op op;
	u64 addr;
	u64 range;
	struct drm_gem_object *obj;
	u64 offset;
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gpuva_ops *ops;
	struct nouveau_like_prealloc new;
};

static struct nouveau_like_uvmm *gpuvm_to_nouveau_like(struct drm_gpuvm *gpuvm)
{
	return container_of(gpuvm, struct nouveau_like_uvmm, base);
}

static void nouveau_like_uvmm_free(struct drm_gpuvm *gpuvm)
{
	KUNIT_EXPECT_EQ(rp->test, kref_read(&rp->drm->ref), rp->dev_refs + 1);
	rp->vm_freed = true;
	kfree(gpuvm_to_nouveau_like(gpuvm));
}

/*
 * nouveau_uvmm_bo_validate(): moves the BO, whose TTM move calls
 * drm_gpuvm_bo_gem_evict(obj, false) (nouveau_bo_move()) nested in the
 * validation walk; the callback itself never touches the state.
 */
static int nouveau_like_bo_validate(struct drm_gpuvm_bo *vm_bo,
				    struct drm_exec *exec)
{
	struct drm_gem_object *obj = vm_bo->obj;
	struct drm_gpuva *va;

	gpuvm_to_nouveau_like(vm_bo->vm)->validated++;
	drm_gpuvm_bo_gem_evict(obj, false);
	/* nouveau_bo_move_ntfy() -> nouveau_uvmm_bo_map_all() */
	drm_gem_for_each_gpuvm_bo(vm_bo, obj)
		drm_gpuvm_bo_for_each_va(va, vm_bo)
			drm_gpuva_invalidate(va, false);
	return 0;
}

static const struct drm_gpuvm_ops nouveau_like_gpuvm_ops = {
	.vm_free = nouveau_like_uvmm_free,
	.vm_bo_validate = nouveau_like_bo_validate,
};

/* nouveau_uvmm_ioctl_vm_init(): the kernel manages [0, 4 GiB). */
static struct nouveau_like_uvmm *nouveau_like_vm_init(struct replay *r,
						      struct nouveau_like_cli *cli)
{
	struct nouveau_like_uvmm *uvmm = kzalloc(sizeof(*uvmm), GFP_KERNEL);
	struct drm_gem_object *r_obj;

	KUNIT_ASSERT_NOT_NULL(r->test, uvmm);
	mutex_init(&uvmm->mutex);
	uvmm->cli = cli;
	mutex_lock(&cli->mutex);
	r_obj = drm_gpuvm_resv_object_alloc(r->drm);
	KUNIT_ASSERT_NOT_NULL(r->test, r_obj);
	drm_gpuvm_init(&uvmm->base, "nouveau-client", 0, r->drm, r_obj, 0,
		       1ULL << 47, 0, 1ULL << 32, &nouveau_like_gpuvm_ops);
	drm_gem_object_put(r_obj);
	mutex_unlock(&cli->mutex);
	return uvmm;
}

static struct nouveau_like_uvma *nouveau_like_uvma_alloc(void)
{
	struct nouveau_like_uvma *uvma = kzalloc(sizeof(*uvma), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(rp->test, uvma);
	rp->vas_live++;
	return uvma;
}

static void nouveau_like_uvma_free(struct nouveau_like_uvma *uvma)
{
	rp->vas_live--;
	kfree(uvma);
}

/* op_map_prepare(): the new mapping enters the tree at submit time. */
static struct nouveau_like_uvma *
nouveau_like_map_prepare(struct nouveau_like_uvmm *uvmm,
			 struct drm_gpuva_op_map *op)
{
	struct nouveau_like_uvma *uvma = nouveau_like_uvma_alloc();

	drm_gpuva_map(&uvmm->base, &uvma->va, op);
	drm_gem_object_get(uvma->va.gem.obj);
	return uvma;
}

/* nouveau_uvmm_sm_prepare(): apply the plan to the tree only. */
static void nouveau_like_sm_prepare(struct nouveau_like_uvmm *uvmm,
				    struct nouveau_like_bind_op *bop)
{
	struct drm_gpuva_op *op;

	drm_gpuva_for_each_op(op, bop->ops) {
		switch (op->op) {
		case DRM_GPUVA_OP_MAP:
			bop->new.map = nouveau_like_map_prepare(uvmm, &op->map);
			break;
		case DRM_GPUVA_OP_REMAP:
			drm_gpuva_unmap(op->remap.unmap);
			if (op->remap.prev)
				bop->new.prev =
					nouveau_like_map_prepare(uvmm,
								 op->remap.prev);
			if (op->remap.next)
				bop->new.next =
					nouveau_like_map_prepare(uvmm,
								 op->remap.next);
			break;
		case DRM_GPUVA_OP_UNMAP:
			drm_gpuva_unmap(&op->unmap);
			break;
		default:
			break;
		}
	}
}

/* op_map_prepare_unwind(): the GEM reference goes first, then the VA. */
static void nouveau_like_map_prepare_unwind(struct nouveau_like_uvma *uvma)
{
	drm_gem_object_put(uvma->va.gem.obj);
	drm_gpuva_remove(&uvma->va);
	nouveau_like_uvma_free(uvma);
}

/*
 * nouveau_uvmm_sm_prepare_unwind(): a later op of the job failed; undo
 * this one from its last step backwards: remove what was inserted (never
 * linked), put back what was removed (still linked).
 */
static void nouveau_like_sm_prepare_unwind(struct nouveau_like_uvmm *uvmm,
					   struct nouveau_like_bind_op *bop)
{
	struct drm_gpuva_op *op = drm_gpuva_last_op(bop->ops);

	drm_gpuva_for_each_op_from_reverse(op, bop->ops) {
		switch (op->op) {
		case DRM_GPUVA_OP_MAP:
			nouveau_like_map_prepare_unwind(bop->new.map);
			break;
		case DRM_GPUVA_OP_REMAP:
			if (op->remap.next)
				nouveau_like_map_prepare_unwind(bop->new.next);
			if (op->remap.prev)
				nouveau_like_map_prepare_unwind(bop->new.prev);
			drm_gpuva_insert(op->remap.unmap->va->vm,
					 op->remap.unmap->va);
			break;
		case DRM_GPUVA_OP_UNMAP:
			drm_gpuva_insert(op->unmap.va->vm, op->unmap.va);
			break;
		default:
			break;
		}
	}
}

/* op_gem_obj() */
static struct drm_gem_object *nouveau_like_op_gem_obj(struct drm_gpuva_op *op)
{
	switch (op->op) {
	case DRM_GPUVA_OP_MAP:
		return op->map.gem.obj;
	case DRM_GPUVA_OP_REMAP:
		return op->remap.unmap->va->gem.obj;
	case DRM_GPUVA_OP_UNMAP:
		return op->unmap.va->gem.obj;
	default:
		return NULL;
	}
}

/* bind_lock_validate(): every object the plans touch, one fence slot. */
static int nouveau_like_bind_lock_validate(struct drm_exec *exec,
					   struct nouveau_like_bind_op *bops,
					   unsigned int n,
					   unsigned int num_fences)
{
	struct drm_gpuva_op *va_op;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		if (!bops[i].ops)
			continue;
		drm_gpuva_for_each_op(va_op, bops[i].ops) {
			struct drm_gem_object *obj =
				nouveau_like_op_gem_obj(va_op);

			if (!obj)
				continue;
			ret = drm_exec_prepare_obj(exec, obj, num_fences);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* nouveau_uvmm_bind_job_submit(): the locking loop around it. */
static void nouveau_like_bind_lock(struct drm_gpuvm_exec *vme,
				   struct nouveau_like_bind_op *bops,
				   unsigned int n)
{
	struct drm_exec *exec = &vme->exec;
	int ret = 0;

	drm_exec_init(exec, vme->flags, 0);
	drm_exec_until_all_locked(exec) {
		ret = nouveau_like_bind_lock_validate(exec, bops, n,
						      vme->num_fences);
		drm_exec_retry_on_contention(exec);
		if (ret)
			break;
	}
	KUNIT_EXPECT_EQ(rp->test, ret, 0);
}

/* The cleanup's vm_bo put, under the BO's resv, and the lookup's put. */
static void nouveau_like_put_vm_bo(struct nouveau_like_bind_op *bop)
{
	struct drm_gem_object *obj = bop->obj;

	if (!bop->vm_bo)
		return;
	dma_resv_lock(obj->resv, NULL);
	drm_gpuvm_bo_put(bop->vm_bo);
	dma_resv_unlock(obj->resv);
	drm_gem_object_put(obj);
}

/* bind_link_gpuvas() */
static void nouveau_like_link(struct nouveau_like_bind_op *bop)
{
	struct drm_gpuva_op *op;

	drm_gpuva_for_each_op(op, bop->ops) {
		struct drm_gpuva *va;

		switch (op->op) {
		case DRM_GPUVA_OP_MAP:
			drm_gpuva_link(&bop->new.map->va, bop->vm_bo);
			break;
		case DRM_GPUVA_OP_REMAP:
			va = op->remap.unmap->va;
			if (op->remap.prev)
				drm_gpuva_link(&bop->new.prev->va, va->vm_bo);
			if (op->remap.next)
				drm_gpuva_link(&bop->new.next->va, va->vm_bo);
			drm_gpuva_unlink(va);
			break;
		case DRM_GPUVA_OP_UNMAP:
			drm_gpuva_unlink(op->unmap.va);
			break;
		default:
			break;
		}
	}
}

/*
 * nouveau_uvmm_sm() in the job's run_job: the plan walked again, the
 * page-table work skipped for invalidated mappings (op_map(),
 * op_unmap_range()); it returns how many mappings were skipped.
 */
static int nouveau_like_sm_run(struct nouveau_like_bind_op *bop)
{
	struct drm_gpuva_op *op;
	int skipped = 0;

	drm_gpuva_for_each_op(op, bop->ops) {
		switch (op->op) {
		case DRM_GPUVA_OP_MAP:
			skipped += drm_gpuva_invalidated(&bop->new.map->va);
			break;
		case DRM_GPUVA_OP_REMAP:
			skipped += drm_gpuva_invalidated(op->remap.unmap->va);
			break;
		case DRM_GPUVA_OP_UNMAP:
			if (!op->unmap.keep)
				skipped += drm_gpuva_invalidated(op->unmap.va);
			break;
		default:
			break;
		}
	}
	return skipped;
}

/*
 * nouveau_job_submit() -> nouveau_uvmm_bind_job_submit() of @n ops, the
 * job's run and its cleanup (nouveau_uvmm_bind_job_cleanup()). A failing
 * op (a sparse region over mapped space) unwinds the ops before it and
 * returns -ENOSPC, as nouveau does.
 */
static int nouveau_like_bind_job(struct nouveau_like_uvmm *uvmm,
				 struct nouveau_like_bind_op *bops,
				 unsigned int n)
{
	struct drm_gpuvm_exec vme = {
		.vm = &uvmm->base,
		.flags = DRM_EXEC_IGNORE_DUPLICATES,
		.num_fences = 1,
	};
	struct dma_fence *fence;
	struct drm_gpuva_op *va_op;
	unsigned int i;
	int j, ret = 0;

	mutex_lock(&uvmm->cli->sched_mutex);
	/* bind_validate_op(): every op's interval. */
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_TRUE(rp->test,
				  drm_gpuvm_range_valid(&uvmm->base,
							bops[i].addr,
							bops[i].range));
	/* The vm_bo of each map, under the BO's resv only. */
	for (i = 0; i < n; i++) {
		struct drm_gem_object *obj = bops[i].obj;

		if (bops[i].op != NV_OP_MAP)
			continue;
		drm_gem_object_get(obj);	/* drm_gem_object_lookup() */
		dma_resv_lock(obj->resv, NULL);
		bops[i].vm_bo = drm_gpuvm_bo_obtain(&uvmm->base, obj);
		dma_resv_unlock(obj->resv);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(rp->test, bops[i].vm_bo);
		drm_gpuvm_bo_extobj_add(bops[i].vm_bo);
	}

	mutex_lock(&uvmm->mutex);
	for (i = 0; i < n; i++) {
		struct nouveau_like_bind_op *bop = &bops[i];

		switch (bop->op) {
		case NV_OP_MAP_SPARSE:
			/* nouveau_uvma_region_create() */
			if (!drm_gpuvm_interval_empty(&uvmm->base, bop->addr,
						      bop->range)) {
				ret = -ENOSPC;
				goto unwind;
			}
			continue;
		case NV_OP_UNMAP_SPARSE:
		case NV_OP_UNMAP:
			bop->ops = drm_gpuvm_sm_unmap_ops_create(&uvmm->base,
								 bop->addr,
								 bop->range);
			break;
		case NV_OP_MAP:
			bop->ops = drm_gpuvm_sm_map_ops_create(&uvmm->base,
							       bop->addr,
							       bop->range,
							       bop->obj,
							       bop->offset);
			break;
		}
		KUNIT_ASSERT_NOT_ERR_OR_NULL(rp->test, bop->ops);
		nouveau_like_sm_prepare(uvmm, bop);
		/* nouveau_uvma_region_empty() before the region goes. */
		if (bop->op == NV_OP_UNMAP_SPARSE)
			KUNIT_EXPECT_TRUE(rp->test,
					  drm_gpuvm_interval_empty(&uvmm->base,
								   bop->addr,
								   bop->range));
	}

	nouveau_like_bind_lock(&vme, bops, n);
	for (i = 0; i < n; i++)
		if (bops[i].ops)
			nouveau_like_link(&bops[i]);
	mutex_unlock(&uvmm->mutex);

	/* nouveau_uvmm_bind_job_armed_submit() */
	fence = dma_fence_get_stub();
	drm_gpuvm_exec_resv_add_fence(&vme, fence, DMA_RESV_USAGE_BOOKKEEP,
				      DMA_RESV_USAGE_BOOKKEEP);
	drm_gpuvm_exec_unlock(&vme);
	mutex_unlock(&uvmm->cli->sched_mutex);
	dma_fence_put(fence);

	/* nouveau_uvmm_bind_job_run(): nothing was evicted meanwhile. */
	for (i = 0; i < n; i++)
		if (bops[i].ops)
			KUNIT_EXPECT_EQ(rp->test, nouveau_like_sm_run(&bops[i]), 0);

	/* nouveau_uvmm_bind_job_cleanup(), in the scheduler's free_job. */
	for (i = 0; i < n; i++) {
		struct nouveau_like_bind_op *bop = &bops[i];

		/* nouveau_uvmm_sm_cleanup(): the replaced mappings go. */
		if (bop->ops) {
			drm_gpuva_for_each_op(va_op, bop->ops) {
				struct drm_gpuva *va = NULL;

				if (va_op->op == DRM_GPUVA_OP_REMAP)
					va = va_op->remap.unmap->va;
				else if (va_op->op == DRM_GPUVA_OP_UNMAP)
					va = va_op->unmap.va;
				if (!va)
					continue;
				drm_gem_object_put(va->gem.obj);
				nouveau_like_uvma_free(container_of(va,
								    struct nouveau_like_uvma,
								    va));
			}
			drm_gpuva_ops_free(&uvmm->base, bop->ops);
		}
		nouveau_like_put_vm_bo(bop);
	}
	return 0;

unwind:
	/*
	 * The ops before the failing one, from the last: their plans undone
	 * and freed. nouveau then calls drm_gpuvm_exec_unlock() on the
	 * drm_exec it never initialised; that is drm_exec_fini() on an
	 * all-zero context, not a GPUVM call, and is left out.
	 */
	for (j = (int)i - 1; j >= 0; j--) {
		if (!bops[j].ops)
			continue;
		nouveau_like_sm_prepare_unwind(uvmm, &bops[j]);
		drm_gpuva_ops_free(&uvmm->base, bops[j].ops);
		bops[j].ops = NULL;
	}
	mutex_unlock(&uvmm->mutex);
	mutex_unlock(&uvmm->cli->sched_mutex);
	for (i = 0; i < n; i++)
		nouveau_like_put_vm_bo(&bops[i]);
	return ret;
}

/*
 * nouveau_bo_move(): eviction marks every VM's vm_bo and
 * nouveau_uvmm_bo_unmap_all() invalidates the mappings.
 */
static void nouveau_like_bo_evict(struct drm_gem_object *obj)
{
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gpuva *va;

	dma_resv_lock(obj->resv, NULL);
	drm_gpuvm_bo_gem_evict(obj, true);
	drm_gem_for_each_gpuvm_bo(vm_bo, obj)
		drm_gpuvm_bo_for_each_va(va, vm_bo)
			drm_gpuva_invalidate(va, true);
	dma_resv_unlock(obj->resv);
}

/* nouveau_exec_job_submit() + nouveau_exec_job_armed_submit() */
static void nouveau_like_exec(struct nouveau_like_uvmm *uvmm,
			      unsigned int expect_locked)
{
	struct drm_gpuvm_exec vme = {
		.vm = &uvmm->base,
		.flags = DRM_EXEC_IGNORE_DUPLICATES,
		.num_fences = 1,
	};
	struct dma_fence *fence = dma_fence_get_stub();
	struct drm_gem_object *obj;
	unsigned int n = 0;

	mutex_lock(&uvmm->mutex);
	KUNIT_ASSERT_EQ(rp->test, drm_gpuvm_exec_lock(&vme), 0);
	mutex_unlock(&uvmm->mutex);
	KUNIT_EXPECT_EQ(rp->test, drm_gpuvm_exec_validate(&vme), 0);
	drm_exec_for_each_locked_object(&vme.exec, obj)
		n++;
	KUNIT_EXPECT_EQ(rp->test, n, expect_locked);
	drm_gpuvm_exec_resv_add_fence(&vme, fence, DMA_RESV_USAGE_WRITE,
				      DMA_RESV_USAGE_WRITE);
	drm_gpuvm_exec_unlock(&vme);
	dma_fence_put(fence);
}

/* nouveau_uvmm_fini(): remove, then unlink under the BO's resv, free. */
static void nouveau_like_uvmm_fini(struct nouveau_like_uvmm *uvmm)
{
	struct nouveau_like_cli *cli = uvmm->cli;
	struct drm_gpuva *va, *next;

	mutex_lock(&uvmm->mutex);
	drm_gpuvm_for_each_va_safe(va, next, &uvmm->base) {
		struct drm_gem_object *obj = va->gem.obj;

		if (unlikely(va == &uvmm->base.kernel_alloc_node))
			continue;
		drm_gpuva_remove(va);
		dma_resv_lock(obj->resv, NULL);
		drm_gpuva_unlink(va);
		dma_resv_unlock(obj->resv);
		drm_gem_object_put(obj);
		nouveau_like_uvma_free(container_of(va, struct nouveau_like_uvma,
						    va));
	}
	mutex_unlock(&uvmm->mutex);
	mutex_destroy(&uvmm->mutex);
	mutex_lock(&cli->mutex);
	drm_gpuvm_put(&uvmm->base);
	mutex_unlock(&cli->mutex);
}

/*
 * A nouveau client VM: the kernel manages [0, 4 GiB); a shared BO S and a
 * NO_SHARE BO N (the VM's resv, a reference on its root object).
 *
 *	job 1: map S at 4G..4G+4p, map N at 4G+8p..4G+12p
 *	job 2: map N over S's middle (REMAP S, MAP), then a failing op: the
 *	       job unwinds and the space is as after job 1
 *	job 3: the same without the failing op
 *	S evicted; exec: the VM's resv and S locked, S validated, its
 *	move-in un-evicts it from inside the walk
 *	job 4: unmap all of N; fini
 */
static void drm_test_gpuvm_replay_nouveau(struct kunit *test)
{
	const u64 base = 1ULL << 32;
	struct replay *r = test->priv;
	struct nouveau_like_cli cli;
	struct nouveau_like_uvmm *uvmm;
	struct replay_bo *s, *nb;
	struct nouveau_like_bind_op job[3];
	struct dma_resv *resv;
	struct drm_gpuva *va;

	mutex_init(&cli.mutex);
	mutex_init(&cli.sched_mutex);
	uvmm = nouveau_like_vm_init(r, &cli);
	s = replay_bo_new(r, 8 * SZ_PAGE, NULL);

	/* nouveau_gem_new() of a NO_SHARE BO: the VM's resv, its root. */
	resv = drm_gpuvm_resv(&uvmm->base);
	nb = replay_bo_new(r, 8 * SZ_PAGE, resv);
	nb->root_ref = drm_gpuvm_resv_obj(&uvmm->base);
	drm_gem_object_get(nb->root_ref);
	nb->put_root_first = true;	/* nouveau_bo_del_ttm() */

	/* nouveau_uvmm_validate_range(): the kernel's interval is refused. */
	KUNIT_EXPECT_FALSE(test, drm_gpuvm_range_valid(&uvmm->base, 0, SZ_PAGE));

	/* Job 1: map S, map N, and a sparse region in empty space. */
	memset(job, 0, sizeof(job));
	job[0] = (struct nouveau_like_bind_op){ .op = NV_OP_MAP, .addr = base,
		.range = 4 * SZ_PAGE, .obj = &s->base };
	job[1] = (struct nouveau_like_bind_op){ .op = NV_OP_MAP,
		.addr = base + 8 * SZ_PAGE, .range = 4 * SZ_PAGE,
		.obj = &nb->base };
	job[2] = (struct nouveau_like_bind_op){ .op = NV_OP_MAP_SPARSE,
		.addr = base + 16 * SZ_PAGE, .range = 4 * SZ_PAGE };
	KUNIT_ASSERT_EQ(test, nouveau_like_bind_job(uvmm, job, 3), 0);

	/*
	 * Job 2: map N over the middle of S, then a sparse region over
	 * mapped space: the region is refused and the first op unwound.
	 */
	memset(job, 0, sizeof(job));
	job[0] = (struct nouveau_like_bind_op){ .op = NV_OP_MAP,
		.addr = base + SZ_PAGE, .range = 2 * SZ_PAGE,
		.obj = &nb->base, .offset = 4 * SZ_PAGE };
	job[1] = (struct nouveau_like_bind_op){ .op = NV_OP_MAP_SPARSE,
		.addr = base, .range = 4 * SZ_PAGE };
	KUNIT_EXPECT_EQ(test, nouveau_like_bind_job(uvmm, job, 2), -ENOSPC);
	{
		const struct replay_map exp[] = {
			{ base, 4 * SZ_PAGE, &s->base, 0 },
			{ base + 8 * SZ_PAGE, 4 * SZ_PAGE, &nb->base, 0 },
		};

		replay_space_is(test, &uvmm->base, exp, ARRAY_SIZE(exp));
	}

	/* Job 3: the map alone. */
	memset(job, 0, sizeof(job));
	job[0] = (struct nouveau_like_bind_op){ .op = NV_OP_MAP,
		.addr = base + SZ_PAGE, .range = 2 * SZ_PAGE,
		.obj = &nb->base, .offset = 4 * SZ_PAGE };
	KUNIT_ASSERT_EQ(test, nouveau_like_bind_job(uvmm, job, 1), 0);
	{
		const struct replay_map exp[] = {
			{ base, SZ_PAGE, &s->base, 0 },
			{ base + SZ_PAGE, 2 * SZ_PAGE, &nb->base, 4 * SZ_PAGE },
			{ base + 3 * SZ_PAGE, SZ_PAGE, &s->base, 3 * SZ_PAGE },
			{ base + 8 * SZ_PAGE, 4 * SZ_PAGE, &nb->base, 0 },
		};

		replay_space_is(test, &uvmm->base, exp, ARRAY_SIZE(exp));
	}

	/* S moves out; the next exec moves it back in. */
	nouveau_like_bo_evict(&s->base);
	drm_gpuvm_for_each_va(va, &uvmm->base)
		if (va->gem.obj == &s->base)
			KUNIT_EXPECT_TRUE(test, drm_gpuva_invalidated(va));
	nouveau_like_exec(uvmm, 2);
	KUNIT_EXPECT_EQ(test, uvmm->validated, 1);
	drm_gpuvm_for_each_va(va, &uvmm->base)
		KUNIT_EXPECT_FALSE(test, drm_gpuva_invalidated(va));
	KUNIT_EXPECT_TRUE(test, list_empty(&uvmm->base.evict.list));

	/* Job 4: unmap both mappings of N, then the sparse region. */
	memset(job, 0, sizeof(job));
	job[0] = (struct nouveau_like_bind_op){ .op = NV_OP_UNMAP,
		.addr = base + SZ_PAGE, .range = 2 * SZ_PAGE };
	job[1] = (struct nouveau_like_bind_op){ .op = NV_OP_UNMAP,
		.addr = base + 8 * SZ_PAGE, .range = 4 * SZ_PAGE };
	job[2] = (struct nouveau_like_bind_op){ .op = NV_OP_UNMAP_SPARSE,
		.addr = base + 16 * SZ_PAGE, .range = 4 * SZ_PAGE };
	KUNIT_ASSERT_EQ(test, nouveau_like_bind_job(uvmm, job, 3), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&nb->base.gpuva.list));

	nouveau_like_uvmm_fini(uvmm);
	KUNIT_EXPECT_TRUE(test, r->vm_freed);
	drm_gem_object_put(&s->base);
	drm_gem_object_put(&nb->base);
	mutex_destroy(&cli.mutex);
	mutex_destroy(&cli.sched_mutex);
}

/* ---- Suite -------------------------------------------------------------- */

static struct kunit_case drm_gpuvm_replay_tests[] = {
	KUNIT_CASE(drm_test_gpuvm_replay_pvr),
	KUNIT_CASE(drm_test_gpuvm_replay_panthor),
	KUNIT_CASE(drm_test_gpuvm_replay_xe),
	KUNIT_CASE(drm_test_gpuvm_replay_nouveau),
	{}
};

static struct kunit_suite drm_gpuvm_replay_suite = {
	.name = "drm_gpuvm_replay",
	.init = replay_init,
	.exit = replay_exit,
	.test_cases = drm_gpuvm_replay_tests,
};

kunit_test_suite(drm_gpuvm_replay_suite);

MODULE_DESCRIPTION("KUnit replays of the DRM GPU VA manager's in-tree callers");
MODULE_LICENSE("Dual MIT/GPL");
