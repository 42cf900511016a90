// SPDX-License-Identifier: GPL-2.0-only OR MIT

#include <drm/drm_drv.h>
#include <drm/drm_gpuvm.h>

#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include <linux/export.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>

/**
 * DOC: Overview
 *
 * GPUVM keeps the book of a GPU virtual address space for a driver's
 * VM_BIND implementation. It does not touch page tables; it tells the driver
 * which mappings to create, cut and drop, and keeps track of the GEM objects
 * behind them.
 *
 * A driver embeds a &struct drm_gpuvm in its VM and sets it up with
 * drm_gpuvm_init(): the space is [start, start + range), optionally with a
 * kernel-reserved interval inside it that no request may touch. Every
 * mapping is a &struct drm_gpuva, usually embedded in a driver structure.
 * Mappings never overlap. They live in a red-black tree ordered by address;
 * because they are disjoint, their end addresses are ordered too, so a
 * plain tree descent finds the first mapping overlapping any interval in
 * O(log n) and the iterators step in order with rb_next().
 *
 * Each GEM object mapped in a VM has one &struct drm_gpuvm_bo for that VM
 * (the vm_bo). The GEM object lists its vm_bos, each vm_bo lists its
 * mappings. A vm_bo holds a reference on its VM and on its GEM object; each
 * linked mapping holds a reference on its vm_bo.
 *
 * The VM has a common &dma_resv, taken from a GEM object given at init
 * (drm_gpuvm_resv_object_alloc() makes a dummy one). Objects that share it
 * are private to the VM and are locked with it. All others are external
 * objects: the VM lists them, so that drm_gpuvm_exec_lock() can lock
 * everything a job needs, and drm_gpuvm_resv_add_fence() can fence it.
 * Evicted objects are listed too, so drm_gpuvm_validate() can bring back
 * exactly those before the next job runs.
 *
 * A request to map or unmap an interval is turned into a sequence of steps
 * (see "Split and Merge"). A driver either receives the steps through
 * callbacks while they are computed (drm_gpuvm_sm_map(),
 * drm_gpuvm_sm_unmap()), or asks for the whole plan as a list first
 * (drm_gpuvm_sm_map_ops_create() and friends), so that it can allocate
 * everything before the point of no return and apply the plan later,
 * possibly from a path that must not allocate.
 *
 * **Differences from earlier versions.** This GPUVM replaces the one
 * drivers were written against and behaves as it did, except in the
 * points below, each chosen on purpose and each proven by the KUnit case
 * drm_test_gpuvm_differences:
 *
 * - An empty interval (range 0) is invalid everywhere, and so is one that
 *   overflows u64: the range check, insertion, every request and the
 *   locking helpers return -EINVAL, lookups NULL, and
 *   drm_gpuvm_interval_empty() false. An empty request is a caller's
 *   mistake, and letting it through made "valid" depend on the function.
 * - drm_gpuva_find_prev(@start) returns only a mapping ending exactly at
 *   @start and drm_gpuva_find_next(@end) only one beginning exactly at
 *   @end; with a gap in between, NULL. Callers ask for the neighbour they
 *   could merge with, which touches.
 * - drm_gpuva_link() with a vm_bo of another GEM object than the
 *   mapping's warns once and links nothing, instead of corrupting the
 *   object's list of mappings.
 * - Asking for zero fence slots locks without reserving in every helper,
 *   drm_gpuvm_exec_lock_array()'s objects included: one rule for
 *   @num_fences, where the earlier version passed zero on to dma_resv for
 *   the array, which warns and fails.
 * - drm_gpuvm_prefetch_ops_create() checks its interval like every other
 *   request and returns -EINVAL for a bad one, instead of a plan that may
 *   include the kernel-reserved node.
 * - drm_gpuvm_prepare_objects() never frees a vm_bo. With the internal
 *   spinlocks the earlier version held a reference on each vm_bo it
 *   locked, so when another thread dropped the last other one while the
 *   walk waited for the object's lock, the walk freed the vm_bo without
 *   that lock; see the Locking section.
 */

/**
 * DOC: Split and Merge
 *
 * A map request R = [a, a + r) backed by (obj, offset) produces one step
 * for every existing mapping that overlaps R, in address order, and then
 * one final MAP step for R itself. For an existing mapping E:
 *
 * - E lies inside R: UNMAP E.
 * - E starts below R: REMAP E, keeping [E.start, a) as @prev, with E's
 *   object and offset.
 * - E ends above R: REMAP E, keeping [a + r, E.end) as @next, with E's
 *   object and E's offset advanced by (a + r - E.start).
 * - E sticks out on both sides: one REMAP with both @prev and @next.
 *
 * Only the first and the last overlapping mapping can stick out, so a
 * request yields at most two REMAP steps and any number of UNMAP steps.
 *
 * The unmap part of a step carries @keep. It is true when E and R use the
 * same, non-NULL, GEM object and agree on the object offset at every
 * address they share, i.e. E.offset - E.start == offset - a. The page-table
 * entries of the shared addresses are then already right and the driver
 * may leave them alone. A request identical to an existing mapping thus
 * yields UNMAP(keep) followed by MAP.
 *
 * In the pictures below, each row is the address space; letters name the
 * object and digits the page offset into it of each page. "old" is the
 * space before, "req" the request, "new" the space after.
 *
 * 1) Same interval, same object and offset::
 *
 *	old: |a0 a1 a2 a3|
 *	req: |a0 a1 a2 a3|
 *	new: |a0 a1 a2 a3|         UNMAP(keep) old, MAP req
 *
 * 2) Same interval, another object (or the same object at another
 *    offset)::
 *
 *	old: |a0 a1 a2 a3|
 *	req: |b0 b1 b2 b3|
 *	new: |b0 b1 b2 b3|         UNMAP old, MAP req
 *
 * 3) Request covers the start of the old mapping::
 *
 *	old: |a0 a1 a2 a3|
 *	req: |b0 b1|
 *	new: |b0 b1|a2 a3|         REMAP old (next = a2 a3), MAP req
 *
 *    With the request equal to a0 a1, @keep is true.
 *
 * 4) Request covers the end of the old mapping::
 *
 *	old: |a0 a1 a2 a3|
 *	req:       |b0 b1|
 *	new: |a0 a1|b0 b1|         REMAP old (prev = a0 a1), MAP req
 *
 * 5) Request strictly inside the old mapping::
 *
 *	old: |a0 a1 a2 a3|
 *	req:    |b0 b1|
 *	new: |a0|b0 b1|a3|         REMAP old (prev = a0, next = a3), MAP req
 *
 *    With the request equal to a1 a2, @keep is true.
 *
 * 6) Request starts inside and ends past the old mapping::
 *
 *	old: |a0 a1 a2|
 *	req:    |b0 b1 b2 b3|
 *	new: |a0|b0 b1 b2 b3|      REMAP old (prev = a0), MAP req
 *
 *    With the request continuing object a at a1, @keep is true.
 *
 * 7) Request starts before and ends inside the old mapping::
 *
 *	old:    |a0 a1 a2|
 *	req: |b0 b1 b2|
 *	new: |b0 b1 b2|a2|         REMAP old (next = a2), MAP req
 *
 * 8) Request covers the old mapping and more on both sides::
 *
 *	old:    |a0 a1|
 *	req: |b0 b1 b2 b3|
 *	new: |b0 b1 b2 b3|         UNMAP old, MAP req
 *
 * 9) Request next to the old mapping, touching but not overlapping::
 *
 *	old: |a0 a1|
 *	req:       |b0 b1|
 *	new: |a0 a1|b0 b1|         MAP req
 *
 *    No step for the old mapping, whatever its object: GPUVM never merges
 *    neighbours.
 *
 * 10) Request before the old mapping, touching it::
 *
 *	old:       |a0 a1|
 *	req: |b0 b1|
 *	new: |b0 b1|a0 a1|         MAP req
 *
 * 11) Request spanning several mappings and the holes between them::
 *
 *	old: |a0 a1|  |b0|  |c0 c1|
 *	req:    |d0 d1 d2 d3 d4|
 *	new: |a0|d0 d1 d2 d3 d4|c1|
 *
 *     REMAP a (prev = a0), UNMAP b, REMAP c (next = c1), MAP req.
 *
 * 12) Request over a sparse mapping (no object)::
 *
 *	old: |-- -- -- --|
 *	req:    |-- --|
 *	new: |--|-- --|--|         REMAP old (prev, next), MAP req
 *
 *     @keep is never true for a mapping without an object.
 *
 * 13) Request in a hole::
 *
 *	old: |a0|     |b0|
 *	req:    |c0 c1|
 *	new: |a0|c0 c1|b0|         MAP req
 *
 * 14) Request over the whole of two adjacent mappings::
 *
 *	old: |a0 a1|b0 b1|
 *	req: |c0 c1 c2 c3|
 *	new: |c0 c1 c2 c3|         UNMAP a, UNMAP b, MAP req
 *
 * 15) Request covering the end of one mapping and the start of the next::
 *
 *	old: |a0 a1|b0 b1|
 *	req:    |c0 c1|
 *	new: |a0|c0 c1|b1|         REMAP a (prev), REMAP b (next), MAP req
 *
 * An unmap request [a, a + r) yields, for each overlapping mapping, UNMAP
 * when it lies inside the request and REMAP otherwise, with the parts
 * outside the request as @prev and @next, exactly as above but without a
 * final MAP; @keep is always false.
 *
 * The steps are computed from the tree as it is when each one is emitted.
 * A callback driver applies each step (drm_gpuva_map(), drm_gpuva_remap(),
 * drm_gpuva_unmap()) inside its callback; the walk has read everything it
 * needs from a mapping before handing it over, so that is safe, and both
 * APIs produce the same sequence.
 */

/**
 * DOC: Locking
 *
 * GPUVM takes no lock to protect the tree of mappings: the driver
 * serializes all changes of a VA space, usually with a VM-wide mutex, and
 * holds it across the computation of a plan and its application.
 *
 * The GEM object's list of vm_bos and each vm_bo's list of mappings are
 * protected by the GEM object's dma-resv, or by a driver lock registered
 * with drm_gem_gpuva_set_lock(). drm_gpuvm_bo_obtain(), drm_gpuvm_bo_find(),
 * drm_gpuva_link(), drm_gpuva_unlink(), the final drm_gpuvm_bo_put() and
 * drm_gpuvm_bo_unmap_ops_create() assert it with lockdep.
 *
 * The VM's external-object and evicted-object lists have two modes:
 *
 * - By default each has an internal spinlock. The lists may then be
 *   changed from paths that cannot take the VM's dma-resv, such as a
 *   driver's fence-signalling path. The walks in
 *   drm_gpuvm_prepare_objects() and drm_gpuvm_validate() take one entry
 *   at a time off the VM's list and drop the spinlock around each
 *   callback, so entries may come and go during the walk: one added
 *   meanwhile is visited too, one removed meanwhile is not.
 *   drm_gpuvm_prepare_objects() only pins the GEM object it is locking, so
 *   a vm_bo whose last reference another thread drops meanwhile is freed
 *   by that thread, under its own locks. drm_gpuvm_validate() holds a
 *   reference on the vm_bo it visits and may be the one to free it; it
 *   runs with every listed object locked, as drm_gpuvm_exec_lock() leaves
 *   them, which is what freeing requires.
 * - With %DRM_GPUVM_RESV_PROTECTED the VM's common dma-resv protects them
 *   and every path that may touch them asserts it is held, whether or not
 *   an entry is listed at that moment. Eviction of an external object is
 *   signalled under that object's dma-resv only, so drm_gpuvm_bo_evict()
 *   then just records the state in the vm_bo; drm_gpuvm_prepare_objects(),
 *   which holds the VM's dma-resv, lists it when it locks the object.
 *
 * What drm_gpuvm_validate() guarantees differs between the two modes. In
 * both, it calls &drm_gpuvm_ops.vm_bo_validate for the vm_bos on the
 * evicted list, whatever their &drm_gpuvm_bo.evicted flag says, including
 * one that joins the list during the walk (a callback holding every lock
 * may evict another object); a vm_bo whose last reference is being
 * dropped meanwhile is skipped. How an entry leaves the list:
 *
 * - drm_gpuvm_bo_evict(vm_bo, false), typically from the move
 *   notification the callback triggers, takes it off at once, except an
 *   external object's entry in %DRM_GPUVM_RESV_PROTECTED mode, which that
 *   function does not touch.
 * - In %DRM_GPUVM_RESV_PROTECTED mode, an entry whose flag is clear after
 *   a successful callback leaves the list, however the flag was cleared
 *   (xe writes it by hand), so a driver may loop until the list is empty.
 * - With the internal spinlocks, an entry whose flag the driver cleared by
 *   hand stays listed and is validated again next time.
 *
 * drm_gpuvm_bo_evict() itself requires the GEM object's dma-resv.
 */

/**
 * DOC: Examples
 *
 * A VM_BIND map with a plan built up front, as nouveau and xe do; the
 * mappings and vm_bo are prepared while allocating is allowed, and the
 * plan is applied without any allocation::
 *
 *	// with the driver's VM lock held
 *	dma_resv_lock(obj->resv, NULL);
 *	vm_bo = drm_gpuvm_bo_obtain(gpuvm, obj);
 *	dma_resv_unlock(obj->resv);
 *	if (IS_ERR(vm_bo))
 *		return PTR_ERR(vm_bo);
 *
 *	ops = drm_gpuvm_sm_map_ops_create(gpuvm, addr, range, obj, offset);
 *	if (IS_ERR(ops)) {
 *		ret = PTR_ERR(ops);
 *		goto put_vm_bo;
 *	}
 *	// allocate one driver mapping per MAP step and per REMAP prev/next
 *
 *	dma_resv_lock(obj->resv, NULL);	// and every other object involved
 *	drm_gpuva_for_each_op(op, ops) {
 *		switch (op->op) {
 *		case DRM_GPUVA_OP_MAP:
 *			va = next_prealloc();
 *			drm_gpuva_map(gpuvm, va, &op->map);
 *			drm_gpuva_link(va, vm_bo);
 *			break;
 *		case DRM_GPUVA_OP_REMAP: {
 *			struct drm_gpuva *old = op->remap.unmap->va;
 *			struct drm_gpuva *prev = NULL, *next = NULL;
 *
 *			if (op->remap.prev)
 *				prev = next_prealloc();
 *			if (op->remap.next)
 *				next = next_prealloc();
 *			drm_gpuva_remap(prev, next, &op->remap);
 *			if (prev)
 *				drm_gpuva_link(prev, old->vm_bo);
 *			if (next)
 *				drm_gpuva_link(next, old->vm_bo);
 *			drm_gpuva_unlink(old);
 *			free_driver_va(old);
 *			break;
 *		}
 *		case DRM_GPUVA_OP_UNMAP:
 *			va = op->unmap.va;
 *			drm_gpuva_unmap(&op->unmap);
 *			drm_gpuva_unlink(va);
 *			free_driver_va(va);
 *			break;
 *		default:
 *			break;
 *		}
 *	}
 *	dma_resv_unlock(obj->resv);
 *	drm_gpuva_ops_free(gpuvm, ops);
 *
 * The same request on the fence-signalling path, as panthor and
 * imagination do: the vm_bo and the new mappings are allocated before, the
 * callbacks only consume them::
 *
 *	vm_bo = drm_gpuvm_bo_create(gpuvm, obj);	// may sleep
 *	...
 *	dma_resv_lock(drm_gpuvm_resv(gpuvm), NULL);
 *	mutex_lock(&my_obj->gpuva_lock);	// set with drm_gem_gpuva_set_lock()
 *	vm_bo = drm_gpuvm_bo_obtain_prealloc(vm_bo);
 *	mutex_unlock(&my_obj->gpuva_lock);
 *	drm_gpuvm_bo_extobj_add(vm_bo);
 *	dma_resv_unlock(drm_gpuvm_resv(gpuvm));
 *	...
 *	ret = drm_gpuvm_sm_map(gpuvm, ctx, addr, range, obj, offset);
 *
 *	static int my_step_map(struct drm_gpuva_op *op, void *priv)
 *	{
 *		struct my_ctx *ctx = priv;
 *
 *		// program the page tables, then record the new mapping
 *		drm_gpuva_map(ctx->gpuvm, &ctx->new_va->base, &op->map);
 *		drm_gpuva_link(&ctx->new_va->base, ctx->vm_bo);
 *		ctx->new_va = NULL;
 *		return 0;
 *	}
 *
 * Submitting a job: lock the VM and every external object, bring back
 * what was evicted, then fence everything::
 *
 *	struct drm_gpuvm_exec vm_exec = {
 *		.vm = gpuvm,
 *		.flags = DRM_EXEC_INTERRUPTIBLE_WAIT,
 *		.num_fences = 1,
 *	};
 *
 *	ret = drm_gpuvm_exec_lock(&vm_exec);
 *	if (ret)
 *		return ret;
 *	ret = drm_gpuvm_exec_validate(&vm_exec);
 *	if (ret)
 *		goto unlock;
 *	fence = my_submit(job);
 *	drm_gpuvm_exec_resv_add_fence(&vm_exec, fence, DMA_RESV_USAGE_BOOKKEEP,
 *				      DMA_RESV_USAGE_BOOKKEEP);
 *	unlock:
 *	drm_gpuvm_exec_unlock(&vm_exec);
 */

/*
 * Memory the library allocates for itself (operation lists, REMAP pieces,
 * ops and vm_bos when the driver has no allocator of its own, the common
 * dma-resv object) comes from this pair. Under KUnit a test can stub them
 * to fail the Nth allocation and to count what is given back.
 */
VISIBLE_IF_KUNIT void *drm_gpuvm_kzalloc(size_t size)
{
	KUNIT_STATIC_STUB_REDIRECT(drm_gpuvm_kzalloc, size);
	return kzalloc(size, GFP_KERNEL);
}
EXPORT_SYMBOL_IF_KUNIT(drm_gpuvm_kzalloc);

VISIBLE_IF_KUNIT void drm_gpuvm_kfree(const void *ptr)
{
	KUNIT_STATIC_STUB_REDIRECT(drm_gpuvm_kfree, ptr);
	kfree(ptr);
}
EXPORT_SYMBOL_IF_KUNIT(drm_gpuvm_kfree);

/* Address helpers. A valid mapping never ends past U64_MAX + 1. */
static inline u64 gpuva_end(const struct drm_gpuva *va)
{
	return va->va.addr + va->va.range;
}

/*
 * Checks an interval given by a caller: not empty and representable.
 * Returns the exclusive end in @end.
 */
static bool interval_ok(u64 addr, u64 range, u64 *end)
{
	return range && !check_add_overflow(addr, range, end);
}

static bool interval_inside_space(struct drm_gpuvm *gpuvm, u64 addr, u64 end)
{
	return addr >= gpuvm->mm_start &&
	       end <= gpuvm->mm_start + gpuvm->mm_range;
}

static bool interval_hits_reserved(struct drm_gpuvm *gpuvm, u64 addr, u64 end)
{
	const struct drm_gpuva *kva = &gpuvm->kernel_alloc_node;

	if (!kva->va.range)
		return false;
	return addr < gpuva_end(kva) && kva->va.addr < end;
}

/**
 * drm_gpuvm_range_valid() - check an interval a driver was asked to use
 * @gpuvm: the VA space
 * @addr: first address
 * @range: size in bytes
 *
 * This is the single check every request of this library goes through.
 *
 * Context: Any context.
 * Return: true if the interval is not empty, does not overflow u64, lies
 * inside the VA space and does not touch the kernel-reserved interval.
 */
bool drm_gpuvm_range_valid(struct drm_gpuvm *gpuvm, u64 addr, u64 range)
{
	u64 end;

	return interval_ok(addr, range, &end) &&
	       interval_inside_space(gpuvm, addr, end) &&
	       !interval_hits_reserved(gpuvm, addr, end);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_range_valid);

/*
 * Tree lookups. Mappings are disjoint, so ordering them by start address
 * orders their ends as well: the first mapping overlapping [addr, end) is
 * the leftmost one whose end is above @addr, provided it starts below @end.
 */
static struct drm_gpuva *first_ending_above(struct drm_gpuvm *gpuvm, u64 addr)
{
	struct rb_node *node = gpuvm->tree.rb_root.rb_node;
	struct drm_gpuva *best = NULL;

	while (node) {
		struct drm_gpuva *va = rb_entry(node, struct drm_gpuva, rb);

		if (gpuva_end(va) > addr) {
			best = va;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return best;
}

/**
 * __drm_gpuvm_range_first() - first mapping overlapping [start, end)
 * @gpuvm: the VA space
 * @start: first address
 * @end: first address after the interval
 *
 * Backs the range iterators; drivers use drm_gpuva_find_first().
 *
 * Context: The caller serializes against changes of the VA space.
 * Return: the lowest mapping overlapping the interval, or NULL.
 */
struct drm_gpuva *__drm_gpuvm_range_first(struct drm_gpuvm *gpuvm,
					  u64 start, u64 end)
{
	struct drm_gpuva *va;

	if (start >= end)
		return NULL;
	va = first_ending_above(gpuvm, start);
	return va && va->va.addr < end ? va : NULL;
}
EXPORT_SYMBOL_GPL(__drm_gpuvm_range_first);

/**
 * drm_gpuva_find_first() - first mapping overlapping an interval
 * @gpuvm: the VA space
 * @addr: first address
 * @range: size in bytes
 *
 * Context: The caller serializes against changes of the VA space.
 * Return: the lowest mapping overlapping [@addr, @addr + @range), or NULL
 * if there is none or the interval is empty or overflows.
 */
struct drm_gpuva *drm_gpuva_find_first(struct drm_gpuvm *gpuvm,
				       u64 addr, u64 range)
{
	u64 end;

	if (!interval_ok(addr, range, &end))
		return NULL;
	return __drm_gpuvm_range_first(gpuvm, addr, end);
}
EXPORT_SYMBOL_GPL(drm_gpuva_find_first);

/**
 * drm_gpuva_find() - the mapping of exactly an interval
 * @gpuvm: the VA space
 * @addr: first address
 * @range: size in bytes
 *
 * Context: The caller serializes against changes of the VA space.
 * Return: the mapping that starts at @addr and is @range long, or NULL.
 */
struct drm_gpuva *drm_gpuva_find(struct drm_gpuvm *gpuvm,
				 u64 addr, u64 range)
{
	struct drm_gpuva *va = drm_gpuva_find_first(gpuvm, addr, range);

	return va && va->va.addr == addr && va->va.range == range ? va : NULL;
}
EXPORT_SYMBOL_GPL(drm_gpuva_find);

/**
 * drm_gpuva_find_prev() - the mapping ending exactly at an address
 * @gpuvm: the VA space
 * @start: the address
 *
 * Context: The caller serializes against changes of the VA space.
 * Return: the mapping whose last byte is at @start - 1, or NULL when that
 * byte is unmapped or @start is 0.
 */
struct drm_gpuva *drm_gpuva_find_prev(struct drm_gpuvm *gpuvm, u64 start)
{
	struct drm_gpuva *va;

	if (!start)
		return NULL;
	va = drm_gpuva_find_first(gpuvm, start - 1, 1);
	return va && gpuva_end(va) == start ? va : NULL;
}
EXPORT_SYMBOL_GPL(drm_gpuva_find_prev);

/**
 * drm_gpuva_find_next() - the mapping starting exactly at an address
 * @gpuvm: the VA space
 * @end: the address
 *
 * Context: The caller serializes against changes of the VA space.
 * Return: the mapping that starts at @end, or NULL.
 */
struct drm_gpuva *drm_gpuva_find_next(struct drm_gpuvm *gpuvm, u64 end)
{
	struct drm_gpuva *va = drm_gpuva_find_first(gpuvm, end, 1);

	return va && va->va.addr == end ? va : NULL;
}
EXPORT_SYMBOL_GPL(drm_gpuva_find_next);

/**
 * drm_gpuvm_interval_empty() - tell whether an interval has no mapping
 * @gpuvm: the VA space
 * @addr: first address
 * @range: size in bytes
 *
 * The kernel-reserved interval counts as a mapping.
 *
 * Context: The caller serializes against changes of the VA space.
 * Return: true if the interval is not empty, does not overflow and no
 * mapping overlaps [@addr, @addr + @range).
 */
bool drm_gpuvm_interval_empty(struct drm_gpuvm *gpuvm, u64 addr, u64 range)
{
	u64 end;

	return interval_ok(addr, range, &end) &&
	       !__drm_gpuvm_range_first(gpuvm, addr, end);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_interval_empty);

/* Links @va into the tree; -EEXIST if it overlaps a mapping. */
static int tree_insert(struct drm_gpuvm *gpuvm, struct drm_gpuva *va)
{
	struct rb_node **link = &gpuvm->tree.rb_root.rb_node;
	struct rb_node *parent = NULL;
	bool leftmost = true;
	u64 end = gpuva_end(va);

	while (*link) {
		struct drm_gpuva *cur = rb_entry(*link, struct drm_gpuva, rb);

		parent = *link;
		if (end <= cur->va.addr) {
			link = &parent->rb_left;
		} else if (va->va.addr >= gpuva_end(cur)) {
			link = &parent->rb_right;
			leftmost = false;
		} else {
			return -EEXIST;
		}
	}

	va->vm = gpuvm;
	rb_link_node(&va->rb, parent, link);
	rb_insert_color_cached(&va->rb, &gpuvm->tree, leftmost);
	return 0;
}

/**
 * drm_gpuva_insert() - add a mapping to a VA space
 * @gpuvm: the VA space
 * @va: the mapping, with @va->va filled in
 *
 * Sets @va->vm. An inserted mapping holds a reference on its VA space
 * until drm_gpuva_remove(), so a VM cannot be freed while it still has
 * mappings. The mapping is not linked to its GEM object; see
 * drm_gpuva_link().
 *
 * Context: The caller serializes against changes of the VA space. Does
 * not sleep or allocate.
 * Return: 0 on success, -EINVAL if the interval fails
 * drm_gpuvm_range_valid(), -EEXIST if it overlaps an existing mapping;
 * on error no reference is taken.
 */
int drm_gpuva_insert(struct drm_gpuvm *gpuvm, struct drm_gpuva *va)
{
	int ret;

	if (!drm_gpuvm_range_valid(gpuvm, va->va.addr, va->va.range))
		return -EINVAL;
	ret = tree_insert(gpuvm, va);
	if (!ret)
		drm_gpuvm_get(gpuvm);
	return ret;
}
EXPORT_SYMBOL_GPL(drm_gpuva_insert);

/**
 * drm_gpuva_remove() - take a mapping out of its VA space
 * @va: the mapping
 *
 * Drops the reference drm_gpuva_insert() took on the VA space, which
 * frees the VA space if it was the last one. The kernel-reserved node
 * cannot be removed: trying warns once and does nothing. The mapping stays
 * linked to its vm_bo until drm_gpuva_unlink().
 *
 * Context: The caller serializes against changes of the VA space. Does
 * not allocate; sleeps only if this frees the VA space.
 */
void drm_gpuva_remove(struct drm_gpuva *va)
{
	struct drm_gpuvm *gpuvm = va->vm;

	if (drm_WARN_ON_ONCE(gpuvm->drm, va == &gpuvm->kernel_alloc_node))
		return;
	if (drm_WARN_ON_ONCE(gpuvm->drm, RB_EMPTY_NODE(&va->rb)))
		return;
	rb_erase_cached(&va->rb, &gpuvm->tree);
	RB_CLEAR_NODE(&va->rb);
	drm_gpuvm_put(gpuvm);
}
EXPORT_SYMBOL_GPL(drm_gpuva_remove);

/**
 * drm_gpuvm_init() - set up a VA space
 * @gpuvm: the VA space, usually embedded in the driver's VM
 * @name: name for debug output
 * @flags: &enum drm_gpuvm_flags
 * @drm: the DRM device
 * @r_obj: GEM object whose dma-resv becomes the VM's common one; the VM
 *	   takes a reference on it
 * @start_offset: first address of the space
 * @range: size of the space
 * @reserve_offset: first address kept for the kernel
 * @reserve_range: size of that interval, 0 for none
 * @ops: the driver's callbacks; @ops->vm_free is required
 *
 * The VM starts with one reference. It holds references on @r_obj and on
 * @drm until it is freed. A space that overflows u64, or a reserved
 * interval outside it, is a driver bug: it warns, and the reserved
 * interval is then left out.
 *
 * Context: Process context.
 */
void drm_gpuvm_init(struct drm_gpuvm *gpuvm, const char *name,
		    enum drm_gpuvm_flags flags,
		    struct drm_device *drm,
		    struct drm_gem_object *r_obj,
		    u64 start_offset, u64 range,
		    u64 reserve_offset, u64 reserve_range,
		    const struct drm_gpuvm_ops *ops)
{
	u64 end;

	drm_WARN_ON(drm, !ops || !ops->vm_free);
	drm_WARN_ON(drm, check_add_overflow(start_offset, range, &end));

	*gpuvm = (struct drm_gpuvm) {
		.name = name ?: "unnamed",
		.flags = flags,
		.drm = drm,
		.ops = ops,
		.mm_start = start_offset,
		.mm_range = range,
		.tree = RB_ROOT_CACHED,
		.r_obj = r_obj,
	};
	kref_init(&gpuvm->kref);
	INIT_LIST_HEAD(&gpuvm->extobj.list);
	spin_lock_init(&gpuvm->extobj.lock);
	INIT_LIST_HEAD(&gpuvm->evict.list);
	spin_lock_init(&gpuvm->evict.lock);
	/* Both held until drm_gpuvm_free(); see the order there. */
	drm_gem_object_get(r_obj);
	drm_dev_get(drm);

	RB_CLEAR_NODE(&gpuvm->kernel_alloc_node.rb);
	INIT_LIST_HEAD(&gpuvm->kernel_alloc_node.gem.entry);
	gpuvm->kernel_alloc_node.vm = gpuvm;
	if (!reserve_range)
		return;
	if (!interval_ok(reserve_offset, reserve_range, &end) ||
	    !interval_inside_space(gpuvm, reserve_offset, end)) {
		drm_WARN(drm, 1, "GPUVM %s: reserved interval outside the space\n",
			 gpuvm->name);
		return;
	}
	gpuvm->kernel_alloc_node.va.addr = reserve_offset;
	gpuvm->kernel_alloc_node.va.range = reserve_range;
	tree_insert(gpuvm, &gpuvm->kernel_alloc_node);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_init);

/*
 * The order is a contract: everything the VM holds is released before
 * vm_free, because drivers may embed what it holds (imagination embeds the
 * root object) in the memory vm_free releases; the device goes last,
 * because vm_free may still use it.
 */
static void drm_gpuvm_free(struct kref *kref)
{
	struct drm_gpuvm *gpuvm = container_of(kref, struct drm_gpuvm, kref);
	struct drm_gpuva *kva = &gpuvm->kernel_alloc_node;
	struct drm_device *drm = gpuvm->drm;

	if (!RB_EMPTY_NODE(&kva->rb)) {
		rb_erase_cached(&kva->rb, &gpuvm->tree);
		RB_CLEAR_NODE(&kva->rb);
	}
	drm_WARN(gpuvm->drm, !RB_EMPTY_ROOT(&gpuvm->tree.rb_root),
		 "GPUVM %s freed with mappings left\n", gpuvm->name);
	drm_WARN(gpuvm->drm, !list_empty(&gpuvm->extobj.list),
		 "GPUVM %s freed with external objects left\n", gpuvm->name);
	drm_WARN(gpuvm->drm, !list_empty(&gpuvm->evict.list),
		 "GPUVM %s freed with evicted objects left\n", gpuvm->name);

	drm_gem_object_put(gpuvm->r_obj);
	if (!drm_WARN_ON(drm, !gpuvm->ops->vm_free))
		gpuvm->ops->vm_free(gpuvm);
	drm_dev_put(drm);
}

/**
 * drm_gpuvm_put() - drop a reference on a VA space
 * @gpuvm: the VA space, or NULL
 *
 * At zero, drops the reference on the common dma-resv object, calls
 * &drm_gpuvm_ops.vm_free, then drops the reference on the DRM device. A
 * VA space freed while it still lists objects is a driver bug and warns.
 *
 * Context: Process context.
 */
void drm_gpuvm_put(struct drm_gpuvm *gpuvm)
{
	if (gpuvm)
		kref_put(&gpuvm->kref, drm_gpuvm_free);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_put);

static void drm_gpuvm_resv_object_free(struct drm_gem_object *obj)
{
	drm_gem_object_release(obj);
	drm_gpuvm_kfree(obj);
}

static const struct drm_gem_object_funcs drm_gpuvm_resv_object_funcs = {
	.free = drm_gpuvm_resv_object_free,
};

/**
 * drm_gpuvm_resv_object_alloc() - a bare GEM object to carry a VM's dma-resv
 * @drm: the DRM device
 *
 * For drivers whose VM has no GEM object of its own to take the common
 * dma-resv from. Release it with drm_gem_object_put().
 *
 * Context: Process context; may sleep.
 * Return: the object, or NULL if memory is short.
 */
struct drm_gem_object *drm_gpuvm_resv_object_alloc(struct drm_device *drm)
{
	struct drm_gem_object *obj = drm_gpuvm_kzalloc(sizeof(*obj));

	if (!obj)
		return NULL;
	obj->funcs = &drm_gpuvm_resv_object_funcs;
	drm_gem_private_object_init(drm, obj, 0);
	return obj;
}
EXPORT_SYMBOL_GPL(drm_gpuvm_resv_object_alloc);

/*
 * List locking. The extobj and evict lists always take their spinlock; in
 * %DRM_GPUVM_RESV_PROTECTED mode the VM's dma-resv is what really protects
 * them, and it is asserted here. This pair is the only place that decides.
 */
static void vm_list_lock(struct drm_gpuvm *gpuvm, spinlock_t *lock)
	__acquires(lock)
{
	if (drm_gpuvm_resv_protected(gpuvm))
		drm_gpuvm_resv_assert_held(gpuvm);
	spin_lock(lock);
}

static void vm_list_unlock(struct drm_gpuvm *gpuvm, spinlock_t *lock)
	__releases(lock)
{
	spin_unlock(lock);
}

/* ---- Split and merge ---------------------------------------------------- */

/* One request being turned into steps. */
struct sm_req {
	u64 addr;
	u64 end;
	struct drm_gem_object *obj;
	u64 offset;
	bool map;
};

/*
 * The keep rule: @va and the request point at the same memory for every
 * address they share. The offset at address x is offset + (x - start), so
 * the two agree everywhere iff offset - start agrees (mod 2^64).
 */
static bool sm_keep(const struct drm_gpuva *va, const struct sm_req *req)
{
	return req->map && req->obj && va->gem.obj == req->obj &&
	       va->gem.offset - va->va.addr == req->offset - req->addr;
}

/* Where the steps go: driver callbacks or a list being built. */
struct sm_sink {
	int (*emit)(struct sm_sink *sink, struct drm_gpuva_op *op);
	struct drm_gpuvm *gpuvm;
	void *priv;
	struct drm_gpuva_ops *ops;
};

/*
 * Walks the mappings overlapping the request and emits one step for each,
 * then the MAP of a map request. Everything read from a mapping is read
 * before its step is emitted: a callback may remove or free it.
 */
static int sm_walk(struct drm_gpuvm *gpuvm, const struct sm_req *req,
		   struct sm_sink *sink)
{
	struct drm_gpuva *va, *next;
	int ret;

	va = __drm_gpuvm_range_first(gpuvm, req->addr, req->end);
	for (; va && va->va.addr < req->end; va = next) {
		struct drm_gpuva_op_map prev_part, next_part;
		struct drm_gpuva_op_unmap unmap = {
			.va = va,
			.keep = sm_keep(va, req),
		};
		struct drm_gpuva_op op = {};
		u64 start = va->va.addr, end = gpuva_end(va);

		next = __drm_gpuva_next(va);

		if (start >= req->addr && end <= req->end) {
			op.op = DRM_GPUVA_OP_UNMAP;
			op.unmap = unmap;
		} else {
			op.op = DRM_GPUVA_OP_REMAP;
			op.remap.unmap = &unmap;
			if (start < req->addr) {
				prev_part.va.addr = start;
				prev_part.va.range = req->addr - start;
				prev_part.gem.obj = va->gem.obj;
				prev_part.gem.offset = va->gem.offset;
				op.remap.prev = &prev_part;
			}
			if (end > req->end) {
				next_part.va.addr = req->end;
				next_part.va.range = end - req->end;
				next_part.gem.obj = va->gem.obj;
				next_part.gem.offset = va->gem.offset +
						       (req->end - start);
				op.remap.next = &next_part;
			}
		}

		ret = sink->emit(sink, &op);
		if (ret)
			return ret;
	}

	if (req->map) {
		struct drm_gpuva_op op = {
			.op = DRM_GPUVA_OP_MAP,
			.map.va.addr = req->addr,
			.map.va.range = req->end - req->addr,
			.map.gem.obj = req->obj,
			.map.gem.offset = req->offset,
		};

		return sink->emit(sink, &op);
	}
	return 0;
}

/* Checks a request and fills @req; -EINVAL before anything happens. */
static int sm_req_init(struct drm_gpuvm *gpuvm, struct sm_req *req,
		       u64 addr, u64 range, struct drm_gem_object *obj,
		       u64 offset, bool map)
{
	if (!drm_gpuvm_range_valid(gpuvm, addr, range))
		return -EINVAL;
	req->addr = addr;
	req->end = addr + range;
	req->obj = obj;
	req->offset = offset;
	req->map = map;
	return 0;
}

static int sm_emit_callback(struct sm_sink *sink, struct drm_gpuva_op *op)
{
	const struct drm_gpuvm_ops *ops = sink->gpuvm->ops;

	switch (op->op) {
	case DRM_GPUVA_OP_MAP:
		return ops->sm_step_map(op, sink->priv);
	case DRM_GPUVA_OP_REMAP:
		return ops->sm_step_remap(op, sink->priv);
	case DRM_GPUVA_OP_UNMAP:
		return ops->sm_step_unmap(op, sink->priv);
	default:
		return -EINVAL;
	}
}

static bool sm_callbacks_ok(struct drm_gpuvm *gpuvm, bool map)
{
	const struct drm_gpuvm_ops *ops = gpuvm->ops;

	return !drm_WARN_ON_ONCE(gpuvm->drm, !ops->sm_step_remap ||
				 !ops->sm_step_unmap ||
				 (map && !ops->sm_step_map));
}

/**
 * drm_gpuvm_sm_map() - split and merge a map request through callbacks
 * @gpuvm: the VA space
 * @priv: passed to each callback
 * @addr: first address to map
 * @range: size in bytes
 * @obj: the GEM object to map, or NULL for a sparse mapping
 * @offset: byte offset into @obj of @addr
 *
 * Computes the steps described in "Split and Merge" and hands each to
 * &drm_gpuvm_ops.sm_step_unmap, &drm_gpuvm_ops.sm_step_remap and finally
 * &drm_gpuvm_ops.sm_step_map. The callbacks may apply the step to the VA
 * space right away (drm_gpuva_map() and friends) before returning. A
 * callback error stops the walk and is returned; the steps already done
 * are the driver's to undo.
 *
 * Context: The caller serializes against changes of the VA space. GPUVM
 * itself neither sleeps nor allocates here.
 * Return: 0 on success, -EINVAL for an invalid interval (nothing was
 * called), or the first callback error.
 */
int drm_gpuvm_sm_map(struct drm_gpuvm *gpuvm, void *priv,
		     u64 addr, u64 range,
		     struct drm_gem_object *obj, u64 offset)
{
	struct sm_sink sink = {
		.emit = sm_emit_callback,
		.gpuvm = gpuvm,
		.priv = priv,
	};
	struct sm_req req;
	int ret;

	ret = sm_req_init(gpuvm, &req, addr, range, obj, offset, true);
	if (ret)
		return ret;
	if (!sm_callbacks_ok(gpuvm, true))
		return -EINVAL;
	return sm_walk(gpuvm, &req, &sink);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_sm_map);

/**
 * drm_gpuvm_sm_unmap() - split an unmap request through callbacks
 * @gpuvm: the VA space
 * @priv: passed to each callback
 * @addr: first address to unmap
 * @range: size in bytes
 *
 * Like drm_gpuvm_sm_map() without the final MAP step: every mapping inside
 * the interval gets an UNMAP, one sticking out a REMAP keeping the parts
 * outside. @keep is always false.
 *
 * Context: The caller serializes against changes of the VA space. GPUVM
 * itself neither sleeps nor allocates here.
 * Return: 0 on success, -EINVAL for an invalid interval (nothing was
 * called), or the first callback error.
 */
int drm_gpuvm_sm_unmap(struct drm_gpuvm *gpuvm, void *priv,
		       u64 addr, u64 range)
{
	struct sm_sink sink = {
		.emit = sm_emit_callback,
		.gpuvm = gpuvm,
		.priv = priv,
	};
	struct sm_req req;
	int ret;

	ret = sm_req_init(gpuvm, &req, addr, range, NULL, 0, false);
	if (ret)
		return ret;
	if (!sm_callbacks_ok(gpuvm, false))
		return -EINVAL;
	return sm_walk(gpuvm, &req, &sink);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_sm_unmap);

/* ---- Operation lists ---------------------------------------------------- */

/* The pieces a REMAP step points at, allocated in one go. */
struct remap_parts {
	struct drm_gpuva_op_map prev;
	struct drm_gpuva_op_map next;
	struct drm_gpuva_op_unmap unmap;
};

static struct drm_gpuva_op *op_alloc(struct drm_gpuvm *gpuvm)
{
	if (gpuvm->ops->op_alloc)
		return gpuvm->ops->op_alloc();
	return drm_gpuvm_kzalloc(sizeof(struct drm_gpuva_op));
}

static void op_free(struct drm_gpuvm *gpuvm, struct drm_gpuva_op *op)
{
	if (op->op == DRM_GPUVA_OP_REMAP && op->remap.unmap)
		drm_gpuvm_kfree(container_of(op->remap.unmap,
					     struct remap_parts, unmap));
	if (gpuvm->ops->op_free)
		gpuvm->ops->op_free(op);
	else
		drm_gpuvm_kfree(op);
}

/*
 * Appends a copy of @src to the list; the only allocations of a plan step.
 * @src is fully initialised, and so is the copy: &drm_gpuvm_ops.op_alloc
 * need not return zeroed memory. A REMAP's pieces are allocated first, so
 * that a step is either complete or was never handed to op_free.
 */
static int ops_append(struct drm_gpuvm *gpuvm, struct drm_gpuva_ops *ops,
		      const struct drm_gpuva_op *src)
{
	struct remap_parts *parts = NULL;
	struct drm_gpuva_op *op;

	if (src->op == DRM_GPUVA_OP_REMAP) {
		parts = drm_gpuvm_kzalloc(sizeof(*parts));
		if (!parts)
			return -ENOMEM;
	}
	op = op_alloc(gpuvm);
	if (!op) {
		if (parts)
			drm_gpuvm_kfree(parts);
		return -ENOMEM;
	}

	*op = *src;
	if (parts) {
		parts->unmap = *src->remap.unmap;
		op->remap.unmap = &parts->unmap;
		if (src->remap.prev) {
			parts->prev = *src->remap.prev;
			op->remap.prev = &parts->prev;
		}
		if (src->remap.next) {
			parts->next = *src->remap.next;
			op->remap.next = &parts->next;
		}
	}
	list_add_tail(&op->entry, &ops->list);
	return 0;
}

static int sm_emit_list(struct sm_sink *sink, struct drm_gpuva_op *op)
{
	return ops_append(sink->gpuvm, sink->ops, op);
}

/* Appends a step of @type (UNMAP or PREFETCH) for the whole of @va. */
static int ops_append_va(struct drm_gpuvm *gpuvm, struct drm_gpuva_ops *ops,
			 enum drm_gpuva_op_type type, struct drm_gpuva *va)
{
	struct drm_gpuva_op op = { .op = type };

	if (type == DRM_GPUVA_OP_UNMAP)
		op.unmap.va = va;
	else
		op.prefetch.va = va;
	return ops_append(gpuvm, ops, &op);
}

static struct drm_gpuva_ops *ops_new(void)
{
	struct drm_gpuva_ops *ops = drm_gpuvm_kzalloc(sizeof(*ops));

	if (ops)
		INIT_LIST_HEAD(&ops->list);
	return ops;
}

/**
 * drm_gpuva_ops_free() - free a plan
 * @gpuvm: the VA space the plan was made for
 * @ops: the plan, as returned by drm_gpuvm_sm_map_ops_create() or another
 *       of the plan-making functions
 *
 * Frees every step through &drm_gpuvm_ops.op_free (or kfree()) and the
 * list itself. The mappings the steps point at are not touched.
 *
 * Context: Any context where kfree() is allowed.
 */
void drm_gpuva_ops_free(struct drm_gpuvm *gpuvm, struct drm_gpuva_ops *ops)
{
	struct drm_gpuva_op *op, *next;

	if (IS_ERR_OR_NULL(ops))
		return;
	drm_gpuva_for_each_op_safe(op, next, ops) {
		list_del(&op->entry);
		op_free(gpuvm, op);
	}
	drm_gpuvm_kfree(ops);
}
EXPORT_SYMBOL_GPL(drm_gpuva_ops_free);

static struct drm_gpuva_ops *sm_ops_create(struct drm_gpuvm *gpuvm,
					   const struct sm_req *req)
{
	struct sm_sink sink = {
		.emit = sm_emit_list,
		.gpuvm = gpuvm,
	};
	int ret;

	sink.ops = ops_new();
	if (!sink.ops)
		return ERR_PTR(-ENOMEM);
	ret = sm_walk(gpuvm, req, &sink);
	if (ret) {
		drm_gpuva_ops_free(gpuvm, sink.ops);
		return ERR_PTR(ret);
	}
	return sink.ops;
}

/**
 * drm_gpuvm_sm_map_ops_create() - plan a map request
 * @gpuvm: the VA space
 * @addr: first address to map
 * @range: size in bytes
 * @obj: the GEM object to map, or NULL for a sparse mapping
 * @offset: byte offset into @obj of @addr
 *
 * Returns the steps drm_gpuvm_sm_map() would emit, as a list, without
 * changing the VA space. Apply them in order with drm_gpuva_map(),
 * drm_gpuva_remap() and drm_gpuva_unmap() while the VA space stays as it
 * was when the plan was made; free them with drm_gpuva_ops_free().
 *
 * Context: Process context; may sleep. The caller serializes against
 * changes of the VA space until the plan is applied or dropped.
 * Return: the plan, ERR_PTR(-EINVAL) for an invalid interval, or
 * ERR_PTR(-ENOMEM) with everything freed.
 */
struct drm_gpuva_ops *
drm_gpuvm_sm_map_ops_create(struct drm_gpuvm *gpuvm,
			    u64 addr, u64 range,
			    struct drm_gem_object *obj, u64 offset)
{
	struct sm_req req;
	int ret;

	ret = sm_req_init(gpuvm, &req, addr, range, obj, offset, true);
	if (ret)
		return ERR_PTR(ret);
	return sm_ops_create(gpuvm, &req);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_sm_map_ops_create);

/**
 * drm_gpuvm_sm_unmap_ops_create() - plan an unmap request
 * @gpuvm: the VA space
 * @addr: first address to unmap
 * @range: size in bytes
 *
 * Returns the steps drm_gpuvm_sm_unmap() would emit, as a list; see
 * drm_gpuvm_sm_map_ops_create() for how to use it.
 *
 * Context: Process context; may sleep. The caller serializes against
 * changes of the VA space until the plan is applied or dropped.
 * Return: the plan (empty if nothing is mapped there), ERR_PTR(-EINVAL)
 * for an invalid interval, or ERR_PTR(-ENOMEM) with everything freed.
 */
struct drm_gpuva_ops *
drm_gpuvm_sm_unmap_ops_create(struct drm_gpuvm *gpuvm,
			      u64 addr, u64 range)
{
	struct sm_req req;
	int ret;

	ret = sm_req_init(gpuvm, &req, addr, range, NULL, 0, false);
	if (ret)
		return ERR_PTR(ret);
	return sm_ops_create(gpuvm, &req);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_sm_unmap_ops_create);

/**
 * drm_gpuvm_prefetch_ops_create() - plan a prefetch of an interval
 * @gpuvm: the VA space
 * @addr: first address
 * @range: size in bytes
 *
 * One %DRM_GPUVA_OP_PREFETCH step for each mapping overlapping the
 * interval, whole mappings, in address order.
 *
 * Context: Process context; may sleep. The caller serializes against
 * changes of the VA space.
 * Return: the plan, ERR_PTR(-EINVAL) for an invalid interval, or
 * ERR_PTR(-ENOMEM) with everything freed.
 */
struct drm_gpuva_ops *
drm_gpuvm_prefetch_ops_create(struct drm_gpuvm *gpuvm,
			      u64 addr, u64 range)
{
	struct drm_gpuva_ops *ops;
	struct drm_gpuva *va;

	if (!drm_gpuvm_range_valid(gpuvm, addr, range))
		return ERR_PTR(-EINVAL);
	ops = ops_new();
	if (!ops)
		return ERR_PTR(-ENOMEM);
	drm_gpuvm_for_each_va_range(va, gpuvm, addr, addr + range)
		if (ops_append_va(gpuvm, ops, DRM_GPUVA_OP_PREFETCH, va))
			goto err_free;
	return ops;

err_free:
	drm_gpuva_ops_free(gpuvm, ops);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_prefetch_ops_create);

/**
 * drm_gpuvm_bo_unmap_ops_create() - plan the unmapping of a vm_bo
 * @vm_bo: the vm_bo whose mappings go
 *
 * One %DRM_GPUVA_OP_UNMAP step (@keep false) for each mapping of @vm_bo,
 * in the order of its list.
 *
 * Context: Process context; may sleep. The GEM object's gpuva lock is
 * held.
 * Return: the plan, or ERR_PTR(-ENOMEM) with everything freed.
 */
struct drm_gpuva_ops *
drm_gpuvm_bo_unmap_ops_create(struct drm_gpuvm_bo *vm_bo)
{
	struct drm_gpuva_ops *ops;
	struct drm_gpuva *va;

	drm_gem_gpuva_assert_lock_held(vm_bo->obj);
	ops = ops_new();
	if (!ops)
		return ERR_PTR(-ENOMEM);
	drm_gpuvm_bo_for_each_va(va, vm_bo)
		if (ops_append_va(vm_bo->vm, ops, DRM_GPUVA_OP_UNMAP, va))
			goto err_free;
	return ops;

err_free:
	drm_gpuva_ops_free(vm_bo->vm, ops);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_unmap_ops_create);

/* ---- Applying steps ----------------------------------------------------- */

/* Inserts a mapping a plan produced; failing means the plan was stale. */
static void insert_from_op(struct drm_gpuvm *gpuvm, struct drm_gpuva *va,
			   struct drm_gpuva_op_map *op)
{
	drm_gpuva_init_from_op(va, op);
	drm_WARN_ON_ONCE(gpuvm->drm, drm_gpuva_insert(gpuvm, va));
}

/**
 * drm_gpuva_map() - apply a map step
 * @gpuvm: the VA space
 * @va: the new mapping, provided by the driver
 * @op: the step
 *
 * Fills @va from @op and inserts it. A step that no longer fits the VA
 * space is a driver bug and warns.
 *
 * Context: The caller serializes against changes of the VA space. Does
 * not sleep or allocate.
 */
void drm_gpuva_map(struct drm_gpuvm *gpuvm,
		   struct drm_gpuva *va,
		   struct drm_gpuva_op_map *op)
{
	insert_from_op(gpuvm, va, op);
}
EXPORT_SYMBOL_GPL(drm_gpuva_map);

/**
 * drm_gpuva_remap() - apply a remap step
 * @prev: mapping for @op->prev, or NULL when there is none
 * @next: mapping for @op->next, or NULL when there is none
 * @op: the step
 *
 * Removes the old mapping and inserts the surviving parts. The old mapping
 * stays linked to its vm_bo; the driver links the new parts and unlinks
 * the old one.
 *
 * Context: The caller serializes against changes of the VA space. Does
 * not allocate; sleeps only if this frees the VA space.
 */
void drm_gpuva_remap(struct drm_gpuva *prev,
		     struct drm_gpuva *next,
		     struct drm_gpuva_op_remap *op)
{
	struct drm_gpuva *old = op->unmap->va;
	struct drm_gpuvm *gpuvm = old->vm;

	/*
	 * The old mapping's reference on the VA space may be the last one;
	 * hold another until the pieces have taken theirs.
	 */
	drm_gpuvm_get(gpuvm);
	drm_gpuva_remove(old);
	if (op->prev)
		insert_from_op(gpuvm, prev, op->prev);
	if (op->next)
		insert_from_op(gpuvm, next, op->next);
	drm_gpuvm_put(gpuvm);
}
EXPORT_SYMBOL_GPL(drm_gpuva_remap);

/**
 * drm_gpuva_unmap() - apply an unmap step
 * @op: the step
 *
 * Removes the mapping from its VA space; it stays linked to its vm_bo.
 *
 * Context: The caller serializes against changes of the VA space. Does
 * not allocate; sleeps only if this frees the VA space.
 */
void drm_gpuva_unmap(struct drm_gpuva_op_unmap *op)
{
	drm_gpuva_remove(op->va);
}
EXPORT_SYMBOL_GPL(drm_gpuva_unmap);

/* ---- vm_bo -------------------------------------------------------------- */

/**
 * drm_gpuvm_bo_create() - allocate a vm_bo for a (VM, GEM) pair
 * @gpuvm: the VA space
 * @obj: the GEM object
 *
 * The new vm_bo holds a reference on @gpuvm and on @obj and is on no
 * list. Most drivers want drm_gpuvm_bo_obtain(); this is for those that
 * allocate ahead and call drm_gpuvm_bo_obtain_prealloc() later.
 *
 * Context: Process context; may sleep.
 * Return: the vm_bo with one reference, or NULL if memory is short.
 */
struct drm_gpuvm_bo *drm_gpuvm_bo_create(struct drm_gpuvm *gpuvm,
					 struct drm_gem_object *obj)
{
	struct drm_gpuvm_bo *vm_bo = gpuvm->ops->vm_bo_alloc ?
				     gpuvm->ops->vm_bo_alloc() :
				     drm_gpuvm_kzalloc(sizeof(*vm_bo));

	if (!vm_bo)
		return NULL;

	kref_init(&vm_bo->kref);
	vm_bo->vm = drm_gpuvm_get(gpuvm);
	drm_gem_object_get(obj);
	vm_bo->obj = obj;
	vm_bo->evicted = false;
	/* No mapping yet; its entries join the lists later. */
	INIT_LIST_HEAD(&vm_bo->list.gpuva);
	INIT_LIST_HEAD(&vm_bo->list.entry.gem);
	/* Listed only while the object is external, or evicted. */
	INIT_LIST_HEAD(&vm_bo->list.entry.extobj);
	INIT_LIST_HEAD(&vm_bo->list.entry.evict);
	return vm_bo;
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_create);

/* Puts @entry on one of the VM's lists, unless it is on it already. */
static void vm_list_add(struct drm_gpuvm *gpuvm, spinlock_t *lock,
			struct list_head *entry, struct list_head *list)
{
	vm_list_lock(gpuvm, lock);
	if (list_empty(entry))
		list_add_tail(entry, list);
	vm_list_unlock(gpuvm, lock);
}

/* Takes @entry off one of the VM's lists under that list's protection. */
static void vm_list_del(struct drm_gpuvm *gpuvm, spinlock_t *lock,
			struct list_head *entry)
{
	vm_list_lock(gpuvm, lock);
	list_del_init(entry);
	vm_list_unlock(gpuvm, lock);
}

static void drm_gpuvm_bo_destroy(struct kref *kref)
{
	struct drm_gpuvm_bo *vm_bo = container_of(kref, typeof(*vm_bo), kref);
	struct drm_gem_object *obj = vm_bo->obj;
	struct drm_gpuvm *gpuvm = vm_bo->vm;

	drm_WARN_ON(gpuvm->drm, !list_empty(&vm_bo->list.gpuva));

	/*
	 * The locks are asserted whether or not the vm_bo is listed: a
	 * driver that forgets them must hear of it on its first put, not
	 * only on the day the object happens to be evicted.
	 */
	vm_list_del(gpuvm, &gpuvm->extobj.lock, &vm_bo->list.entry.extobj);
	vm_list_del(gpuvm, &gpuvm->evict.lock, &vm_bo->list.entry.evict);
	drm_gem_gpuva_assert_lock_held(obj);
	list_del_init(&vm_bo->list.entry.gem);

	if (gpuvm->ops->vm_bo_free)
		gpuvm->ops->vm_bo_free(vm_bo);
	else
		drm_gpuvm_kfree(vm_bo);

	drm_gpuvm_put(gpuvm);
	drm_gem_object_put(obj);
}

/**
 * drm_gpuvm_bo_put() - drop a reference on a vm_bo
 * @vm_bo: the vm_bo, or NULL
 *
 * The last reference takes the vm_bo off the GEM object's list and the
 * VM's lists, frees it and drops its references on the VM and the GEM
 * object.
 *
 * Context: Process context; may sleep. If this may be the last reference:
 * the GEM object's gpuva lock is held, and in %DRM_GPUVM_RESV_PROTECTED
 * mode the VM's dma-resv too.
 * Return: true if the vm_bo was freed.
 */
bool drm_gpuvm_bo_put(struct drm_gpuvm_bo *vm_bo)
{
	might_sleep();
	if (!vm_bo)
		return false;
	return kref_put(&vm_bo->kref, drm_gpuvm_bo_destroy);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_put);

/* The vm_bo of (@gpuvm, @obj) on the GEM's list, without a new reference. */
static struct drm_gpuvm_bo *bo_lookup(struct drm_gpuvm *gpuvm,
				      struct drm_gem_object *obj)
{
	struct drm_gpuvm_bo *vm_bo;

	drm_gem_gpuva_assert_lock_held(obj);
	drm_gem_for_each_gpuvm_bo(vm_bo, obj)
		if (vm_bo->vm == gpuvm)
			return vm_bo;
	return NULL;
}

/**
 * drm_gpuvm_bo_find() - look up the vm_bo of a (VM, GEM) pair
 * @gpuvm: the VA space
 * @obj: the GEM object
 *
 * Context: The GEM object's gpuva lock is held.
 * Return: the vm_bo with a new reference, or NULL if the pair has none.
 */
struct drm_gpuvm_bo *drm_gpuvm_bo_find(struct drm_gpuvm *gpuvm,
				       struct drm_gem_object *obj)
{
	struct drm_gpuvm_bo *vm_bo = bo_lookup(gpuvm, obj);

	return vm_bo ? drm_gpuvm_bo_get(vm_bo) : NULL;
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_find);

/**
 * drm_gpuvm_bo_obtain() - the vm_bo of a (VM, GEM) pair, created if needed
 * @gpuvm: the VA space
 * @obj: the GEM object
 *
 * Context: Process context; may sleep. The GEM object's gpuva lock is
 * held, which is what keeps the vm_bo unique.
 * Return: the vm_bo with a new reference, or ERR_PTR(-ENOMEM).
 */
struct drm_gpuvm_bo *drm_gpuvm_bo_obtain(struct drm_gpuvm *gpuvm,
					 struct drm_gem_object *obj)
{
	struct drm_gpuvm_bo *vm_bo = drm_gpuvm_bo_find(gpuvm, obj);

	if (vm_bo)
		return vm_bo;
	vm_bo = drm_gpuvm_bo_create(gpuvm, obj);
	if (!vm_bo)
		return ERR_PTR(-ENOMEM);
	list_add_tail(&vm_bo->list.entry.gem, &obj->gpuva.list);
	return vm_bo;
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_obtain);

/**
 * drm_gpuvm_bo_obtain_prealloc() - use a preallocated vm_bo unless the pair
 * already has one
 * @vm_bo: from drm_gpuvm_bo_create(), holding its only reference
 *
 * If the (VM, GEM) pair of @vm_bo already has a vm_bo, @vm_bo is put
 * (and so freed) and the existing one returned with a new reference;
 * otherwise @vm_bo goes on the GEM object's list and is returned.
 *
 * Context: The GEM object's gpuva lock is held, and in
 * %DRM_GPUVM_RESV_PROTECTED mode the VM's dma-resv too (for the put).
 * Does not allocate.
 * Return: the vm_bo to use.
 */
struct drm_gpuvm_bo *drm_gpuvm_bo_obtain_prealloc(struct drm_gpuvm_bo *vm_bo)
{
	struct drm_gpuvm_bo *found = drm_gpuvm_bo_find(vm_bo->vm, vm_bo->obj);

	if (found) {
		drm_gpuvm_bo_put(vm_bo);
		return found;
	}
	list_add_tail(&vm_bo->list.entry.gem, &vm_bo->obj->gpuva.list);
	return vm_bo;
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_obtain_prealloc);

/**
 * drm_gpuvm_bo_extobj_add() - list a vm_bo's object as external to its VM
 * @vm_bo: the vm_bo
 *
 * Does nothing for a private object or one already listed. The entry
 * leaves the list when the vm_bo is freed.
 *
 * Context: In %DRM_GPUVM_RESV_PROTECTED mode the VM's dma-resv is held;
 * otherwise any context where a spinlock may be taken.
 */
void drm_gpuvm_bo_extobj_add(struct drm_gpuvm_bo *vm_bo)
{
	struct drm_gpuvm *gpuvm = vm_bo->vm;

	if (drm_gpuvm_resv_protected(gpuvm))
		drm_gpuvm_resv_assert_held(gpuvm);
	if (drm_gpuvm_is_extobj(gpuvm, vm_bo->obj))
		vm_list_add(gpuvm, &gpuvm->extobj.lock,
			    &vm_bo->list.entry.extobj, &gpuvm->extobj.list);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_extobj_add);

/**
 * drm_gpuvm_bo_evict() - record whether a vm_bo's object is evicted
 * @vm_bo: the vm_bo
 * @evict: true when the object was evicted, false when it is back
 *
 * Sets &drm_gpuvm_bo.evicted and puts the vm_bo on the VM's evicted list,
 * or takes it off. In %DRM_GPUVM_RESV_PROTECTED mode an external object's
 * list entry is not touched, since the VM's dma-resv may not be held
 * here: drm_gpuvm_prepare_objects() lists it, and drm_gpuvm_validate()
 * unlists it once its state is clear.
 *
 * Context: The GEM object's dma-resv is held.
 */
void drm_gpuvm_bo_evict(struct drm_gpuvm_bo *vm_bo, bool evict)
{
	struct drm_gpuvm *gpuvm = vm_bo->vm;
	struct drm_gem_object *obj = vm_bo->obj;

	dma_resv_assert_held(obj->resv);

	vm_bo->evicted = evict;
	if (drm_gpuvm_resv_protected(gpuvm) && drm_gpuvm_is_extobj(gpuvm, obj))
		return;

	if (evict)
		vm_list_add(gpuvm, &gpuvm->evict.lock,
			    &vm_bo->list.entry.evict, &gpuvm->evict.list);
	else
		vm_list_del(gpuvm, &gpuvm->evict.lock,
			    &vm_bo->list.entry.evict);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_evict);

/**
 * drm_gpuvm_bo_gem_evict() - record eviction of a GEM object in every VM
 * @obj: the GEM object
 * @evict: as for drm_gpuvm_bo_evict()
 *
 * Calls drm_gpuvm_bo_evict() for each vm_bo of @obj.
 *
 * Context: The GEM object's dma-resv is held, and its gpuva lock.
 */
void drm_gpuvm_bo_gem_evict(struct drm_gem_object *obj, bool evict)
{
	struct drm_gpuvm_bo *vm_bo;

	drm_gem_gpuva_assert_lock_held(obj);
	drm_gem_for_each_gpuvm_bo(vm_bo, obj)
		drm_gpuvm_bo_evict(vm_bo, evict);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_bo_gem_evict);

/**
 * drm_gpuva_link() - attach a mapping to its vm_bo
 * @va: the mapping, with @va->gem.obj set
 * @vm_bo: the vm_bo of @va's VM and GEM object
 *
 * The mapping takes a reference on @vm_bo. A mapping without an object is
 * left alone; a vm_bo of another object is a driver bug and warns.
 *
 * Context: The GEM object's gpuva lock is held. Does not sleep or
 * allocate.
 */
void drm_gpuva_link(struct drm_gpuva *va, struct drm_gpuvm_bo *vm_bo)
{
	struct drm_gem_object *obj = va->gem.obj;

	if (!obj || !vm_bo)
		return;
	if (drm_WARN_ON_ONCE(vm_bo->vm->drm, obj != vm_bo->obj))
		return;
	drm_gem_gpuva_assert_lock_held(obj);

	/* The mapping's reference keeps the vm_bo while it is listed there. */
	va->vm_bo = drm_gpuvm_bo_get(vm_bo);
	list_add_tail(&va->gem.entry, &vm_bo->list.gpuva);
}
EXPORT_SYMBOL_GPL(drm_gpuva_link);

/**
 * drm_gpuva_unlink() - detach a mapping from its vm_bo
 * @va: the mapping
 *
 * Drops the mapping's reference on its vm_bo, which frees the vm_bo if it
 * was the last one; @va->vm_bo is cleared.
 *
 * Context: Process context (drm_gpuvm_bo_put() may sleep). The GEM
 * object's gpuva lock is held (and see drm_gpuvm_bo_put() for the last
 * reference). Does not allocate.
 */
void drm_gpuva_unlink(struct drm_gpuva *va)
{
	struct drm_gpuvm_bo *vm_bo = va->vm_bo;

	if (!va->gem.obj || !vm_bo)
		return;
	drm_gem_gpuva_assert_lock_held(va->gem.obj);

	list_del_init(&va->gem.entry);
	va->vm_bo = NULL;
	drm_gpuvm_bo_put(vm_bo);
}
EXPORT_SYMBOL_GPL(drm_gpuva_unlink);

/* ---- Locking and validation --------------------------------------------- */

/*
 * How every helper below puts an object into a drm_exec transaction. A
 * caller asking for no fence slots gets the object locked without a
 * reservation (dma_resv refuses to reserve zero slots); xe and imagination
 * lock that way and reserve later.
 */
static int exec_add_obj(struct drm_exec *exec, struct drm_gem_object *obj,
			unsigned int num_fences)
{
	if (!num_fences)
		return drm_exec_lock_obj(exec, obj);
	return drm_exec_prepare_obj(exec, obj, num_fences);
}

/**
 * drm_gpuvm_prepare_vm() - lock the VM's common dma-resv in a drm_exec
 * @gpuvm: the VA space
 * @exec: the &drm_exec context
 * @num_fences: fence slots to reserve, 0 to lock only
 *
 * Context: Inside drm_exec_until_all_locked().
 * Return: 0, -EDEADLK when the transaction must restart, or another error
 * of drm_exec_lock_obj() or drm_exec_prepare_obj(): -EALREADY if it is
 * locked in @exec already (without %DRM_EXEC_IGNORE_DUPLICATES), -EINTR,
 * -ENOMEM.
 */
int drm_gpuvm_prepare_vm(struct drm_gpuvm *gpuvm, struct drm_exec *exec,
			 unsigned int num_fences)
{
	return exec_add_obj(exec, gpuvm->r_obj, num_fences);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_prepare_vm);

/* What a list walk hands to its callback for each entry. */
struct vm_list_visit {
	struct drm_gpuvm_bo *vm_bo;
	struct drm_gem_object *obj;
};

/* What keeps an entry alive while the walk's callback runs unlocked. */
enum vm_list_pin {
	/* Nothing: the VM's dma-resv, held by the walker, does. */
	PIN_NONE,
	/* The vm_bo: the callback may use it, the walk may free it. */
	PIN_VM_BO,
	/* Only its GEM object: the walk never frees a vm_bo. */
	PIN_OBJ,
};

/*
 * Visits the entries of one of the VM's lists while calling @fn, which may
 * sleep. The entry at the head of the VM's list is moved to a private
 * "visited" list and @fn runs with the list lock dropped; the walk ends
 * when the VM's list is empty or @fn fails, and the visited entries go
 * back to the front of the VM's list. So an entry added while the walk
 * runs is visited too, and one removed meanwhile (from either list, with
 * list_del_init() under the list lock) simply is not.
 *
 * In %DRM_GPUVM_RESV_PROTECTED mode nothing is pinned: every change of
 * the lists, and the last put of a listed vm_bo, needs the VM's dma-resv,
 * which the walker holds. With the internal spinlocks another thread may
 * drop the last reference of a vm_bo meanwhile, so @pin says what to hold:
 * with %PIN_VM_BO the walk's own put may then be the last one, and the
 * caller must hold what freeing needs (the object's gpuva lock);
 * with %PIN_OBJ @fn gets no vm_bo, only the object, and whoever drops the
 * last reference frees the vm_bo under their own locks.
 */
static int vm_list_walk(struct drm_gpuvm *gpuvm, struct list_head *list,
			spinlock_t *lock, size_t entry_offset,
			enum vm_list_pin pin,
			int (*fn)(struct drm_gpuvm *gpuvm,
				  const struct vm_list_visit *visit, void *arg),
			void *arg)
{
	LIST_HEAD(visited);
	int ret = 0;

	if (drm_gpuvm_resv_protected(gpuvm))
		pin = PIN_NONE;
	vm_list_lock(gpuvm, lock);
	while (!list_empty(list)) {
		struct list_head *entry = list->next;
		struct vm_list_visit visit = {
			.vm_bo = (void *)entry - entry_offset,
		};

		/* Listed, so not freed yet: it still holds its object. */
		visit.obj = visit.vm_bo->obj;
		list_move_tail(entry, &visited);
		if (pin == PIN_VM_BO) {
			/* A dying vm_bo waits for the lock to unlist itself. */
			if (!kref_get_unless_zero(&visit.vm_bo->kref))
				continue;
		} else if (pin == PIN_OBJ) {
			drm_gem_object_get(visit.obj);
			visit.vm_bo = NULL;
		}
		vm_list_unlock(gpuvm, lock);

		ret = fn(gpuvm, &visit, arg);
		if (pin == PIN_VM_BO)
			drm_gpuvm_bo_put(visit.vm_bo);
		else if (pin == PIN_OBJ)
			drm_gem_object_put(visit.obj);

		vm_list_lock(gpuvm, lock);
		if (ret)
			break;
	}
	list_splice(&visited, list);
	vm_list_unlock(gpuvm, lock);
	return ret;
}

struct prepare_args {
	struct drm_exec *exec;
	unsigned int num_fences;
	/* @exec's objects[] from this index on were locked by this walk. */
	unsigned int first_locked;
	/* The object of an earlier -EDEADLK, locked but not yet claimed. */
	struct drm_gem_object *prelocked;
};

/*
 * With the internal spinlocks an object can turn up twice in one walk:
 * the walk waits for the object's lock, meanwhile its vm_bo is freed and
 * a new one for the same object is listed. Locking it again is not the
 * caller's duplicate; tell the two apart by who locked the object first.
 */
static bool prepare_locked_by_walk(const struct prepare_args *args,
				   struct drm_gem_object *obj)
{
	const struct drm_exec *exec = args->exec;
	unsigned int i;

	if (obj == args->prelocked)
		return true;
	for (i = args->first_locked; i < exec->num_objects; i++)
		if (exec->objects[i] == obj)
			return true;
	return false;
}

static int prepare_one(struct drm_gpuvm *gpuvm,
		       const struct vm_list_visit *visit, void *arg)
{
	struct prepare_args *args = arg;
	struct drm_gpuvm_bo *vm_bo = visit->vm_bo;
	int ret;

	ret = exec_add_obj(args->exec, visit->obj, args->num_fences);
	if (ret == -EALREADY && prepare_locked_by_walk(args, visit->obj))
		return 0;
	if (ret || !drm_gpuvm_resv_protected(gpuvm))
		return ret;

	/*
	 * drm_gpuvm_bo_evict() could only record an external object's
	 * eviction (the VM's dma-resv was not held); list it now.
	 */
	if (vm_bo->evicted)
		vm_list_add(gpuvm, &gpuvm->evict.lock,
			    &vm_bo->list.entry.evict, &gpuvm->evict.list);
	return 0;
}

/**
 * drm_gpuvm_prepare_objects() - lock every external object of a VM
 * @gpuvm: the VA space
 * @exec: the &drm_exec context
 * @num_fences: fence slots to reserve on each, 0 to lock only
 *
 * Private objects share the VM's dma-resv; lock it with
 * drm_gpuvm_prepare_vm() first. In %DRM_GPUVM_RESV_PROTECTED mode an
 * external object found evicted joins the VM's evicted list here, for
 * drm_gpuvm_validate().
 *
 * Context: Inside drm_exec_until_all_locked(); in
 * %DRM_GPUVM_RESV_PROTECTED mode with the VM's dma-resv held.
 * Return: 0, or the first error of locking an object, as for
 * drm_gpuvm_prepare_vm() (-EDEADLK when the transaction must restart).
 */
int drm_gpuvm_prepare_objects(struct drm_gpuvm *gpuvm, struct drm_exec *exec,
			      unsigned int num_fences)
{
	struct prepare_args args = {
		.exec = exec,
		.num_fences = num_fences,
		.first_locked = exec->num_objects,
		.prelocked = exec->prelocked,
	};

	return vm_list_walk(gpuvm, &gpuvm->extobj.list, &gpuvm->extobj.lock,
			    offsetof(struct drm_gpuvm_bo, list.entry.extobj),
			    PIN_OBJ, prepare_one, &args);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_prepare_objects);

/**
 * drm_gpuvm_prepare_range() - lock the objects mapped in an interval
 * @gpuvm: the VA space
 * @exec: the &drm_exec context
 * @addr: first address
 * @range: size in bytes
 * @num_fences: fence slots to reserve on each, 0 to lock only
 *
 * Sparse mappings have no object and are skipped. An object mapped more
 * than once in the interval, a private object next to another one or to
 * the VM's own dma-resv, or an object already locked in @exec, is met
 * again: initialise @exec with %DRM_EXEC_IGNORE_DUPLICATES unless that
 * cannot happen.
 *
 * Context: Inside drm_exec_until_all_locked(); the caller serializes
 * against changes of the VA space.
 * Return: 0, -EINVAL for an empty or overflowing interval (nothing
 * locked), or the first error of locking an object, as for
 * drm_gpuvm_prepare_vm().
 */
int drm_gpuvm_prepare_range(struct drm_gpuvm *gpuvm, struct drm_exec *exec,
			    u64 addr, u64 range, unsigned int num_fences)
{
	struct drm_gpuva *va;
	u64 end;
	int ret;

	if (!interval_ok(addr, range, &end))
		return -EINVAL;
	drm_gpuvm_for_each_va_range(va, gpuvm, addr, end) {
		if (!va->gem.obj)
			continue;
		ret = exec_add_obj(exec, va->gem.obj, num_fences);
		if (ret)
			return ret;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(drm_gpuvm_prepare_range);

/*
 * Runs one drm_exec transaction for the exec_lock family: @pass locks
 * what the variant needs and is repeated from scratch on contention. On
 * error nothing stays locked.
 */
static int exec_transaction(struct drm_gpuvm_exec *vm_exec,
			    int (*pass)(struct drm_gpuvm_exec *vm_exec,
					void *arg),
			    void *arg)
{
	struct drm_exec *exec = &vm_exec->exec;
	int ret;

	drm_exec_init(exec, vm_exec->flags, 0);
	drm_exec_until_all_locked(exec) {
		ret = pass(vm_exec, arg);
		drm_exec_retry_on_contention(exec);
		if (ret)
			goto err_fini;
	}
	return 0;

err_fini:
	drm_exec_fini(exec);
	return ret;
}

/* The VM's dma-resv and every external object. */
static int lock_vm_and_extobjs(struct drm_gpuvm_exec *vm_exec)
{
	int ret;

	ret = drm_gpuvm_prepare_vm(vm_exec->vm, &vm_exec->exec,
				   vm_exec->num_fences);
	if (ret)
		return ret;
	return drm_gpuvm_prepare_objects(vm_exec->vm, &vm_exec->exec,
					 vm_exec->num_fences);
}

static int lock_pass(struct drm_gpuvm_exec *vm_exec, void *unused)
{
	int ret = lock_vm_and_extobjs(vm_exec);

	if (!ret && vm_exec->extra.fn)
		ret = vm_exec->extra.fn(vm_exec);
	return ret;
}

/**
 * drm_gpuvm_exec_lock() - lock a VM and all its external objects
 * @vm_exec: the context, with @vm, @flags, @num_fences and @extra set
 *
 * Initializes @vm_exec->exec and locks the VM's dma-resv, every external
 * object and whatever @vm_exec->extra.fn adds, retrying the whole
 * transaction on ww-mutex contention. On success everything stays locked
 * until drm_gpuvm_exec_unlock().
 *
 * Context: Process context; may sleep.
 * Return: 0 on success; otherwise the error (-EINTR with
 * %DRM_EXEC_INTERRUPTIBLE_WAIT, -ENOMEM, -EALREADY for an object locked
 * twice without %DRM_EXEC_IGNORE_DUPLICATES, or an error of @extra.fn),
 * with nothing left locked.
 */
int drm_gpuvm_exec_lock(struct drm_gpuvm_exec *vm_exec)
{
	return exec_transaction(vm_exec, lock_pass, NULL);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_exec_lock);

/* What drm_gpuvm_exec_lock_array() adds to the transaction. */
struct exec_more_objs {
	struct drm_gem_object **list;
	unsigned int count;
};

static int lock_array_pass(struct drm_gpuvm_exec *vm_exec, void *arg)
{
	struct exec_more_objs *more = arg;
	unsigned int i;
	int ret;

	ret = lock_vm_and_extobjs(vm_exec);
	for (i = 0; !ret && i < more->count; i++)
		ret = exec_add_obj(&vm_exec->exec, more->list[i],
				   vm_exec->num_fences);
	return ret;
}

/**
 * drm_gpuvm_exec_lock_array() - lock a VM, its external objects and more
 * @vm_exec: the context, with @vm, @flags and @num_fences set
 * @objs: further GEM objects to lock
 * @num_objs: number of entries in @objs
 *
 * Like drm_gpuvm_exec_lock() with @objs locked in the same transaction
 * instead of calling @vm_exec->extra.fn.
 *
 * Context: Process context; may sleep.
 * Return: as drm_gpuvm_exec_lock().
 */
int drm_gpuvm_exec_lock_array(struct drm_gpuvm_exec *vm_exec,
			      struct drm_gem_object **objs,
			      unsigned int num_objs)
{
	struct exec_more_objs more = { .list = objs, .count = num_objs };

	return exec_transaction(vm_exec, lock_array_pass, &more);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_exec_lock_array);

/* The interval drm_gpuvm_exec_lock_range() locks. */
struct exec_interval {
	u64 start;
	u64 size;
};

static int lock_range_pass(struct drm_gpuvm_exec *vm_exec, void *arg)
{
	struct exec_interval *in = arg;

	return drm_gpuvm_prepare_range(vm_exec->vm, &vm_exec->exec, in->start,
				       in->size, vm_exec->num_fences);
}

/**
 * drm_gpuvm_exec_lock_range() - lock the objects mapped in an interval
 * @vm_exec: the context, with @vm, @flags and @num_fences set
 * @addr: first address
 * @range: size in bytes
 *
 * One drm_exec transaction running drm_gpuvm_prepare_range(), retried on
 * contention. Only the objects mapped in the interval are locked: not the
 * VM's dma-resv by itself, not the external objects mapped elsewhere, and
 * @vm_exec->extra is not called. Two private objects in the interval share
 * a dma-resv, so set %DRM_EXEC_IGNORE_DUPLICATES in @vm_exec->flags unless
 * the interval cannot hold two.
 *
 * Context: Process context; may sleep.
 * Return: 0 with the objects locked until drm_gpuvm_exec_unlock(),
 * -EINVAL for an empty or overflowing interval, or an error of locking
 * as for drm_gpuvm_exec_lock(); on error nothing is left locked.
 */
int drm_gpuvm_exec_lock_range(struct drm_gpuvm_exec *vm_exec,
			      u64 addr, u64 range)
{
	struct exec_interval in = { .start = addr, .size = range };

	return exec_transaction(vm_exec, lock_range_pass, &in);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_exec_lock_range);

/*
 * Validates one listed vm_bo, whatever its &drm_gpuvm_bo.evicted says:
 * being listed is what counts. What takes the entry off is said once, in
 * the Locking DOC; the part done here is the resv-protected one: an entry
 * whose state is clear after a successful callback leaves the list.
 */
static int validate_one(struct drm_gpuvm *gpuvm,
			const struct vm_list_visit *visit, void *arg)
{
	bool resv_protected = drm_gpuvm_resv_protected(gpuvm);
	struct drm_gpuvm_bo *vm_bo = visit->vm_bo;
	struct drm_exec *exec = arg;
	int ret;

	if (resv_protected)
		dma_resv_assert_held(visit->obj->resv);

	ret = gpuvm->ops->vm_bo_validate(vm_bo, exec);
	if (!ret && resv_protected && !vm_bo->evicted)
		vm_list_del(gpuvm, &gpuvm->evict.lock,
			    &vm_bo->list.entry.evict);
	return ret;
}

/**
 * drm_gpuvm_validate() - bring back every evicted object of a VM
 * @gpuvm: the VA space
 * @exec: a &drm_exec context holding the VM's objects locked
 *
 * Calls &drm_gpuvm_ops.vm_bo_validate for each vm_bo on the VM's evicted
 * list, including those that join it while the walk runs, and stops at
 * the first error. The callback normally moves the object back, and the
 * driver's move notification clears the evicted state. See the Locking
 * section for when an entry leaves the list in each list mode.
 *
 * Context: Process context; may sleep. The VM's dma-resv and those of the
 * external objects are held, e.g. through drm_gpuvm_exec_lock().
 * Return: 0 on success, -EOPNOTSUPP if the driver has no vm_bo_validate
 * callback, or the first error of the callback.
 */
int drm_gpuvm_validate(struct drm_gpuvm *gpuvm, struct drm_exec *exec)
{
	if (!gpuvm->ops->vm_bo_validate)
		return -EOPNOTSUPP;
	return vm_list_walk(gpuvm, &gpuvm->evict.list, &gpuvm->evict.lock,
			    offsetof(struct drm_gpuvm_bo, list.entry.evict),
			    PIN_VM_BO, validate_one, exec);
}
EXPORT_SYMBOL_GPL(drm_gpuvm_validate);

/**
 * drm_gpuvm_resv_add_fence() - add a fence to every object locked in an exec
 * @gpuvm: the VA space
 * @exec: the &drm_exec context holding the objects
 * @fence: the fence
 * @private_usage: usage for the VM's common dma-resv (private objects)
 * @extobj_usage: usage for external objects
 *
 * The fence slots must have been reserved when the objects were locked.
 *
 * Context: The objects of @exec are locked.
 */
void drm_gpuvm_resv_add_fence(struct drm_gpuvm *gpuvm,
			      struct drm_exec *exec,
			      struct dma_fence *fence,
			      enum dma_resv_usage private_usage,
			      enum dma_resv_usage extobj_usage)
{
	struct drm_gem_object *obj;

	drm_exec_for_each_locked_object(exec, obj) {
		enum dma_resv_usage usage = private_usage;

		if (drm_gpuvm_is_extobj(gpuvm, obj))
			usage = extobj_usage;
		dma_resv_add_fence(obj->resv, fence, usage);
	}
}
EXPORT_SYMBOL_GPL(drm_gpuvm_resv_add_fence);

MODULE_DESCRIPTION("DRM GPU VA manager");
MODULE_LICENSE("Dual MIT/GPL");
